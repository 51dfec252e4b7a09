//! `GET /metrics` end to end: real regions, real WebSocket clients, both brokers. Every
//! counter a scenario touches moves by exactly what happened, and nothing else moves.

#[macro_use]
mod common;

use common::{http, Client, Regions, PATIENCE};
use server_core::broker::SharedBroker;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];
/// Events each region's publisher stores.
const N: usize = 5;
/// Clients per region that only watch (each region also has its publisher).
const WATCHERS: usize = 2;

/// One scrape: every sample by metric name and label set.
#[derive(Debug, Default)]
struct Scrape {
    samples: HashMap<(String, BTreeMap<String, String>), f64>,
}

impl Scrape {
    /// Parse the Prometheus text format: `name{k="v",…} value` lines, comments skipped.
    fn parse(text: &str) -> Scrape {
        let mut samples = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap())),
                None => (series, BTreeMap::new()),
            };
            let value: f64 = value.parse().expect("a numeric value");
            samples.insert((name.to_owned(), labels), value);
        }
        Scrape { samples }
    }

    /// The sample `name` with exactly `labels` besides `region`; 0 when absent.
    fn value(&self, region: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut key: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        key.insert("region".into(), region.into());
        self.samples
            .get(&(name.to_owned(), key))
            .copied()
            .unwrap_or(0.0)
    }
}

/// `k="v",k2="v2"` (values may hold `\"`, `\\` and `\n` escapes).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("an escaped character").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end + 1..];
    }
    labels
}

