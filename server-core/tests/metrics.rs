//! `GET /metrics` end to end: real regions, real WebSocket clients, both brokers. Every
//! counter a scenario touches moves by exactly what happened, and nothing else moves.

#[macro_use]
mod common;
#[path = "metrics/scrape.rs"]
mod scrape;

use common::{http, Client, Regions, PATIENCE};
use scrape::Scrape;
use server_core::broker::SharedBroker;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];
/// Events each region's publisher stores.
const N: usize = 5;
/// Clients per region that only watch (each region also has its publisher).
const WATCHERS: usize = 2;

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

/// A series of one region: `(region, name, labels besides region)`.
type Series<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Wait until `name{labels}` of region `region` stands at `before`'s value plus `delta`, and
/// fail (with the value it stands at) if it does not within the patience window. Counters
/// move a moment after the client sees the frame (the server counts a write once it is done).
async fn expect_delta(
    regions: &Regions,
    before: &Scrape,
    (region, name, labels): Series<'_>,
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

/// A region cut off from the broker counts its failed reads and the publish it could not
/// store; healed after the log moved past its history, it counts one reconnect, one gap and
/// the events it then read and delivered, and no epoch change.
async fn a_cut_off_region_counts_errors_a_reconnect_and_a_gap(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    let before = scrape(regions.addr("eu")).await;
    let link = regions.cluster.as_ref().unwrap().link("eu").unwrap();
    link.set_cut_off(true);
    let failed_reads = (
        "eu",
        "multiregion_broker_errors_total",
        &[("operation", "read")][..],
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while scrape(regions.addr("eu"))
        .await
        .value(failed_reads.0, failed_reads.1, failed_reads.2)
        == 0.0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed read counted while cut off"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = watcher.publish_and_wait("from-eu").await;
    assert!(
        matches!(&refused, ServerFrame::Error { code, .. } if code.as_str() == "broker_unavailable"),
        "{refused:?}"
    );
    let ids = (0..2 * SMALL_HISTORY).map(|i| format!("as-{i}")).collect();
    common::publish_until_acked(regions.addr("as"), ids, Duration::ZERO).await;
    link.set_cut_off(false);
    let (mut gaps, mut events) = (0, 0);
    while events < SMALL_HISTORY {
        match watcher.next().await {
            ServerFrame::Gap { .. } => gaps += 1,
            ServerFrame::Event(_) => events += 1,
            _ => {}
        }
    }
    assert_eq!(
        gaps, 1,
        "the offsets that fell out of the history are announced"
    );
    fn at<'a>(name: &'a str, labels: &'a [(&'a str, &'a str)]) -> Series<'a> {
        ("eu", name, labels)
    }
    expect_delta(&regions, &before, at("multiregion_gaps_total", &[]), 1.0).await;
    expect_delta(
        &regions,
        &before,
        at("multiregion_feed_reconnects_total", &[]),
        1.0,
    )
    .await;
    let unavailable = [
        ("transport", "ws"),
        ("outcome", "refused"),
        ("code", "broker_unavailable"),
    ];
    expect_delta(
        &regions,
        &before,
        at("multiregion_publishes_total", &unavailable),
        1.0,
    )
    .await;
    let publish_errors = [("operation", "publish")];
    expect_delta(
        &regions,
        &before,
        at("multiregion_broker_errors_total", &publish_errors),
        1.0,
    )
    .await;
    let read = SMALL_HISTORY as f64;
    expect_delta(
        &regions,
        &before,
        at("multiregion_broker_lag_seconds_count", &[]),
        read,
    )
    .await;
    let delivered = at("multiregion_events_delivered_total", &[("transport", "ws")]);
    expect_delta(&regions, &before, delivered, read).await;
    expect_delta(
        &regions,
        &before,
        at("multiregion_epoch_changes_total", &[]),
        0.0,
    )
    .await;
}

/// History of the fault scenario: short, so a cut-off region misses offsets for good.
const SMALL_HISTORY: usize = 10;

/// The fault scenario on a short history (a module of its own: one history per macro use).
mod short_history {
    use super::{a_cut_off_region_counts_errors_a_reconnect_and_a_gap, SMALL_HISTORY};

    with_both_brokers!(
        history = super::SMALL_HISTORY;
        a_cut_off_region_counts_errors_a_reconnect_and_a_gap,
    );
}

/// With a token set, `/metrics` answers 401 without it (or with another), and 200 with it
/// in the query or as a bearer token.
#[tokio::test]
async fn metrics_require_the_token_when_one_is_set() {
    let regions = Regions::start_with(&["us"], common::memory_broker(), |c| {
        c.access.token = Some("s3cret".into());
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
