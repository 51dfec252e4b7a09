//! The server API through real HTTP: `POST /publish` (idempotent by id, reaching the
//! channel's subscribers, every refusal with its documented status and error body) and
//! `GET /history` (paged, bounded, with the `gap` rule of a resume), on both brokers.

#[macro_use]
mod common;

use common::{http, Client, Regions};
use server_core::broker::SharedBroker;
use std::net::SocketAddr;

const REGIONS: [&str; 2] = ["as", "us"];

async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    let r = http::request(http::Method::POST, addr, path, &[], Some(body)).await;
    let value = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, value)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = common::http_get(addr, path, &[]).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// A backend publishes without a socket: acked with the channel's offset, stored once by
/// id, delivered to the channel's subscribers in every region.
async fn a_backend_publishes_over_http(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut sub = Client::connect_query(regions.addr("us"), "?channels=orders").await;
    let body = r#"{"channel":"orders","id":"o-1","kind":"order","payload":{"n":1}}"#;
    let (status, ack) = post(regions.addr("as"), "/publish", body).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(
        (
            ack["type"].as_str(),
            ack["channel"].as_str(),
            ack["offset"].as_u64()
        ),
        (Some("ack"), Some("orders"), Some(1))
    );
    assert_eq!(ack["duplicate"], false);
    let (status, again) = post(regions.addr("us"), "/publish", body).await;
    assert_eq!(
        (
            status,
            again["offset"].as_u64(),
            again["duplicate"].as_bool()
        ),
        (200, Some(1), Some(true))
    );
    let e = sub.events(1).await.remove(0);
    assert_eq!(
        (e.channel.as_str(), e.id.as_str(), e.origin.as_str()),
        ("orders", "o-1", "as")
    );
    let (status, global) = post(regions.addr("as"), "/publish", r#"{"id":"g-1","kind":"k"}"#).await;
    assert_eq!((status, global["channel"].as_str()), (200, Some("global")));
}

/// Bad requests get the documented status and error body, and nothing is stored.
async fn bad_publishes_are_refused(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let addr = regions.addr("as");
    let huge = format!(
        r#"{{"id":"h","kind":"k","payload":"{}"}}"#,
        "x".repeat(70_000)
    );
    let cases = [
        ("not json".to_string(), 400, "invalid_json"),
        (
            r#"{"id":"a","kind":"k","oops":1}"#.into(),
            400,
            "invalid_frame",
        ),
        (r#"{"kind":"k"}"#.into(), 400, "invalid_frame"),
        (r#"{"id":"","kind":"k"}"#.into(), 400, "invalid_id"),
        (
            r#"{"channel":"a b","id":"a","kind":"k"}"#.into(),
            400,
            "invalid_channel",
        ),
        (
            format!(
                r#"{{"id":"d","kind":"k","payload":{}{}}}"#,
                "[".repeat(40),
                "]".repeat(40)
            ),
            400,
            "too_deep",
        ),
        (huge, 413, "frame_too_large"),
    ];
    for (body, want_status, code) in cases {
        let (status, err) = post(addr, "/publish", &body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (want_status, Some(code)),
            "{}",
            &body[..body.len().min(60)]
        );
        assert_eq!(err["type"], "error");
        assert!(
            err["message"].as_str().is_some_and(|m| m.len() > 10),
            "{err}"
        );
    }
    let (_, page) = get(addr, "/history?channel=global").await;
    assert_eq!(page["latest"], 0, "nothing was stored: {page}");
    regions.link("as").set_cut_off(true);
    let (status, err) = post(addr, "/publish", r#"{"id":"later","kind":"k"}"#).await;
    assert_eq!(
        (status, err["code"].as_str(), err["temporary"].as_bool()),
        (503, Some("broker_unavailable"), Some(true))
    );
    let (status, err) = get(addr, "/history?channel=global").await;
    assert_eq!(
        (status, err["code"].as_str()),
        (503, Some("broker_unavailable"))
    );
}

/// History is paged and bounded; offsets that fell out of it are a `gap`; bad parameters
/// get 400.
async fn history_is_paged_with_gaps(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let addr = regions.addr("us");
    let mut p = Client::connect(regions.addr("as")).await;
    for i in 1..=30 {
        p.publish_and_wait_on("log", &format!("l{i}")).await;
    }
    let (status, page) = get(addr, "/history?channel=log&since=10&limit=5").await;
    assert_eq!(status, 200, "{page}");
    let offsets: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [11, 12, 13, 14, 15]);
    assert_eq!(
        (page["next"].as_u64(), page["latest"].as_u64()),
        (Some(15), Some(30))
    );
    assert!(page["gap"].is_null());
    assert_eq!(page["events"][0]["replay"], true);
    let mut since = 0;
    let mut all = Vec::new();
    loop {
        let (_, page) = get(addr, &format!("/history?channel=log&since={since}&limit=7")).await;
        let events = page["events"].as_array().unwrap().clone();
        since = page["next"].as_u64().unwrap();
        all.extend(
            events
                .into_iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        if since >= page["latest"].as_u64().unwrap() {
            break;
        }
    }
    assert_eq!(all, (1..=30).map(|i| format!("l{i}")).collect::<Vec<_>>());
    for bad in [
        "?channel=a%20b",
        "?channel=log&limit=0",
        "?channel=log&limit=5000",
        "?channel=log&since=x",
    ] {
        let (status, _) = get(addr, &format!("/history{bad}")).await;
        assert_eq!(status, 400, "{bad}");
    }
}

with_both_brokers!(
    history = 10_000;
    a_backend_publishes_over_http,
    bad_publishes_are_refused,
    history_is_paged_with_gaps,
);

/// A history page that asks for offsets the bounded history no longer holds says so.
#[tokio::test]
async fn a_page_of_a_trimmed_history_has_a_gap() {
    let broker: SharedBroker = std::sync::Arc::new(server_core::broker::MemoryBroker::new(10));
    let regions = Regions::start(&["as"], broker).await;
    let mut p = Client::connect(regions.addr("as")).await;
    for i in 1..=25 {
        p.publish_and_wait(&format!("g{i}")).await;
    }
    let (_, page) = get(regions.addr("as"), "/history?since=3").await;
    assert_eq!(
        (page["gap"]["from"].as_u64(), page["gap"]["to"].as_u64()),
        (Some(4), Some(15))
    );
    assert_eq!(page["events"][0]["offset"], 16);
    assert_eq!(page["next"], 25);
}

/// With `--token`, the API needs it like `/ws`; a foreign origin is refused.
#[tokio::test]
async fn the_api_takes_the_token_and_the_origin_rules() {
    let regions = Regions::start_with(&["as"], common::memory_broker(), |c| {
        c.access.token = Some("s3cret".into());
    })
    .await;
    let addr = regions.addr("as");
    let body = r#"{"id":"t","kind":"k"}"#;
    assert_eq!(post(addr, "/publish", body).await.0, 401);
    assert_eq!(get(addr, "/history").await.0, 401);
    assert_eq!(post(addr, "/publish?token=s3cret", body).await.0, 200);
    assert_eq!(get(addr, "/history?token=s3cret").await.0, 200);
    let foreign = http::request(
        http::Method::POST,
        addr,
        "/publish?token=s3cret",
        &[("Origin", "https://evil.example")],
        Some(body),
    )
    .await;
    assert_eq!(foreign.status, 403);
}
