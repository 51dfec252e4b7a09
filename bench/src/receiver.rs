//! One receiving client: reads every frame, keeps the bench's events, checks each arrives
//! once, and records its end-to-end latency (send instant in the payload → receive instant,
//! both from [`crate::clock`]).
//!
//! Lean on purpose, as it shares two cores with the server: one task per client, a hand
//! scan of the few fields it needs instead of a JSON parse, a plain vector of samples merged
//! at the end, and one shared counter for progress.

use crate::clock::now_us;
use anyhow::bail;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// A client WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One delivery: when it was sent (ms on the process clock) and how long it took (µs).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Send instant, ms since the process clock's origin.
    pub sent_ms: u32,
    /// End-to-end latency, µs.
    pub latency_us: u32,
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct Received {
    /// Bench events received for the first time.
    pub unique: u64,
    /// Bench events received again (an offset not above the last one seen).
    pub duplicated: u64,
    /// Latency of each unique delivery.
    pub samples: Vec<Sample>,
    /// Bytes of text frames received.
    pub bytes: u64,
    /// Receive instant of the last unique delivery (µs, process clock).
    pub last_us: u64,
    /// Why the server closed the connection early, if it did.
    pub closed: Option<String>,
}

/// Connect to `url` and read the `welcome` frame.
pub async fn connect(url: &str) -> anyhow::Result<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with(r#"{"type":"welcome""#) => Ok(ws),
        other => bail!("expected a welcome frame from {url}, got {other:?}"),
    }
}

/// The fields of an event frame the bench needs.
#[derive(Debug, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Log offset.
    pub offset: u64,
    /// Publisher's id.
    pub id: &'a str,
    /// The payload: the send instant (µs, process clock).
    pub sent_us: u64,
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}

/// Scan an `event` frame (serde's field order: `type`, `offset`, `id`, …, `payload`).
pub fn parse_event(text: &str) -> Option<EventRef<'_>> {
    let rest = text.strip_prefix(r#"{"type":"event","#)?;
    let offset = number_after(rest, r#""offset":"#)?;
    let id_at = rest.find(r#""id":""#)? + 6;
    let id_len = rest[id_at..].find('"')?;
    let sent_us = number_after(rest, r#""payload":"#)?;
    Some(EventRef {
        offset,
        id: &rest[id_at..id_at + id_len],
        sent_us,
    })
}

/// Read until `stop`, counting events whose id starts with `tag`.
pub async fn receive(
    mut ws: Ws,
    tag: Arc<str>,
    delivered: Arc<AtomicU64>,
    stop: CancellationToken,
) -> Received {
    let mut r = Received::default();
    let mut last = 0;
    loop {
        let msg = tokio::select! {
            biased;
            m = ws.next() => m,
            _ = stop.cancelled() => break,
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                r.bytes += t.len() as u64;
                match parse_event(&t) {
                    Some(e) if e.id.starts_with(&*tag) => {
                        if e.offset <= last {
                            r.duplicated += 1;
                            continue;
                        }
                        last = e.offset;
                        let now = now_us();
                        r.unique += 1;
                        r.last_us = now;
                        r.samples.push(Sample {
                            sent_ms: (e.sent_us / 1000) as u32,
                            latency_us: now.saturating_sub(e.sent_us).min(u32::MAX as u64) as u32,
                        });
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(_) => {}
                    None if t.starts_with(r#"{"type":"error""#) => r.closed = Some(t.to_string()),
                    None => {}
                }
            }
            Some(Ok(Message::Close(frame))) => {
                r.closed.get_or_insert(format!("closed: {frame:?}"));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                r.closed.get_or_insert(format!("socket error: {e}"));
                break;
            }
            None => {
                r.closed.get_or_insert("socket ended".into());
                break;
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan reads what the server really sends (the wire crate's serialization).
    #[test]
    fn scans_a_real_event_frame() {
        let frame = wire::ServerFrame::Event(wire::EventFrame {
            channel: "global".into(),
            offset: 42,
            id: "b1-0-7".into(),
            origin: "as".into(),
            kind: "bench".into(),
            payload: serde_json::json!(123456),
            published_at: 1,
            stored_at: 2,
            received_at: 3,
            replay: false,
        });
        let text = serde_json::to_string(&frame).unwrap();
        let e = parse_event(&text).unwrap();
        assert_eq!(
            e,
            EventRef {
                offset: 42,
                id: "b1-0-7",
                sent_us: 123456
            }
        );
        assert_eq!(parse_event(r#"{"type":"ack","id":"x","offset":1}"#), None);
    }
}
