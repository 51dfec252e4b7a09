//! Socket.IO on every region: `/socket.io/` on the region's own port, for the clients of the
//! system this project reimplements (socket.io-client 3.x and 4.x: Engine.IO 4, Socket.IO 5,
//! HTTP long-polling, WebSocket and the upgrade between them, the default namespace).
//! socketioxide speaks the protocol; this module maps it onto the log (docs/protocol.md,
//! "Socket.IO").
//!
//! # Contract
//! - **Input.** A `message` event with one string is stored like a `publish`: kind `message`,
//!   payload `{"text": …}`, origin this region, an id made by the server
//!   (`sio-<socket id>-<n>`). A client's messages are stored one at a time, in the order it
//!   sent them ([`intake`]), on `global`. `join` and `leave` with one string (a room) follow
//!   and stop following the channel of that name (rooms are channels). Anything else
//!   (another event, a non-string, binary attachments, a payload over 16 KiB, a bad room
//!   name, over the rate limit) gets an `error` event and stores nothing.
//! - **Delivery.** Every event of `global`, and of the rooms joined, that the region reads
//!   from the log after the client's connect (or join) was acknowledged (and possibly a few
//!   read just before) reaches the client exactly once, in its channel's order, as
//!   `broadcast` (`"[From AS] text"`) and then `event` (the whole event). The items come from
//!   the region's fan-out by channel, the same `/ws` clients get, each rendered once per
//!   region for Socket.IO by the first client that needs it.
//! - **Queues.** Per client: its queue of [`super::RegionConfig::clients`]`.client_queue`
//!   items, then socketioxide's packet buffer ([`SOCKET_BUFFER`] packets, two per event).
//!   A client more than `client_queue` items behind, or whose buffer stays full for the
//!   region's `write_timeout`, gets a `slow_consumer` `error` event (if its buffer has room)
//!   and is disconnected by the server (socket.io-client does not reconnect by itself after
//!   that). Messages waiting to be stored: [`INBOX`] per client, beyond that `rate_limited`
//!   (answered from a queue of [`OVERFLOW`] refusals; past it, dropped unanswered).
//! - **Disconnect.** Nothing is replayed on reconnect: socketioxide has no connection state
//!   recovery, so a client misses what was stored while it was away (docs/protocol.md says
//!   how to get it from `/ws?since=N`).
//! - **Admission.** The same origin policy as `/ws` on every HTTP request of the transport
//!   (403 otherwise); with `--token`, the token in the `auth` payload (`{token}`), the
//!   `?token=` query or `Authorization: Bearer`, or the connect is refused (`connect_error`).
//!   The connection cap: while the region is full, a handshake (a transport request without
//!   `sid`) gets 503 `too_many_connections`; the slot itself is taken atomically when the
//!   connect is admitted, and a connect that finds the region full after its handshake is
//!   refused with a `connect_error` starting `too_many_connections`.
//! - **Shutdown.** Every transport is closed when the region shuts down; socket.io-client
//!   then reconnects by itself.

mod intake;
mod mapping;

pub(crate) use self::mapping::Rendered;
mod session;

use self::intake::{Ack, Incoming, Intake};
use self::session::Session;
use super::client_count::ClientCount;
use super::delivery::Delivery;
use super::follow::Follows;
use super::Region;
use axum::extract::{Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use serde::Deserialize;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use socketioxide::SocketIo;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wire::limits::MAX_FRAME_BYTES;

/// Packets socketioxide buffers per client before an emit is refused (then retried until
/// the write deadline).
pub(crate) const SOCKET_BUFFER: usize = 1024;
/// Messages of one client waiting to be stored (each at most 16 KiB of text: larger ones are
/// refused before they are queued); more are refused with `rate_limited`.
pub(crate) const INBOX: usize = 1024;
/// Refusals of one client waiting to be answered because its inbox was full; past these a
/// packet is dropped unanswered (and nothing is stored).
pub(crate) const OVERFLOW: usize = 4096;
/// Path of the Socket.IO endpoint (socket.io-client's default).
const PATH: &str = "/socket.io/";

/// The Socket.IO endpoint of one region, as routes to merge into its router.
pub(super) fn routes(region: Arc<Region>) -> Router<Arc<Region>> {
    let (svc, io) = SocketIo::builder()
        .req_path("/socket.io")
        .max_buffer_size(SOCKET_BUFFER)
        // A polling request body up to twice the frame limit is read and its messages
        // refused one by one with a clear error; a larger body closes the session.
        .max_payload(2 * MAX_FRAME_BYTES as u64)
        .build_svc();
    let hub = Arc::new(Endpoint {
        region: region.clone(),
        started: OnceLock::new(),
    });
    let admit = {
        let hub = hub.clone();
        move |s: SocketRef, io: SocketIo, TryData(auth): TryData<serde_json::Value>| {
            let hub = hub.clone();
            async move { hub.admit(s, io, auth.ok()) }
        }
    };
    let connected = {
        let hub = hub.clone();
        move |s: SocketRef| {
            let hub = hub.clone();
            async move { hub.connected(s) }
        }
    };
    io.ns("/", connected.with(admit));
    let cors = region.access.cors([Method::GET, Method::POST]);
    Router::new()
        .route_service(PATH, svc.clone())
        .route_service("/socket.io", svc)
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            region.clone(),
            room_for_a_handshake,
        ))
        .layer(axum::middleware::from_fn_with_state(region, same_origin))
}

/// Refuse a new session's handshake (a transport request without `sid`) with 503 while the
/// region is full, as `/ws` does. Only a fast path: the slot is taken in [`Endpoint::admit`].
async fn room_for_a_handshake(
    State(region): State<Arc<Region>>,
    req: Request,
    next: Next,
) -> Response {
    let handshake = !req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .any(|kv| kv.starts_with("sid="));
    if handshake {
        if let Err(full) = ClientCount::room(&region) {
            return full.refusal();
        }
    }
    next.run(req).await
}

