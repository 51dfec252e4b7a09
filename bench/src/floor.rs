//! The physical floor of this machine, measured in the same run as the load: a bare
//! tokio-tungstenite echo round trip on loopback (what any WebSocket server pays to get a
//! frame in and one out), and a bare Redis hop (XADD on one connection → a blocked XREAD on
//! another wakes up: what any Redis-fed fan-out pays). Results are reported as ratios to it.

use crate::clock::now_us;
use crate::stats::{self, Latency};
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use redis::streams::StreamReadReply;
use redis::AsyncConnectionConfig;
use serde::Serialize;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Size of the echoed frame: about an event frame's.
const FRAME_BYTES: usize = 200;
/// Round trips before measuring.
const WARMUP: usize = 100;

/// The floor.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Floor {
    /// WebSocket echo round trip on loopback.
    pub ws_round_trip: Latency,
    /// Redis XADD → blocked XREAD wakes, when a Redis was measured.
    pub redis_hop: Option<Latency>,
}

impl Floor {
    /// Floor of one delivery at the median: WS round trip (+ Redis hop).
    pub fn p50_ms(&self) -> f64 {
        self.ws_round_trip.p50_ms + self.redis_hop.map_or(0.0, |r| r.p50_ms)
    }

    /// Floor of one delivery at p99.
    pub fn p99_ms(&self) -> f64 {
        self.ws_round_trip.p99_ms + self.redis_hop.map_or(0.0, |r| r.p99_ms)
    }
}

/// Measure the floor; the Redis hop only with `redis_url`.
pub async fn measure(redis_url: Option<&str>, n: usize) -> anyhow::Result<Floor> {
    let ws = ws_round_trip(n).await.context("WebSocket echo floor")?;
    let redis = match redis_url {
        Some(url) => Some(redis_hop(url, n).await.context("Redis hop floor")?),
        None => None,
    };
    Ok(Floor {
        ws_round_trip: ws,
        redis_hop: redis,
    })
}

/// Echo round trips of a [`FRAME_BYTES`] text frame through a bare tokio-tungstenite server.
pub async fn ws_round_trip(n: usize) -> anyhow::Result<Latency> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut ws = tokio_tungstenite::accept_async(tcp).await?;
        while let Some(Ok(m)) = ws.next().await {
            if m.is_text() {
                ws.send(m).await?;
            }
        }
        anyhow::Ok(())
    });
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
    let text = "x".repeat(FRAME_BYTES);
    let mut rtts = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let t = now_us();
        ws.send(Message::text(text.clone())).await?;
        ws.next().await.context("echo server closed")??;
        if i >= WARMUP {
            rtts.push((now_us() - t) as u32);
        }
    }
    ws.close(None).await?;
    server.abort();
    rtts.sort_unstable();
    Ok(stats::summarize(&rtts))
}

/// XADD → a blocked XREAD on another connection returns, `n` times, one at a time.
pub async fn redis_hop(url: &str, n: usize) -> anyhow::Result<Latency> {
    let client = redis::Client::open(url)?;
    let config = AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
    let mut writer = client.get_multiplexed_async_connection().await?;
    let reader = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let key = format!("bench-floor-{:x}", rand::random::<u64>());
    let mut last = "0-0".to_string();
    let mut hops = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let (mut conn, k, after) = (reader.clone(), key.clone(), last.clone());
        let read = tokio::spawn(async move {
            let reply: StreamReadReply = redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(5000)
                .arg("STREAMS")
                .arg(&k)
                .arg(&after)
                .query_async(&mut conn)
                .await?;
            let at = now_us();
            let id = reply
                .keys
                .first()
                .and_then(|s| s.ids.first())
                .map(|e| e.id.clone())
                .context("XREAD returned nothing")?;
            anyhow::Ok((at, id))
        });
        // Let the XREAD reach Redis and block before the XADD.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let t = now_us();
        let _: String = redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("d")
            .arg("x".repeat(FRAME_BYTES))
            .query_async(&mut writer)
            .await?;
        let (at, id) = read.await??;
        last = id;
        if i >= WARMUP {
            hops.push(at.saturating_sub(t) as u32);
        }
    }
    let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut writer).await?;
    hops.sort_unstable();
    Ok(stats::summarize(&hops))
}
