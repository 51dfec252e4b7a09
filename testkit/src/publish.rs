//! Publishing as a client does: through a region's WebSocket, retrying the same id after a
//! temporary error until it is acked; and the plain event the broker-level tests publish.

use crate::{Client, Regions, PATIENCE};
use server_core::event::{now_micros, NewEvent};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use wire::ServerFrame;

/// A test event with id `id` on `global` (origin and kind `test`, the id again as payload),
/// published now.
pub fn event(id: &str) -> NewEvent {
    event_on(wire::GLOBAL, id)
}

/// [`event`] on `channel`.
pub fn event_on(channel: &str, id: &str) -> NewEvent {
    NewEvent {
        id: id.into(),
        channel: channel.into(),
        origin: "test".into(),
        kind: "test".into(),
        payload: server_core::event::payload(&serde_json::json!({ "id": id })),
        published_at: now_micros(),
        after: None,
    }
}

/// One acked publish: its id, the offset it was acked with, and when the ack arrived.
#[derive(Debug, Clone)]
pub struct Acked {
    /// The id published.
    pub id: String,
    /// The offset the ack carried.
    pub offset: u64,
    /// When the ack arrived.
    pub at: Instant,
}

/// What publishing a list of ids came to: every id acked (in publish order), and how many
/// attempts were refused with a temporary error (and retried).
#[derive(Debug, Default)]
pub struct PublishReport {
    /// Every id, acked, in publish order (publisher by publisher when joined).
    pub acked: Vec<Acked>,
    /// Attempts answered with a temporary error (each retried with the same id).
    pub refused: usize,
}

impl PublishReport {
    /// The acked `(id, offset)` pairs, in publish order.
    pub fn pairs(&self) -> Vec<(String, u64)> {
        self.acked
            .iter()
            .map(|a| (a.id.clone(), a.offset))
            .collect()
    }
}

/// Publish `ids` through `addr` one by one on one connection, retrying each (same id, 50 ms
/// apart) after a temporary error until it is acked, and waiting `pace` after each ack.
/// Panics on any other answer, or if one id is not acked within 3 × [`PATIENCE`].
pub async fn publish_until_acked(
    addr: SocketAddr,
    ids: Vec<String>,
    pace: Duration,
) -> PublishReport {
    publish_until_acked_on(addr, wire::GLOBAL, ids, pace).await
}

/// [`publish_until_acked`] on `channel`.
pub async fn publish_until_acked_on(
    addr: SocketAddr,
    channel: &str,
    ids: Vec<String>,
    pace: Duration,
) -> PublishReport {
    let mut client = Client::connect(addr).await;
    let mut published = PublishReport::default();
    for id in ids {
        let deadline = Instant::now() + 3 * PATIENCE;
        loop {
            match client.publish_and_wait_on(channel, &id).await {
                ServerFrame::Ack { offset, .. } => {
                    let at = Instant::now();
                    published.acked.push(Acked { id, offset, at });
                    break;
                }
                ServerFrame::Error {
                    temporary: true, ..
                } => {
                    published.refused += 1;
                    assert!(Instant::now() < deadline, "{id} never acked");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => panic!("unexpected answer to a publish: {other:?}"),
            }
        }
        if !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
    }
    published
}

/// One task per region of `names`, each publishing `per_region` ids `{prefix}{region}-{i}`
/// through its region with [`publish_until_acked`] at `pace`. Collect with [`join_publishers`].
pub fn spawn_publishers(
    regions: &Regions,
    names: &[&str],
    per_region: usize,
    prefix: &str,
    pace: Duration,
) -> Vec<JoinHandle<PublishReport>> {
    names
        .iter()
        .map(|r| {
            let ids = (0..per_region)
                .map(|i| format!("{prefix}{r}-{i}"))
                .collect();
            tokio::spawn(publish_until_acked(regions.addr(r), ids, pace))
        })
        .collect()
}

/// Wait for every publisher of [`spawn_publishers`]: their acks (publisher by publisher) and
/// refusals together. Panics if a publisher panicked.
pub async fn join_publishers(publishers: Vec<JoinHandle<PublishReport>>) -> PublishReport {
    let mut all = PublishReport::default();
    for p in publishers {
        let one = p.await.expect("a publisher panicked");
        all.acked.extend(one.acked);
        all.refused += one.refused;
    }
    all
}
