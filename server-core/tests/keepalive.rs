//! Dead clients are noticed: the server pings every client, and one that answers nothing
//! is disconnected and stops counting in `/health`, while a client that reads stays.

mod common;

use common::{Regions, PATIENCE};
use futures_util::StreamExt;
use server_core::settings::Millis;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

async fn clients(addr: std::net::SocketAddr) -> usize {
    common::http_get_json::<wire::Health>(addr, "/health")
        .await
        .clients
}

/// A client that stops answering (its socket is open but nobody reads it, so no pong goes
/// back) is dropped and its slot freed; a client that keeps reading answers the pings
/// (WebSocket clients do so by themselves) and stays connected long past the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_no_ping_is_dropped_and_a_reading_one_stays() {
    let regions = Regions::start_with(&["us"], common::memory_broker(), |c| {
        c.clients.ping_interval = Millis(Duration::from_millis(100));
    })
    .await;
    let addr = regions.addr("us");
    let url = format!("ws://{addr}/ws");
    let (mut dead, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    dead.next().await.unwrap().unwrap(); // welcome; then it never reads again
    let (mut alive, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    // Reading is what answers pings; count them.
    let reader = tokio::spawn(async move {
        let mut pings = 0;
        while let Some(Ok(msg)) = alive.next().await {
            if matches!(msg, Message::Ping(_)) {
                pings += 1;
                if pings == 20 {
                    break;
                }
            }
        }
        (pings, alive)
    });
    assert_eq!(clients(addr).await, 2);
    let deadline = Instant::now() + PATIENCE;
    while clients(addr).await != 1 {
        assert!(
            Instant::now() < deadline,
            "the silent client was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Twenty pings answered: ten times the silence a client is allowed, and still here.
    let (pings, alive) = tokio::time::timeout(PATIENCE, reader)
        .await
        .expect("the reading client keeps getting pings")
        .unwrap();
    assert_eq!(pings, 20);
    assert_eq!(clients(addr).await, 1, "the client that answers stays");
    drop(alive);
    // The silent client's socket was closed by the server.
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            match dead.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the silent client's socket is closed");
}
