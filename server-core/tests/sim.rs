//! The simulated WAN between each region and the broker: delays follow the settings, the
//! HTTP API and the CLI drive it, and cut-off + heal loses and duplicates nothing.

#[macro_use]
mod common;

use common::{assert_dense_in_order, Client, Regions};
use server_core::broker::SharedBroker;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use wire::sim::LinkSettings;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];

async fn put_sim(addr: SocketAddr, body: &str, origin: Option<&str>) -> (u16, String) {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
    let r = common::http::request(
        common::http::Method::PUT,
        addr,
        "/sim",
        &headers,
        Some(body),
    )
    .await;
    (r.status, r.body)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// With EU 150 ms from the broker and the others at 0, events reach EU's clients at least
/// 150 ms after they were sent, and its median lag behind AS follows the setting (generous
/// upper bound: this machine is noisy; the lower bound is exact, a delay never shortens).
async fn delivery_latency_follows_the_configured_delay(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let (status, _) = put_sim(
        regions.addr("eu"),
        r#"{"latency_ms":150}"#,
        Some("http://127.0.0.1:4000"),
    )
    .await;
    assert_eq!(status, 200);
    let mut as_client = Client::connect(regions.addr("as")).await;
    let mut eu_client = Client::connect(regions.addr("eu")).await;
    let mut publisher = Client::connect(regions.addr("us")).await;
    let (mut to_as, mut to_eu) = (Vec::new(), Vec::new());
    for i in 0..8 {
        let sent = Instant::now();
        publisher.publish(&format!("lat-{i}")).await;
        as_client.events(1).await;
        to_as.push(sent.elapsed());
        eu_client.events(1).await;
        to_eu.push(sent.elapsed());
    }
    let floor = Duration::from_millis(150);
    assert!(
        to_eu.iter().all(|d| *d >= floor),
        "EU got an event sooner than its link allows: {to_eu:?}"
    );
    let lag = median(to_eu.clone()).saturating_sub(median(to_as.clone()));
    assert!(
        lag >= Duration::from_millis(100) && lag <= Duration::from_millis(1500),
        "median EU lag {lag:?}"
    );
    eprintln!(
        "sim latency: median to AS {:?}, to EU {:?} (configured EU +150 ms)",
        median(to_as),
        median(to_eu)
    );
}

/// Cut off with latency on, publish elsewhere, heal: the region catches up in order, with
/// nothing lost or repeated.
async fn cut_off_and_heal_with_latency_loses_nothing(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let eu = regions.addr("eu");
    put_sim(
        eu,
        r#"{"latency_ms":30,"jitter_ms":10,"cut_off":true}"#,
        None,
    )
    .await;
    let mut watcher = Client::connect(eu).await;
    let mut p = Client::connect(regions.addr("as")).await;
    for i in 0..25 {
        assert!(matches!(
            p.publish_and_wait(&format!("w-{i}")).await,
            ServerFrame::Ack { .. }
        ));
    }
    watcher.assert_quiet(Duration::from_millis(300)).await;
    put_sim(
        eu,
        r#"{"latency_ms":30,"jitter_ms":10,"cut_off":false}"#,
        None,
    )
    .await;
    let events = watcher.events(25).await;
    assert_dense_in_order(&events, 0);
    watcher.assert_quiet(Duration::from_millis(300)).await;
}

/// The HTTP API validates what it is given and refuses foreign origins.
#[tokio::test]
async fn sim_api_validates_and_guards() {
    let regions = Regions::start(&REGIONS, common::memory_broker()).await;
    let eu = regions.addr("eu");
    assert_eq!(put_sim(eu, "nope", None).await.0, 400);
    assert_eq!(put_sim(eu, r#"{"latency_ms":20000}"#, None).await.0, 400);
    assert_eq!(put_sim(eu, r#"{"latency":5}"#, None).await.0, 400);
    assert_eq!(
        put_sim(eu, r#"{"latency_ms":5}"#, Some("http://evil.example"))
            .await
            .0,
        403
    );
    let (status, body) = put_sim(eu, r#"{"latency_ms":45,"jitter_ms":5}"#, None).await;
    assert_eq!(status, 200, "{body}");
    let got: LinkSettings = common::http_get_json(eu, "/sim").await;
    assert_eq!((got.latency_ms, got.jitter_ms, got.cut_off), (45, 5, false));
    let other: LinkSettings = common::http_get_json(regions.addr("as"), "/sim").await;
    assert_eq!(
        other,
        LinkSettings::default(),
        "each region has its own link"
    );
}

with_both_brokers!(
    history = 10_000;
    delivery_latency_follows_the_configured_delay,
    cut_off_and_heal_with_latency_loses_nothing,
);