/// `GET /metrics` (with `query`), which must answer 200 in the Prometheus text format.
async fn scrape_with(addr: SocketAddr, query: &str) -> Scrape {
    let path = format!("/metrics{query}");
    let r = http::request(http::Method::GET, addr, &path, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Scrape::parse(&r.body)
}

async fn scrape(addr: SocketAddr) -> Scrape {
    scrape_with(addr, "").await
}

/// Wait until `name{labels}` of region `region` stands at `before`'s value plus `delta`, and
/// fail (with the value it stands at) if it does not within the patience window. Counters
/// move a moment after the client sees the frame (the server counts a write once it is done).
async fn expect_delta(
    regions: &Regions,
    before: &Scrape,
    (region, name, labels): (&str, &str, &[(&str, &str)]),
    delta: f64,
) {
    let want = before.value(region, name, labels) + delta;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = scrape(regions.addr(region))
            .await
            .value(region, name, labels);
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{region}: {name}{labels:?} is {now}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes from several regions with several clients connected move every counter by
/// exactly what happened: stored, delivered to each client, read once per region, a
/// duplicate, a refusal by code, a resume replayed; the connection gauge follows the clients,
/// and the counters of things that did not happen stay where they were.
async fn counters_move_by_exactly_what_happened(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let idle = Scrape::default();
    let mut watchers = regions.clients(&REGIONS, WATCHERS).await;
    let mut publishers = regions.clients(&REGIONS, 1).await;
    let clients_per_region = (WATCHERS + 1) as f64;
    for r in REGIONS {
        let connections = (r, "multiregion_connections", &[("transport", "ws")][..]);
        expect_delta(&regions, &idle, connections, clients_per_region).await;
    }
    let mut before = HashMap::new();
    for r in REGIONS {
        let s = scrape(regions.addr(r)).await;
        for (_, labels) in s.samples.keys() {
            assert_eq!(
                labels["region"], r,
                "every series is labelled with its region"
            );
        }
        before.insert(r, s);
    }

    for (p, r) in publishers.iter_mut().zip(REGIONS) {
        for i in 0..N {
            p.publish(&format!("{r}-{i}")).await;
        }
    }
    let total = N * REGIONS.len();
    for c in watchers.iter_mut().chain(publishers.iter_mut()) {
        assert_eq!(c.events(total).await.len(), total);
    }
    let ws = [("transport", "ws")];
    for r in REGIONS {
        let b = &before[r];
        let stored = [("transport", "ws"), ("outcome", "stored")];
        let delivered = total as f64 * clients_per_region;
        expect_delta(
            &regions,
            b,
            (r, "multiregion_publishes_total", &stored),
            N as f64,
        )
        .await;
        let timed = (r, "multiregion_publish_duration_seconds_count", &ws[..]);
        expect_delta(&regions, b, timed, N as f64).await;
        let lag = (r, "multiregion_broker_lag_seconds_count", &[][..]);
        expect_delta(&regions, b, lag, total as f64).await;
        let delivered_series = (r, "multiregion_events_delivered_total", &ws[..]);
        expect_delta(&regions, b, delivered_series, delivered).await;
        let fanout = (r, "multiregion_fanout_duration_seconds_count", &ws[..]);
        expect_delta(&regions, b, fanout, delivered).await;
    }

    // An id already stored: acked as a duplicate, nothing stored, nothing delivered.
    let again = publishers[1].publish_and_wait("us-0").await;
    assert!(
        matches!(
            again,
            ServerFrame::Ack {
                duplicate: true,
                ..
            }
        ),
        "{again:?}"
    );
    let duplicate = [("transport", "ws"), ("outcome", "duplicate")];
    expect_delta(
        &regions,
        &before["us"],
        ("us", "multiregion_publishes_total", &duplicate),
        1.0,
    )
    .await;

    // A frame that is not JSON: refused with its code.
    publishers[2].send_text("not json").await;
    let refusal = publishers[2].next().await;
    assert!(matches!(&refusal, ServerFrame::Error { code, .. } if code.as_str() == "invalid_json"));
    let refused = [
        ("transport", "ws"),
        ("outcome", "refused"),
        ("code", "invalid_json"),
    ];
    expect_delta(
        &regions,
        &before["eu"],
        ("eu", "multiregion_publishes_total", &refused),
        1.0,
    )
    .await;

    // A resume from offset 0 replays the whole history.
    let mut resumer = Client::connect_since(regions.addr("as"), 0).await;
    assert!(resumer.events(total).await.iter().all(|e| e.replay));
    let b = &before["as"];
    expect_delta(
        &regions,
        b,
        ("as", "multiregion_history_replays_total", &[]),
        1.0,
    )
    .await;
    expect_delta(
        &regions,
        b,
        ("as", "multiregion_replayed_events_total", &[]),
        total as f64,
    )
    .await;
    let accepted = ("as", "multiregion_connections_accepted_total", &ws[..]);
    expect_delta(&regions, b, accepted, 1.0).await;
    expect_delta(&regions, b, ("as", "multiregion_connections", &ws[..]), 1.0).await;

    // A client that leaves is no longer counted.
    drop(watchers.pop());
    expect_delta(
        &regions,
        &before["eu"],
        ("eu", "multiregion_connections", &ws[..]),
        -1.0,
    )
    .await;

    for r in REGIONS {
        let (b, now) = (&before[r], scrape(regions.addr(r)).await);
        let moved = |name: &str, labels: &[(&str, &str)]| {
            now.value(r, name, labels) - b.value(r, name, labels)
        };
        // The duplicate and the refusal delivered nothing.
        assert_eq!(
            moved("multiregion_events_delivered_total", &ws),
            total as f64 * clients_per_region
        );
        assert!(moved("multiregion_sent_bytes_total", &ws) > 0.0);
        for unmoved in [
            "multiregion_gaps_total",
            "multiregion_epoch_changes_total",
            "multiregion_feed_reconnects_total",
        ] {
            assert_eq!(moved(unmoved, &[]), 0.0, "{r}: {unmoved}");
        }
        assert_eq!(
            moved("multiregion_slow_consumer_disconnects_total", &ws),
            0.0
        );
        for op in ["publish", "read", "history"] {
            let errors = moved("multiregion_broker_errors_total", &[("operation", op)]);
            assert_eq!(errors, 0.0, "{r}: broker errors ({op})");
        }
        let socketio = [("transport", "socketio")];
        assert_eq!(now.value(r, "multiregion_connections", &socketio), 0.0);
    }
}

with_both_brokers!(
    history = 1000;
    counters_move_by_exactly_what_happened,
);

/// With a token set, `/metrics` answers 401 without it (or with another), and 200 with it
/// in the query or as a bearer token.
#[tokio::test]
async fn metrics_require_the_token_when_one_is_set() {
    let regions = Regions::start_with(&["us"], common::memory_broker(), |c| {
        c.token = Some("s3cret".into());
    })
    .await;
    let addr = regions.addr("us");
    for (path, headers) in [
        ("/metrics", &[][..]),
        ("/metrics?token=wrong", &[][..]),
        ("/metrics", &[("authorization", "Bearer wrong")][..]),
    ] {
        let (status, body) = http::http_get(addr, path, headers).await;
        assert_eq!(status, 401, "{path} {headers:?}: {body}");
        assert!(body.contains("unauthorized"), "{body}");
    }
    let by_query = scrape_with(addr, "?token=s3cret").await;
    assert!(!by_query.samples.is_empty());
    let (status, body) =
        http::http_get(addr, "/metrics", &[("authorization", "Bearer s3cret")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("multiregion_connections{region=\"us\",transport=\"ws\"} 0"));
}

/// The parser reads what the exposition writes, escapes included.
#[test]
fn the_test_parser_reads_labels_and_escapes() {
    let s = Scrape::parse(
        "# HELP x X.\n# TYPE x counter\nx_total{region=\"a\\\"b\",code=\"c\"} 3\nup{region=\"r\"} 1.5\n",
    );
    assert_eq!(s.value("a\"b", "x_total", &[("code", "c")]), 3.0);
    assert_eq!(s.value("r", "up", &[]), 1.5);
    assert_eq!(s.value("r", "missing", &[]), 0.0);
}
