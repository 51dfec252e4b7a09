//! The connection cap (`RegionConfig::max_connections`, `--max-connections`): past it, a `/ws`
//! upgrade and a Socket.IO connect are refused with 503 `too_many_connections` (a JSON error
//! body), clients already connected keep working, and a slot freed by a leaving client is
//! taken by the next one. WebSocket and Socket.IO clients share one count.

mod common;

use common::http::{request, Method};
use common::{Client, Regions, PATIENCE};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite;
use wire::{ErrorCode, ServerFrame};

/// Status and JSON body of a `/ws` upgrade that was refused (fails the test if it succeeds).
async fn refused_upgrade(addr: SocketAddr) -> (u16, ServerFrame) {
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp.body().clone().expect("a refusal body");
            let frame = serde_json::from_slice(&body).expect("a JSON error frame");
            (resp.status().as_u16(), frame)
        }
        Err(e) => panic!("{e}"),
    }
}

/// Asserts a frame is the `too_many_connections` error, marked temporary.
fn assert_full(frame: &ServerFrame) {
    assert!(
        matches!(frame, ServerFrame::Error { code, temporary: true, .. } if *code == ErrorCode::TooManyConnections),
        "{frame:?}"
    );
}

/// Wait until the region's `/health` reports `n` clients.
async fn wait_for_clients(addr: SocketAddr, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let health: wire::Health = common::http_get_json(addr, "/health").await;
        if health.clients == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "clients stayed at {} (want {n})",
            health.clients
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn capped(max: usize) -> Regions {
    Regions::start_with(&["us"], common::memory_broker(), move |c| {
        c.clients.max_connections = max
    })
    .await
}

/// With a cap of 2: two clients get in, the third is refused with 503 and the JSON error;
/// the two still receive events; once one leaves, a new client gets in.
#[tokio::test]
async fn past_the_cap_upgrades_get_503_and_connected_clients_are_untouched() {
    let regions = capped(2).await;
    let addr = regions.addr("us");
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;

    let (status, frame) = refused_upgrade(addr).await;
    assert_eq!(status, 503);
    assert_full(&frame);

    a.publish_and_wait("capped-1").await;
    assert_eq!(a.events(1).await[0].id, "capped-1");
    assert_eq!(b.events(1).await[0].id, "capped-1");

    a.ws.close(None).await.unwrap();
    drop(a);
    wait_for_clients(addr, 1).await;
    let mut c = Client::connect(addr).await;
    b.publish_and_wait("capped-2").await;
    assert_eq!(c.events(1).await[0].id, "capped-2");
    assert_eq!(b.events(1).await[0].id, "capped-2");
    assert_eq!(refused_upgrade(addr).await.0, 503);
}

/// The query of a Socket.IO long-polling request, for session `sid` (none: a handshake).
fn polling(sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
        None => "/socket.io/?EIO=4&transport=polling".into(),
    }
}

/// A Socket.IO long-polling handshake; the Engine.IO session id.
async fn handshake(addr: SocketAddr) -> String {
    let r = request(Method::GET, addr, &polling(None), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let open: serde_json::Value =
        serde_json::from_str(r.body.strip_prefix('0').expect("an open packet")).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

/// Connect to the default namespace on session `sid`; the packet the server answers with
/// (`40…` connected, `44…` connect_error).
async fn namespace_connect(addr: SocketAddr, sid: &str) -> String {
    let posted = request(Method::POST, addr, &polling(Some(sid)), &[], Some("40")).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    // A poll may carry Engine.IO packets first (a ping); packets are separated by 0x1e.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Socket.IO answer"
        );
        let r = request(Method::GET, addr, &polling(Some(sid)), &[], None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(p) = r.body.split('\x1e').find(|p| p.starts_with('4')) {
            return p.to_owned();
        }
    }
}

/// Socket.IO clients count against the same cap: a connected Socket.IO client fills the
/// last slot, so a `/ws` upgrade and a new Socket.IO handshake get 503; a Socket.IO connect
/// whose handshake got in before the region filled up is refused with a `connect_error`
/// naming the code.
#[tokio::test]
async fn socket_io_shares_the_cap_with_ws() {
    let regions = capped(2).await;
    let addr = regions.addr("us");
    let _ws = Client::connect(addr).await;
    let sid = handshake(addr).await;
    let late = handshake(addr).await;
    let answer = namespace_connect(addr, &sid).await;
    assert!(answer.starts_with("40"), "{answer}");
    wait_for_clients(addr, 2).await;

    let (status, frame) = refused_upgrade(addr).await;
    assert_eq!(status, 503);
    assert_full(&frame);
    let r = request(Method::GET, addr, &polling(None), &[], None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_full(&serde_json::from_str(&r.body).unwrap());

    let answer = namespace_connect(addr, &late).await;
    assert!(
        answer.starts_with("44") && answer.contains("too_many_connections"),
        "{answer}"
    );
}
