//! One WebSocket client: the session that runs its roles side by side.
//!
//! A connection is a subscriber ([`subscriber`]: welcome, the channels it follows, replays,
//! live events) and a publisher ([`publisher`]: what the client sends, decoded,
//! rate-limited, published, acked; `subscribe` and `unsubscribe` frames). Both share one
//! socket; the session below takes turns between the client's queue and the client's
//! messages, so neither role can starve the other. Every frame either role sends is built in
//! [`super::frames`].

mod publisher;
mod subscriber;

use super::client_count::ClientCount;
use super::delivery::Delivery;
use super::follow::Follows;
use super::frames::Close;
use super::input::Want;
use super::metrics::Transport;
use super::rate_limit::TokenBucket;
use super::{frame_text, Region};
use crate::region::pipeline::{self, Pipeline};
use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use wire::ServerFrame;

/// Ping intervals a client may stay silent (no frame, no pong) before it counts as dead.
const DEAD_AFTER_TICKS: u32 = 2;

/// Why a connection ends.
#[derive(Debug, PartialEq, Eq)]
enum Closed {
    /// The socket is gone or closed (by either side); nothing more to say.
    Gone,
    /// The client did not keep up: tell it why, if it reads again (see
    /// [`Connection::slow_goodbye`]).
    Slow,
}

type Result<T = ()> = std::result::Result<T, Closed>;

/// One client's state, shared by its roles.
struct Connection {
    region: Arc<Region>,
    sink: SplitSink<WebSocket, Message>,
    /// The channels it follows, where each stands for it, and its end of the fan-out.
    /// Dropped with the connection, which takes it off every channel.
    follows: Follows,
    /// The publish budget of this connection.
    bucket: TokenBucket,
    /// Publishes in flight and replies due, in order.
    pipeline: Pipeline<ServerFrame>,
}

/// Serve one client until it leaves, misbehaves beyond repair, or the region shuts down.
///
/// `wants` are the channels of `/ws?channels=…&since=…&epoch=…&presence=…` (`global` when it
/// names none), `name` its display name; `_counted` is the client's slot, taken before the
/// upgrade and freed when this returns.
pub(super) async fn serve(
    region: Arc<Region>,
    socket: WebSocket,
    wants: Vec<Want>,
    name: Option<String>,
    _counted: ClientCount,
) {
    let _metered = region.metrics.connected(Transport::Ws);
    let (follows, mut queue) = Follows::new(region.clone(), name);
    let (sink, mut stream) = socket.split();
    let mut conn = Connection {
        bucket: TokenBucket::new(
            region.config.publishing.publish_rate,
            region.config.publishing.publish_burst,
        ),
        pipeline: Pipeline::new(
            region.config.publishing.publish_pipeline,
            region.config.publishing.publish_batches,
            region.publish_round_trip.clone(),
        ),
        follows,
        region: region.clone(),
        sink,
    };
    tracing::debug!(region = %region.name(), ?wants, "client connected");
    if conn.session(&mut queue, &mut stream, wants).await == Err(Closed::Slow) {
        conn.slow_goodbye().await;
    }
    tracing::debug!(region = %region.name(), "client left");
}

impl Connection {
    /// Welcome (and replays), then serve both roles until the connection ends.
    async fn session(
        &mut self,
        queue: &mut mpsc::Receiver<Delivery>,
        stream: &mut SplitStream<WebSocket>,
        wants: Vec<Want>,
    ) -> Result {
        self.start(wants).await?;
        let shutdown = self.region.shutdown.clone();
        let lagged = self.follows.subscriber().lagged.clone();
        // One timer per connection (not per event): the keepalive.
        let period = self
            .region
            .config
            .clients
            .ping_interval
            .get()
            .max(Duration::from_millis(1));
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Ping ticks since the client last sent anything.
        let mut silent_ticks = 0u32;
        loop {
            let due = self.pipeline.due();
            tokio::select! {
                _ = shutdown.cancelled() => return self.close(Close::ShuttingDown).await,
                // Publishes in flight do not hold up live events, nor the other way round.
                _ = self.pipeline.settle(|id, r, t| publisher::answer(&self.region, id, r, t)), if self.pipeline.busy() => {
                    self.publishes_settled().await?;
                }
                // A batch that waited for company (a burst trickling in) goes.
                _ = pipeline::until(due), if due.is_some() => {
                    self.pipeline.start(self.region.broker());
                }
                // A client that fell behind its queue is let go (its queue may still hold
                // items: they are not for it any more).
                _ = lagged.cancelled() => return self.lagged(),
                item = queue.recv() => self.on_live(item, queue).await?,
                // A full pipeline stops reading: the client's socket pushes back.
                msg = stream.next(), if self.pipeline.has_room() => {
                    silent_ticks = 0;
                    self.on_client(msg).await?;
                    // What the client sent with it (a burst) joins the same batch: one
                    // round trip to the broker for the burst, not one per batch slot.
                    while self.pipeline.has_room() {
                        let Some(msg) = stream.next().now_or_never() else { break };
                        self.on_client(msg).await?;
                    }
                    // At once when a batch slot is free; otherwise when one frees.
                    self.pipeline.start(self.region.broker());
                }
                _ = ping.tick() => {
                    silent_ticks += 1;
                    self.keepalive(silent_ticks).await?;
                }
            }
        }
    }

    /// Ping the client, or let it go if it has not answered the pings of two intervals: a
    /// dead peer (a vanished laptop, a half-open TCP connection) must not hold its slot.
    async fn keepalive(&mut self, silent_ticks: u32) -> Result {
        if silent_ticks > DEAD_AFTER_TICKS {
            tracing::info!(
                region = %self.region.name(),
                silent_for = ?self.region.config.clients.ping_interval.get() * DEAD_AFTER_TICKS,
                "client answered no ping; dropping it"
            );
            return Err(Closed::Gone);
        }
        self.send(Message::Ping(Default::default())).await
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result {
        self.send(Message::Text(frame_text(frame))).await
    }

    /// Send with a deadline: a client whose socket does not drain is a slow consumer.
    async fn send(&mut self, msg: Message) -> Result {
        self.region.metrics.sending(&msg);
        deadline(&self.region, self.sink.send(msg)).await
    }

    /// Send `messages` with one flush (one write when they fit), under one deadline.
    async fn write(&mut self, messages: Vec<Message>) -> Result {
        if messages.is_empty() {
            return Ok(());
        }
        let sink = &mut self.sink;
        let write = async move {
            for msg in messages {
                sink.feed(msg).await?;
            }
            sink.flush().await
        };
        deadline(&self.region, write).await
    }

    /// Send a close frame (best effort, under the write deadline) and end the connection.
    async fn close(&mut self, why: Close) -> Result {
        let _ = tokio::time::timeout(
            self.region.config.clients.write_timeout.get(),
            self.sink.send(why.message()),
        )
        .await;
        Err(Closed::Gone)
    }
}

/// Run a socket write under the region's write deadline: a client whose socket does not
/// drain in time is a slow consumer.
async fn deadline(
    region: &Region,
    write: impl std::future::Future<Output = std::result::Result<(), axum::Error>>,
) -> Result {
    match tokio::time::timeout(region.config.clients.write_timeout.get(), write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Closed::Gone),
        Err(_) => {
            tracing::info!(region = %region.name(), "client did not drain its socket in time; disconnecting");
            Err(Closed::Slow)
        }
    }
}
