//! One WebSocket connection from the clients host to a region, as the load's publishers and
//! subscribers use it: every wait is bounded, because a fault may make a region silent
//! without closing anything.

use crate::bed::region_addr;
use crate::net::Host;
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wire::ServerFrame;

/// Bound on one connection attempt (the upgrade, then the `welcome`).
const CONNECT: Duration = Duration::from_secs(3);
/// Pause before a retry or a reconnect.
pub const BACKOFF: Duration = Duration::from_millis(200);

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connect to `region`'s `/ws?query` and read its first frame (the `welcome`); `None` when
/// either fails or takes longer than [`CONNECT`].
pub async fn connect(region: Host, query: &str) -> Option<(Ws, ServerFrame)> {
    connect_to(region_addr(region), query).await
}

/// Connect to the region at `addr` (of any bed), as [`connect`] does.
pub async fn connect_to(addr: SocketAddr, query: &str) -> Option<(Ws, ServerFrame)> {
    let url = format!("ws://{addr}/ws?{query}");
    let (mut ws, _) = tokio::time::timeout(CONNECT, tokio_tungstenite::connect_async(url))
        .await
        .ok()?
        .ok()?;
    let welcome = next_frame(&mut ws, CONNECT).await.ok()??;
    Some((ws, welcome))
}

/// The next frame: `Err` on silence for `wait`, `Ok(None)` when the socket ends.
pub async fn next_frame(ws: &mut Ws, wait: Duration) -> Result<Option<ServerFrame>, ()> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return Err(()),
            Ok(None | Some(Err(_))) => return Ok(None),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(serde_json::from_str(&t).ok()),
            Ok(Some(Ok(Message::Close(_)))) => return Ok(None),
            Ok(Some(Ok(_))) => continue,
        }
    }
}