/// Refuse every transport request from a foreign web origin, as `/ws` does.
async fn same_origin(State(region): State<Arc<Region>>, req: Request, next: Next) -> Response {
    match region.access.origin_refusal(region.name(), req.headers()) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// What the Socket.IO endpoint of a region shares across its clients.
struct Endpoint {
    region: Arc<Region>,
    /// Set once the shutdown watcher runs.
    started: OnceLock<()>,
}

/// A new client's queues, made when it is admitted, taken when its session starts.
type Admitted = Arc<Mutex<Option<Queues>>>;

/// A client's channels and queue, its receiving ends (its messages, its overflow refusals)
/// and its slot.
type Queues = (
    (Follows, mpsc::Receiver<Delivery>),
    mpsc::Receiver<Incoming>,
    mpsc::Receiver<Option<Ack>>,
    ClientCount,
);

/// ConnectRefused connect: the text socket.io-client gets as `connect_error`'s message, starting
/// with the error code.
#[derive(Debug, thiserror::Error)]
enum ConnectRefused {
    /// The region has a token and the connect did not carry it.
    #[error(
        "unauthorized: this region requires a token: connect with auth {{token}} or ?token=<token>"
    )]
    Unauthorized,
    /// The region holds its maximum of connections.
    #[error("too_many_connections: {0}; retry later or connect to another region")]
    Full(#[from] super::client_count::Full),
    /// The display name of `auth {name}` is not one.
    #[error("invalid_name: {0}")]
    Name(String),
}

/// Token of the handshake's query string.
#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl Endpoint {
    /// Connect middleware: check the token, then subscribe the client to `global` and
    /// register its handlers, all before socketioxide acknowledges the connect. So every
    /// event stored after the client saw `connect` reaches it, and no message it sends after
    /// `connect` finds no handler.
    fn admit(
        &self,
        s: SocketRef,
        io: SocketIo,
        auth: Option<serde_json::Value>,
    ) -> Result<(), ConnectRefused> {
        let parts = s.req_parts();
        let in_auth = auth
            .as_ref()
            .and_then(|a| a.get("token"))
            .and_then(|t| t.as_str());
        let in_query = Query::<TokenQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.token);
        if !self
            .region
            .access
            .token_presented(&parts.headers, [in_auth, in_query.as_deref()])
        {
            tracing::info!(region = %self.region.name(), sid = %s.id, "socket.io connect without the token refused");
            return Err(ConnectRefused::Unauthorized);
        }
        let name = auth
            .as_ref()
            .and_then(|a| a.get("name"))
            .and_then(|n| n.as_str());
        let name = crate::region::input::name(name).map_err(|e| ConnectRefused::Name(e.message))?;
        let counted = ClientCount::admit(&self.region).inspect_err(|full| {
            tracing::info!(region = %self.region.name(), sid = %s.id, max = full.max, "socket.io connect refused: region full");
        })?;
        self.start_once(io);
        // Follows `global` from before the connect is acknowledged (the seam).
        let (mut follows, queue) = Follows::new(self.region.clone(), name);
        follows.join_known(wire::GLOBAL);
        let (tx, inbox) = mpsc::channel(INBOX);
        let (overflow_tx, overflow) = mpsc::channel(OVERFLOW);
        let intake = Intake {
            inbox: tx,
            overflow: overflow_tx,
        };
        s.on("message", intake.clone());
        s.on_fallback(intake);
        let gone = CancellationToken::new();
        s.extensions.insert(gone.clone());
        s.on_disconnect(move |_: DisconnectReason| {
            let gone = gone.clone();
            async move { gone.cancel() }
        });
        let pending: Admitted = Arc::new(Mutex::new(Some((
            (follows, queue),
            inbox,
            overflow,
            counted,
        ))));
        s.extensions.insert(pending);
        Ok(())
    }

    /// Connect handler: start the client's session.
    fn connected(&self, s: SocketRef) {
        let (Some(pending), Some(gone)) = (
            s.extensions.get::<Admitted>(),
            s.extensions.get::<CancellationToken>(),
        ) else {
            return;
        };
        let Some(((follows, queue), inbox, overflow, counted)) = pending.lock().unwrap().take()
        else {
            return;
        };
        s.extensions.remove::<Admitted>();
        if !s.connected() {
            gone.cancel();
        }
        let session = Session {
            region: self.region.clone(),
            socket: s,
            follows,
            queue,
            inbox,
            overflow,
            gone,
            _counted: counted,
            pipeline: crate::region::pipeline::Pipeline::new(
                self.region.config.publishing.publish_pipeline,
                self.region.config.publishing.publish_batches,
                self.region.publish_round_trip.clone(),
            ),
            acks: std::collections::VecDeque::new(),
        };
        self.region.tracker.spawn(session.run());
    }

    /// Start the shutdown watcher, once, with the first client.
    /// (`io` is handed in rather than kept in the endpoint: the endpoint lives in `io`'s
    /// handlers.)
    fn start_once(&self, io: SocketIo) {
        self.started.get_or_init(|| {
            let region = self.region.clone();
            let tracker = region.tracker.clone();
            tracker.spawn(async move {
                region.shutdown.cancelled().await;
                // Closes every transport (clients reconnect by themselves) and ends every
                // pending long-poll, so the HTTP server can finish its graceful shutdown.
                let closing = io.close();
                if tokio::time::timeout(region.config.clients.write_timeout.get(), closing)
                    .await
                    .is_err()
                {
                    tracing::warn!(region = %region.name(), "socket.io transports did not close in time");
                }
            });
        });
    }
}
