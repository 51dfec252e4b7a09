//! One publishing client, paced to a rate: each publish carries its send instant (µs on
//! [`crate::clock`]) as the payload. Publishes due at the same tick go out in one write.

use crate::clock::now_us;
use crate::receiver::Ws;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long to wait for the answers to the last publishes.
const ACK_PATIENCE: Duration = Duration::from_secs(15);

/// Answers to one publisher's publishes, counted as they arrive.
#[derive(Debug, Default)]
pub struct Acks {
    /// Publishes sent.
    pub sent: AtomicU64,
    /// Stored (acked, not duplicate): each must reach every client.
    pub stored: AtomicU64,
    /// Acked as a duplicate (never expected: ids are unique).
    pub duplicate: AtomicU64,
    /// Refused with an error frame (e.g. `rate_limited`, `broker_unavailable`).
    pub refused: AtomicU64,
    /// 1 when the server closed the publisher's connection before it was done.
    pub broken: AtomicU64,
}

impl Acks {
    fn answered(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
            + self.duplicate.load(Ordering::Relaxed)
            + self.refused.load(Ordering::Relaxed)
    }
}

/// Publish `rate` events/s for `duration` with ids `tag0`, `tag1`, …, then wait for every
/// answer (at most [`ACK_PATIENCE`]). The connection also receives every event; they are
/// read and dropped.
pub async fn publish(
    ws: Ws,
    tag: String,
    rate: f64,
    duration: Duration,
    acks: Arc<Acks>,
) -> anyhow::Result<()> {
    let (mut sink, mut stream) = ws.split();
    let counts = acks.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Text(t) = msg else { continue };
            if t.starts_with(r#"{"type":"ack""#) {
                if t.contains(r#""duplicate":true"#) {
                    counts.duplicate.fetch_add(1, Ordering::Relaxed);
                } else {
                    counts.stored.fetch_add(1, Ordering::Relaxed);
                }
            } else if t.starts_with(r#"{"type":"error""#) {
                counts.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let start = Instant::now();
    let mut n = 0;
    while n < total {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
        while n < due {
            let text = wire::Publish::new(format!("{tag}{n}"), "bench", &now_us()).to_text();
            if sink.feed(Message::text(text)).await.is_err() {
                break;
            }
            n += 1;
        }
        if sink.flush().await.is_err() || n < due {
            // The server closed this connection (e.g. as a slow consumer): stop publishing.
            acks.sent.store(n, Ordering::Relaxed);
            acks.broken.store(1, Ordering::Relaxed);
            break;
        }
        acks.sent.store(n, Ordering::Relaxed);
        if n < total {
            let next = start + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(next.into()).await;
        }
    }
    let deadline = Instant::now() + ACK_PATIENCE;
    while acks.answered() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    reader.abort();
    Ok(())
}
