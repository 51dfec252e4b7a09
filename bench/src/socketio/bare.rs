//! The bare Socket.IO server: the fastest `broadcast` fan-out socketioxide (the library the
//! regions speak Socket.IO with) allows on this machine, with no broker, the floor of
//! [`super`]'s scenario.
//!
//! # Contract
//! - It serves [`wire::REGIONS`] ports ("regions"), one socketioxide instance behind all of
//!   them (so one in-memory adapter holds every socket of every port), at `/socket.io/`,
//!   with the regions' packet buffer per socket ([`SOCKET_BUFFER`]) and TCP_NODELAY.
//! - A `message` event with one string `text` is broadcast at once to every socket of every
//!   port, the emitter included, as `broadcast` with `"[From AS] text"` (the emitter's port's
//!   region, upper case: the regions' rendering), then acknowledged with `{"ok":true}`.
//!   socketioxide encodes a broadcast packet once and queues it for each socket; that is the
//!   whole fan-out. What it leaves out is what the regions pay for their guarantees: no log,
//!   no offsets, no `event` packet (the regions send one after each `broadcast`), no rate
//!   limit, no input checks, no slow-consumer rule (a socket whose buffer is full misses that
//!   packet: the scenario counts it as lost).
//! - On [`BareSio::stop`] every socket is closed and every port stops.

use crate::target::Target;
use axum::serve::ListenerExt;
use futures_util::FutureExt;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;
use socketioxide::SocketIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Packets socketioxide buffers per socket: the regions' (`server-core`'s Socket.IO
/// `SOCKET_BUFFER`, 1,024; one packet per message here, two there).
pub const SOCKET_BUFFER: usize = 1024;

/// The emitter's region as the `broadcast` text names it (`AS`), put in each port's requests.
#[derive(Debug, Clone)]
struct Origin(String);

/// A running bare Socket.IO server: its ports, and what stops it.
pub struct BareSio {
    /// `(region, address)` of each port, in [`wire::REGIONS`] order.
    pub regions: Vec<(String, SocketAddr)>,
    io: SocketIo,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// The `message` handler of one socket: `broadcast` the text to every socket, then ack it,
/// inline where socketioxide reads the socket's packets. (A handler written as an async
/// function runs in a task of its own per packet, and two tasks may broadcast one emitter's
/// messages in another order than it sent them: the regions' intake runs inline too.)
#[derive(Clone)]
struct Broadcast {
    io: SocketIo,
    /// `[From AS] ` for a socket of the `as` port.
    prefix: Arc<str>,
}

impl MessageHandler<LocalAdapter, ()> for Broadcast {
    fn call(&self, s: Arc<Socket<LocalAdapter>>, mut v: Value, ack_id: Option<i64>) {
        let Ok(Data(text)) = Data::<String>::from_message_parts(&s, &mut v, &ack_id) else {
            return;
        };
        let text = format!("{}{text}", self.prefix);
        // The in-memory adapter's broadcast is done when first polled; were it not, it
        // finishes in a task (and order is no longer promised).
        let io = self.io.clone();
        let mut emit = async move {
            // A socket whose buffer is full misses it (counted as lost).
            let _ = io.emit("broadcast", &text).await;
        }
        .boxed();
        if (&mut emit).now_or_never().is_none() {
            tokio::spawn(emit);
        }
        let Ok(ack) = AckSender::from_message_parts(&s, &mut v, &ack_id);
        let _ = ack.send(&serde_json::json!({ "ok": true }));
    }
}

impl BareSio {
    /// Listen on three free loopback ports and serve until [`BareSio::stop`] (or `shutdown`).
    pub async fn start(shutdown: CancellationToken) -> std::io::Result<Self> {
        let (layer, io) = SocketIo::builder()
            .max_buffer_size(SOCKET_BUFFER)
            .build_layer();
        let all = io.clone();
        io.ns("/", move |s: SocketRef| {
            let origin = s.req_parts().extensions.get::<Origin>().cloned();
            let prefix = format!("[From {}] ", origin.map_or(String::new(), |o| o.0));
            s.on(
                "message",
                Broadcast {
                    io: all.clone(),
                    prefix: prefix.into(),
                },
            );
            async {}
        });
        let tracker = TaskTracker::new();
        let mut regions = Vec::new();
        for name in wire::REGIONS {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
            regions.push((name.to_string(), listener.local_addr()?));
            let origin = Origin(name.to_uppercase());
            let app = axum::Router::new()
                .layer(layer.clone())
                .layer(axum::Extension(origin));
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let stop = shutdown.clone();
            tracker.spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
            });
        }
        Ok(BareSio {
            regions,
            io,
            shutdown,
            tracker,
        })
    }

    /// Where the scenario's clients connect, one per port (as `/ws` URLs, like the regions').
    pub fn targets(&self) -> Vec<Target> {
        crate::target::targets_at(&self.regions)
    }

    /// Close every socket and stop every port.
    pub async fn stop(self) {
        self.io.close().await;
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}
