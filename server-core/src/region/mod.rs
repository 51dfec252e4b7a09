//! The regional server: one axum app per region, with its own clients, fed by the log.
//!
//! # Delivery contract (to WebSocket clients)
//! - A client follows channels (`global` when it names none), and gets every event of each
//!   from the moment it subscribed, each exactly once and in its channel's offset order, and
//!   nothing of the channels it does not follow. A client that subscribes with `since=N`
//!   first gets every event of the channel with offset > N still in the history (marked
//!   `replay`), then a `caught_up` frame, then live events, with no gap and no duplicate at
//!   the seam. Offsets no longer in the history are announced with a `gap` frame, never
//!   skipped silently. There is no order between channels.
//! - Each client has a bounded queue ([`RegionConfig::clients`]`.client_queue` items, all
//!   its channels together). A client that falls that far behind (or whose socket does not
//!   take a frame within `write_timeout`) gets a `slow_consumer` error and is disconnected;
//!   it can resume with `since`. It never slows down other clients.
//! - If a channel's log is lost or recreated (a new epoch of its partition), its subscribers
//!   get an `epoch` frame and offsets continue after what the new log still holds; nothing
//!   from the old epoch is delivered as if it were new, and subscribers of other partitions'
//!   channels are not disturbed.
//! - On shutdown every socket is closed with code 1001.
//! - Every client is pinged each `ping_interval`; one that sends nothing (not even a pong)
//!   for two intervals is dropped, so dead peers do not hold slots.

mod access;
mod api;
mod client_count;
pub mod config;
mod connection;
mod delivery;
mod feed;
mod follow;
mod frames;
mod http;
mod hub;
pub mod input;
pub mod metrics;
pub mod origin;
mod pipeline;
mod presence_api;
mod rate_limit;
mod reach;
mod roster;
mod socketio;

pub use self::config::{Identity, RegionConfig};
pub use self::http::router;

use self::access::Access;
use self::hub::Hub;
use self::metrics::Metrics;
use self::reach::Reach;
use self::roster::Roster;
use crate::broker::SharedBroker;
use crate::sim::{Link, Route};
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A server frame as the text of one WebSocket message.
pub(crate) fn frame_text(frame: &wire::ServerFrame) -> axum::extract::ws::Utf8Bytes {
    frame.to_text().into()
}

/// Shared state of one running region.
pub struct Region {
    config: RegionConfig,
    /// Who may act on it (origins, token), from `config`.
    access: Access,
    /// The broker, straight or through the simulated link (use [`Region::broker`]).
    route: Route,
    /// Who follows which channel here, and where each channel stands.
    hub: Hub,
    /// Which partitions the region reaches.
    reach: Reach,
    /// Who is connected here to which channel (presence), told to the broker.
    roster: Roster,
    clients: AtomicUsize,
    /// Bounds concurrent history reads: a reconnect storm queues here instead of flooding
    /// the broker.
    replays: tokio::sync::Semaphore,
    /// How long its connections' publish batches last took at the broker.
    publish_round_trip: Arc<pipeline::RoundTrip>,
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

    /// The health report served at `/health`: where `global` stands here.
    pub fn health(&self) -> wire::Health {
        let global = self.broker().partition_of(wire::GLOBAL);
        wire::Health {
            region: self.config.identity.name.clone(),
            broker: self.broker().kind(),
            connected: self.reach.connected(),
            clients: self.clients.load(Ordering::Relaxed),
            offset: self.hub.global_offset(),
            epoch: self.hub.partition(global).epoch.clone(),
            now: crate::event::now_micros(),
        }
    }

    /// True while the region reaches its broker and knows the epoch of every partition: it
    /// can store publishes and deliver events (`/ready`).
    pub fn ready(&self) -> bool {
        self.reach.connected()
            && (0..self.broker().partitions()).all(|p| !self.hub.partition(p).epoch.is_empty())
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
    let partitions = route.broker().partitions();
    let (roster, presence_updates) = Roster::new(&config.identity.name);
    let region = Arc::new(Region {
        roster,
        hub: Hub::new(partitions, route.broker().partition_of(wire::GLOBAL)),
        reach: Reach::new(partitions),
        replays: tokio::sync::Semaphore::new(config.clients.concurrent_replays.max(1)),
        publish_round_trip: Default::default(),
        route,
        clients: AtomicUsize::new(0),
        access: Access::new(&config),
        metrics: Metrics::new(&config.identity.name),
        config,
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
    });
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(region = %region.name(), %addr, broker = %region.broker().kind(), partitions, "region listening");
    // Start every partition's feed from the log's current end; a partition the broker does
    // not answer for is started by its feed once it does.
    let starts = (0..partitions).map(|p| region.start_partition(p));
    let starts = futures_util::future::join_all(starts).await;
    if let Some(Err(e)) = starts.iter().find(|s| s.is_err()) {
        tracing::warn!(region = %region.name(), error = %e, "broker unreachable at start; will retry");
    }
    for (p, start) in (0..partitions).zip(starts) {
        let start = start.unwrap_or_default();
        region.tracker.spawn(feed::run(region.clone(), p, start));
    }
    region
        .tracker
        .spawn(roster::write(region.clone(), presence_updates));
    region.tracker.spawn(roster::keep_lease(region.clone()));
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
