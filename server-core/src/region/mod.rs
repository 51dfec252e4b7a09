//! The regional server: one axum app per region, with its own clients, fed by the global log.
//!
//! # Delivery contract (to WebSocket clients)
//! - A client gets every event of the log from the moment it connects, each exactly once and
//!   in offset order. A client that connects with `/ws?since=N` first gets every event with
//!   offset > N still in the history (marked `replay`), then a `caught_up` frame, then live
//!   events, with no gap and no duplicate at the seam. Offsets no longer in the history are
//!   announced with a `gap` frame, never skipped silently.
//! - Each client has a bounded queue ([`RegionConfig::client_queue`] events). A client that
//!   falls that far behind (or whose socket does not take a frame within
//!   [`RegionConfig::write_timeout`]) gets a `slow_consumer` error and is disconnected; it can
//!   resume with `since`. It never slows down other clients.
//! - If the log is lost and recreated (new epoch), clients get an `epoch` frame and offsets
//!   restart; nothing from the old epoch is delivered as if it were new.
//! - On shutdown every socket is closed with code 1001.
//! - Every client is pinged each [`RegionConfig::ping_interval`]; one that sends nothing
//!   (not even a pong) for two intervals is dropped, so dead peers do not hold slots.

mod access;
mod client_count;
pub mod config;
mod connection;
mod feed;
mod frames;
mod http;
pub mod input;
pub mod metrics;
pub mod origin;
mod rate_limit;
mod socketio;

pub use self::config::{Identity, RegionConfig};
pub use self::http::router;

use self::access::Access;
use self::metrics::Metrics;
use crate::broker::SharedBroker;
use crate::event::{Micros, Offset, StoredEvent};
use crate::sim::{Link, Route};
use axum::extract::ws::Utf8Bytes;
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a region sends through its fan-out: each frame serialized once, shared by all clients.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// An event, read from the log at `received_at`, as the text of its frame (a publisher
    /// gets its ack first: the event carries its id).
    Event {
        event: Arc<StoredEvent>,
        received_at: Micros,
        text: Utf8Bytes,
    },
    /// Offsets `..=to` are missing from the log.
    Gap { to: Offset, notice: Notice },
    /// The log has a new epoch; offsets restart.
    Epoch { notice: Notice },
}

/// A frame of the feed's own (`gap`, `epoch`): the frame, for other renderings (Socket.IO),
/// and its text, serialized once.
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub(crate) frame: Arc<wire::ServerFrame>,
    pub(crate) text: Utf8Bytes,
}

impl Notice {
    pub(crate) fn new(frame: wire::ServerFrame) -> Notice {
        Notice {
            text: frame_text(&frame),
            frame: Arc::new(frame),
        }
    }
}

/// A server frame as the text of one WebSocket message.
pub(crate) fn frame_text(frame: &wire::ServerFrame) -> Utf8Bytes {
    frame.to_text().into()
}

/// Shared state of one running region.
pub struct Region {
    config: RegionConfig,
    /// Who may act on it (origins, token), from `config`.
    access: Access,
    /// The broker, straight or through the simulated link (use [`Region::broker`]).
    route: Route,
    fanout: broadcast::Sender<Outgoing>,
    /// Offset of the newest event this region has read from the log. Updated *before* the
    /// event is sent to the fan-out, so a client that subscribes and then reads this value
    /// gets every later event live.
    offset: AtomicU64,
    epoch: RwLock<String>,
    connected: AtomicBool,
    clients: AtomicUsize,
    /// Bounds concurrent history reads: a reconnect storm queues here instead of flooding
    /// the broker.
    replays: tokio::sync::Semaphore,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// What this region is doing, for `/metrics`.
    metrics: Metrics,
}

impl Region {
    /// Region name.
    pub fn name(&self) -> &str {
        &self.config.identity.name
    }

    /// The broker for the next operation: through the simulated link only while it is on.
    pub(crate) fn broker(&self) -> &SharedBroker {
        self.route.broker()
    }

    /// The health report served at `/health`.
    pub fn health(&self) -> wire::Health {
        wire::Health {
            region: self.config.identity.name.clone(),
            broker: self.broker().kind(),
            connected: self.connected.load(Ordering::Relaxed),
            clients: self.clients.load(Ordering::Relaxed),
            offset: self.offset.load(Ordering::SeqCst),
            epoch: self.epoch.read().unwrap().clone(),
            now: crate::event::now_micros(),
        }
    }
}

/// Run one region on `listener`, reaching `broker` through `link` (its simulated WAN, off
/// unless set), until `shutdown` is cancelled; then close every socket and wait for all of
/// this region's tasks to end.
pub async fn run(
    config: RegionConfig,
    broker: SharedBroker,
    link: Link,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let route = Route::new(broker, link);
    // Start from the log's current end: history is replayed per client, on request (`since`).
    let (epoch, offset) = match route.broker().status().await {
        Ok(s) => (s.epoch, s.latest),
        Err(e) => {
            tracing::warn!(region = %config.identity.name, error = %e, "broker unreachable at start; will retry");
            (String::new(), 0)
        }
    };
    let region = Arc::new(Region {
        fanout: broadcast::channel(config.clients.client_queue.max(1)).0,
        replays: tokio::sync::Semaphore::new(config.clients.concurrent_replays.max(1)),
        route,
        offset: AtomicU64::new(offset),
        epoch: RwLock::new(epoch),
        connected: AtomicBool::new(true),
        clients: AtomicUsize::new(0),
        access: Access::new(&config),
        metrics: Metrics::new(&config.identity.name),
        config,
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
    });
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(region = %region.name(), %addr, broker = %region.broker().kind(), "region listening");
    region.tracker.spawn(feed::run(region.clone()));
    let app = router(region.clone());
    // No Nagle delay: fan-out frames are small and latency is the product.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    // axum's graceful shutdown does not cover upgraded sockets: they watch `shutdown`
    // themselves and are tracked here.
    shutdown.cancel();
    region.tracker.close();
    region.tracker.wait().await;
    tracing::info!(region = %region.name(), "region stopped");
    served
}
