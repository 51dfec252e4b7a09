//! One publishing client, paced to a rate: each publish carries its send instant (µs on
//! [`crate::clock`]) as the payload. Publishes due at the same tick go out in one write.
//! Over several channels ([`crate::load::channel_name`]) the publishes take them in turn.

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
    /// Stored, by channel index (empty: one channel, counted in `stored` alone).
    pub stored_on: Vec<AtomicU64>,
}

impl Acks {
    /// Answers to count over `channels` channels.
    pub fn over(channels: usize) -> Self {
        Acks {
            stored_on: (0..channels.max(1)).map(|_| AtomicU64::new(0)).collect(),
            ..Acks::default()
        }
    }

    /// Stored on the channel of index `k` (counted only by answers made with [`Acks::over`]).
    pub fn stored_on(&self, k: usize) -> u64 {
        self.stored_on
            .get(k)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Count a stored ack (`text`) on its channel.
    fn count_stored(&self, text: &str) {
        self.stored.fetch_add(1, Ordering::Relaxed);
        let k = match self.stored_on.len() {
            0 | 1 => Some(0),
            _ => crate::load::channel_index(text),
        };
        if let Some(n) = k.and_then(|k| self.stored_on.get(k)) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn answered(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
            + self.duplicate.load(Ordering::Relaxed)
            + self.refused.load(Ordering::Relaxed)
    }
}

/// Publish `rate` events/s for `duration` with ids `tag0`, `tag1`, …, then wait for every
/// answer (at most [`ACK_PATIENCE`]). Publish `n` goes on channel `n % channels` (with one
/// channel, `global`), counted in `acks` (made by [`Acks::over`] the same number). The
/// connection also receives the events of `global`; they are read and dropped.
pub async fn publish(
    ws: Ws,
    tag: String,
    rate: f64,
    duration: Duration,
    channels: usize,
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
                    counts.count_stored(&t);
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
            let mut publish = wire::Publish::new(format!("{tag}{n}"), "bench", &now_us());
            if channels > 1 {
                publish = publish.on(crate::load::channel_name(n as usize % channels, channels));
            }
            let text = publish.to_text();
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
