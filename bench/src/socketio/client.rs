//! The scenario's Socket.IO clients: the small part of Engine.IO 4 / Socket.IO 5 it needs, over
//! the WebSocket transport (open, connect to `/`, ping/pong, `42` events, `43` acks); the
//! server side is socketioxide. Each message's text carries its sequence number and send
//! instant (`<tag><emitter>-<seq> <µs>`, process clock), read back from the `broadcast`
//! text `"[From AS] <tag><emitter>-<seq> <µs>"`; `event` packets are skipped unparsed.

use crate::clock::now_us;
use crate::receiver::{Sample, Ws};
use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How long to wait after the last emit for its acks, and for deliveries, to finish.
pub const DRAIN: Duration = Duration::from_secs(20);

/// The Socket.IO WebSocket URL of a region whose `/ws` URL is `ws_url`.
fn sio_url(ws_url: &str) -> String {
    format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        ws_url.trim_end_matches("/ws")
    )
}

/// Open a Socket.IO session on the default namespace over WebSocket.
pub async fn connect(ws_url: &str) -> anyhow::Result<Ws> {
    let url = sio_url(ws_url);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .with_context(|| format!("connect {url}"))?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with("0{") => {}
        other => bail!("expected an Engine.IO open packet from {url}, got {other:?}"),
    }
    ws.send(Message::text("40")).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with("40") => return Ok(ws),
            Some(Ok(Message::Text(t))) if t.starts_with("44") => bail!("connect refused: {t}"),
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
            Some(Ok(_)) => {}
            other => bail!("expected a Socket.IO connect from {url}, got {other:?}"),
        }
    }
}

/// `(emitter, seq, sent_us)` from a `broadcast` packet carrying one of this run's messages
/// (text `<tag><emitter>-<seq> <µs>`).
fn parse_broadcast(packet: &str, tag: &str) -> Option<(usize, u64, u64)> {
    let rest = packet.strip_prefix(r#"42["broadcast","[From "#)?;
    let rest = &rest[rest.find("] ")? + 2..];
    let rest = rest.strip_prefix(tag)?;
    let (emitter, rest) = rest.split_once('-')?;
    let (seq, rest) = rest.split_once(' ')?;
    let sent = rest.strip_suffix(r#""]"#)?;
    Some((emitter.parse().ok()?, seq.parse().ok()?, sent.parse().ok()?))
}

/// What one receiving client saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// This run's broadcasts received for the first time.
    pub unique: u64,
    /// Received again (a sequence number not above the emitter's last one seen).
    pub duplicated: u64,
    /// Latency of each unique delivery.
    pub samples: Vec<Sample>,
    /// Receive instant of the last unique delivery (µs, process clock).
    pub last_us: u64,
    /// The server closed the session early.
    pub closed: bool,
}

/// Read until `stop`, counting the broadcasts of the run tagged `tag` (and answering pings).
pub async fn receive(
    mut ws: Ws,
    tag: Arc<str>,
    progress: Arc<AtomicU64>,
    stop: CancellationToken,
) -> Seen {
    let mut seen = Seen::default();
    // Each emitter's messages are stored in the order it sent them: per emitter, a sequence
    // number not above the last one seen is a duplicate.
    let mut last: Vec<Option<u64>> = Vec::new();
    loop {
        let msg = tokio::select! {
            biased;
            m = ws.next() => m,
            _ = stop.cancelled() => break,
        };
        let t = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                seen.closed = true;
                break;
            }
            Some(Ok(_)) => continue,
        };
        if t.as_str() == "2" {
            let _ = ws.send(Message::text("3")).await;
        } else if t.starts_with("41") {
            seen.closed = true;
            break;
        } else if let Some((emitter, seq, sent_us)) = parse_broadcast(&t, &tag) {
            if last.len() <= emitter {
                last.resize(emitter + 1, None);
            }
            if last[emitter].is_some_and(|l| seq <= l) {
                seen.duplicated += 1;
                continue;
            }
            last[emitter] = Some(seq);
            let now = now_us();
            seen.unique += 1;
            seen.last_us = now;
            seen.samples.push(Sample {
                sent_ms: (sent_us / 1000) as u32,
                latency_us: now.saturating_sub(sent_us).min(u32::MAX as u64) as u32,
            });
            progress.fetch_add(1, Ordering::Relaxed);
        }
    }
    seen
}

/// Emit `rate` messages/s for `duration` with acks; returns `(sent, stored, disconnected)`
/// once every ack is in (or after [`DRAIN`]), or when the server disconnects the emitter.
/// `tag` ends with the emitter's number and `-`.
pub async fn emit(
    mut ws: Ws,
    tag: &str,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<(u64, u64, bool)> {
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let start = Instant::now();
    let (mut sent, mut answered, mut stored) = (0u64, 0u64, 0u64);
    let mut deadline: Option<Instant> = None;
    loop {
        if sent == total {
            let d = *deadline.get_or_insert_with(|| Instant::now() + DRAIN);
            if answered >= sent || Instant::now() >= d {
                return Ok((sent, stored, false));
            }
        }
        let next = start + Duration::from_secs_f64(sent as f64 / rate);
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()), if sent < total => {
                let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
                while sent < due {
                    let packet = format!(r#"42{sent}["message","{tag}{sent} {}"]"#, now_us());
                    if ws.feed(Message::text(packet)).await.is_err() {
                        return Ok((sent, stored, true));
                    }
                    sent += 1;
                }
                if ws.flush().await.is_err() {
                    return Ok((sent, stored, true));
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) if t.starts_with("43") => {
                    answered += 1;
                    if t.contains(r#""ok":true"#) {
                        stored += 1;
                    }
                }
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
                Some(Ok(_)) => {}
                _ => return Ok((sent, stored, true)),
            },
            _ = tokio::time::sleep(Duration::from_millis(50)), if sent == total => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_broadcast_packet_socketioxide_sends() {
        let packet = r#"42["broadcast","[From AS] sab-3-17 123456"]"#;
        assert_eq!(parse_broadcast(packet, "sab-"), Some((3, 17, 123456)));
        assert_eq!(parse_broadcast(packet, "other-"), None);
        assert_eq!(parse_broadcast(r#"42["event",{"offset":1}]"#, "sab-"), None);
        assert_eq!(
            sio_url("ws://127.0.0.1:4000/ws"),
            "ws://127.0.0.1:4000/socket.io/?EIO=4&transport=websocket"
        );
    }
}
