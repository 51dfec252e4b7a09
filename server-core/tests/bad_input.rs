//! Bad input on the WebSocket and HTTP endpoints: each gets a clear error (or a close with
//! a code), and the connection, the server, other clients and the stored events survive it.

mod common;

use common::{Client, Regions};
use futures_util::SinkExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use wire::ServerFrame;

async fn setup() -> (Regions, Client, Client) {
    let regions = Regions::start(&["as", "us", "eu"], common::memory_broker()).await;
    let attacker = Client::connect(regions.addr("us")).await;
    let bystander = Client::connect(regions.addr("eu")).await;
    (regions, attacker, bystander)
}

/// After the abuse: the attacker's connection still works, the bystander is unaffected,
/// and the log holds exactly the events published properly.
async fn assert_all_survived(
    regions: &Regions,
    attacker: &mut Client,
    bystander: &mut Client,
    stored_before: u64,
) {
    let ack = attacker.publish_and_wait("after-abuse").await;
    let ServerFrame::Ack {
        offset,
        duplicate: false,
        ..
    } = ack
    else {
        panic!("connection did not survive: {ack:?}")
    };
    assert_eq!(
        offset,
        stored_before + 1,
        "nothing was stored by the bad input"
    );
    let e = bystander.events(1).await.remove(0);
    assert_eq!(e.id, "after-abuse");
    let h: wire::Health = common::http_get_json(regions.addr("eu"), "/health").await;
    assert_eq!(h.offset, stored_before + 1);
}

async fn expect_error(c: &mut Client, code: &str) -> String {
    match c.next().await {
        ServerFrame::Error {
            code: got, message, ..
        } => {
            assert_eq!(got, code, "{message}");
            assert!(message.len() > 20, "the message says what to do: {message}");
            message
        }
        other => panic!("expected an {code} error, got {other:?}"),
    }
}

/// Malformed frames each get their own error code; nothing is stored; all survive.
#[tokio::test]
async fn malformed_frames_get_clear_errors_and_everything_survives() {
    let (regions, mut attacker, mut bystander) = setup().await;
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge_id = format!(
        r#"{{"type":"publish","id":"{}","kind":"k"}}"#,
        "i".repeat(5_000)
    );
    let huge_payload = format!(
        r#"{{"type":"publish","id":"p","kind":"k","payload":"{}"}}"#,
        "x".repeat(40_000)
    );
    let cases: Vec<(String, &str)> = vec![
        ("not json at all".into(), "invalid_json"),
        ("{\"type\":\"publish\",".into(), "invalid_json"),
        ("42".into(), "invalid_frame"),
        (r#"{"kind":"k"}"#.into(), "invalid_frame"),
        (
            r#"{"type":"frobnicate","channel":"x"}"#.into(),
            "unknown_type",
        ),
        (r#"{"type":7}"#.into(), "invalid_frame"),
        (r#"{"type":"publish","kind":"k"}"#.into(), "invalid_frame"),
        (
            r#"{"type":"publish","id":["x"],"kind":"k"}"#.into(),
            "invalid_frame",
        ),
        (
            r#"{"type":"publish","id":"x","kind":"k","extra":1}"#.into(),
            "invalid_frame",
        ),
        (
            r#"{"type":"publish","id":"","kind":"k"}"#.into(),
            "invalid_id",
        ),
        (
            r#"{"type":"publish","id":"a\u0000b","kind":"k"}"#.into(),
            "invalid_id",
        ),
        (
            r#"{"type":"publish","id":"x","kind":""}"#.into(),
            "invalid_kind",
        ),
        (huge_id, "invalid_id"),
        (huge_payload, "payload_too_large"),
        (deep, "too_deep"),
    ];
    for (text, code) in &cases {
        attacker.send_text(text).await;
        expect_error(&mut attacker, code).await;
    }
    attacker
        .ws
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    expect_error(&mut attacker, "binary_not_supported").await;
    bystander.assert_quiet(Duration::from_millis(200)).await;
    assert_all_survived(&regions, &mut attacker, &mut bystander, 0).await;
}

/// A message over the 64 KiB limit closes that socket with 1009; the server and others go on.
#[tokio::test]
async fn oversize_message_closes_with_1009() {
    let (regions, mut attacker, mut bystander) = setup().await;
    attacker
        .send_text(&"x".repeat(wire::limits::MAX_FRAME_BYTES + 1))
        .await;
    let mut close_code = None;
    while let Ok(Some(msg)) = tokio::time::timeout(
        common::PATIENCE,
        futures_util::StreamExt::next(&mut attacker.ws),
    )
    .await
    {
        match msg {
            Ok(Message::Close(Some(f))) => close_code = Some(f.code),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(close_code, Some(CloseCode::Size));
    let mut fresh = Client::connect(regions.addr("us")).await;
    assert_all_survived(&regions, &mut fresh, &mut bystander, 0).await;
}

/// A flood of publishes on one connection hits the documented rate limit: the excess gets
/// `rate_limited` (temporary) errors, exactly the acked ones are stored, others unaffected.
#[tokio::test]
async fn publish_flood_is_rate_limited() {
    let regions = Regions::start_with(&["as", "us", "eu"], common::memory_broker(), |c| {
        c.publishing.publish_rate = 50;
        c.publishing.publish_burst = 100;
    })
    .await;
    let mut attacker = Client::connect(regions.addr("us")).await;
    let mut bystander = Client::connect(regions.addr("eu")).await;
    let n = 400;
    for i in 0..n {
        attacker.publish(&format!("flood-{i}")).await;
    }
    let (mut acked, mut limited) = (0u64, 0);
    while acked + limited < n {
        match attacker.next().await {
            ServerFrame::Ack { .. } => acked += 1,
            ServerFrame::Error {
                code,
                temporary: true,
                ..
            } if code == "rate_limited" => limited += 1,
            ServerFrame::Event(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(
        limited > 0 && acked >= 100,
        "acked {acked}, limited {limited}"
    );
    let seen = bystander.events(acked as usize).await;
    assert_eq!(seen.len() as u64, acked);
    bystander.assert_quiet(Duration::from_millis(300)).await;
    // After a pause the budget refills and the same connection publishes again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while attacker
        .try_next(Duration::from_millis(100))
        .await
        .is_some()
    {}
    assert_all_survived(&regions, &mut attacker, &mut bystander, acked).await;
}

/// Bad HTTP requests get 4xx answers and change nothing.
#[tokio::test]
async fn bad_http_requests_are_refused() {
    let (regions, mut attacker, mut bystander) = setup().await;
    let addr = regions.addr("us");
    let (status, _) = common::http_get(
        addr,
        "/ws?since=abc",
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = common::http_get(addr, "/ws", &[]).await;
    assert!((400..500).contains(&status), "plain GET /ws: {status}");
    let (status, _) = common::http_get(addr, "/health?x=%ff%fe", &[]).await;
    assert_eq!(status, 200);
    assert_all_survived(&regions, &mut attacker, &mut bystander, 0).await;
}

/// A message far over the limit (1 MiB) is dropped at the frame header; the server lives on.
#[tokio::test]
async fn huge_message_is_dropped_and_the_server_lives_on() {
    let (regions, mut attacker, mut bystander) = setup().await;
    let _ = attacker
        .ws
        .send(Message::Text("y".repeat(1 << 20).into()))
        .await;
    while attacker.try_next(common::PATIENCE).await.is_some() {}
    let mut fresh = Client::connect(regions.addr("us")).await;
    assert_all_survived(&regions, &mut fresh, &mut bystander, 0).await;
}
