//! One Socket.IO client: the events of its channels out, its messages into the log.
//!
//! A session owns the client's queues and runs until the client leaves, falls behind, or the
//! region shuts down. It takes the client's packets in the order sent: messages go to the
//! broker through the connection's [`Pipeline`] (ordered batches, several in flight, stored
//! in the order sent, acknowledged in the order sent; while it is full the session takes no
//! more packets), rooms are joined and left once every message before them is answered. It
//! emits each event of the channels it follows (`global`, and its rooms) in its channel's
//! order, each exactly once, rendered once per region.

use super::intake::{Ack, Asked, Incoming};
use super::mapping::{self, Refusal};
use crate::region::client_count::ClientCount;
use crate::region::delivery::{Delivery, NoticeKind};
use crate::region::follow::Follows;
use crate::region::frames;
use crate::region::metrics::{Transport, Written};
use crate::region::pipeline::{self, Pipeline};
use crate::region::rate_limit::TokenBucket;
use crate::region::Region;
use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest pause between two tries to queue a packet on a full socket.
const FULL_PAUSE_MAX: Duration = Duration::from_millis(20);

/// The answer to one packet of the client: its message stored (id, offset), or refused.
type Reply = Result<(String, u64), Refusal>;

/// Why a session ends.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The client left (or the socket closed); nothing more to say.
    Gone,
    /// The client did not keep up: tell it why (if it has room) and disconnect it.
    Slow,
}

/// The queues and handles of one connected client.
pub(super) struct Session {
    pub(super) region: Arc<Region>,
    pub(super) socket: SocketRef,
    /// The channels it follows (`global` from its connect on), and its end of the fan-out.
    pub(super) follows: Follows,
    /// Its queue of `client_queue` items.
    pub(super) queue: mpsc::Receiver<Delivery>,
    /// Packets from this client, in the order it sent them.
    pub(super) inbox: mpsc::Receiver<Incoming>,
    /// Packets refused because `inbox` was full (with their ack, if any).
    pub(super) overflow: mpsc::Receiver<Option<Ack>>,
    /// Cancelled when socketioxide reports the socket disconnected.
    pub(super) gone: CancellationToken,
    /// The client's connection slot, taken when its connect was admitted; freed with the
    /// session.
    pub(super) _counted: ClientCount,
    /// Its messages at the broker and the answers due, in the order sent.
    pub(super) pipeline: Pipeline<Reply>,
    /// The acknowledgement each answer in `pipeline` goes to (one per answer, same order).
    pub(super) acks: VecDeque<Option<Ack>>,
}

impl Session {
    /// Serve the client until it leaves, falls behind, or the region shuts down.
    pub(super) async fn run(mut self) {
        let _metered = self.region.metrics.connected(Transport::SocketIo);
        let mut bucket = TokenBucket::new(
            self.region.config.publishing.publish_rate,
            self.region.config.publishing.publish_burst,
        );
        let mut sent: u64 = 0;
        let region = self.region.clone();
        tracing::debug!(region = %region.name(), sid = %self.socket.id, "socket.io client connected");
        let lagged = self.follows.subscriber().lagged.clone();
        let ended = loop {
            let due = self.pipeline.due();
            let step = tokio::select! {
                _ = region.shutdown.cancelled() => break Ended::Gone,
                _ = self.gone.cancelled() => break Ended::Gone,
                _ = lagged.cancelled() => {
                    tracing::info!(region = %region.name(), sid = %self.socket.id, "socket.io client fell behind its queue; disconnecting");
                    Err(Ended::Slow)
                }
                item = self.queue.recv() => match item {
                    Some(item) => self.forward(item).await,
                    None => Err(Ended::Gone),
                },
                // Messages at the broker do not hold up events, nor the other way round.
                _ = self.pipeline.settle(|id, r, t| answer(&region, id, r, t)), if self.pipeline.busy() => {
                    self.pipeline.start(region.broker());
                    self.send_replies().await
                }
                // A batch that waited for company (a burst trickling in) goes.
                _ = pipeline::until(due), if due.is_some() => {
                    self.pipeline.start(region.broker());
                    Ok(())
                }
                // A full pipeline takes no more packets (they wait in the inbox).
                Some(msg) = self.inbox.recv(), if self.pipeline.has_room() => {
                    self.take_burst(msg, &mut bucket, &mut sent).await
                }
                Some(ack) = self.overflow.recv() => {
                    let refused = Refusal::RateLimited {
                        rate: region.config.publishing.publish_rate,
                        burst: region.config.publishing.publish_burst,
                    };
                    self.refuse(&refused, ack).await
                }
            };
            if let Err(ended) = step {
                break ended;
            }
        };
        if ended == Ended::Slow {
            region.metrics.slow_consumer(Transport::SocketIo);
            let config = &region.config;
            let frame = frames::socketio_slow_consumer(
                config.clients.client_queue,
                config.clients.write_timeout.get(),
            );
            let _ = self.socket.emit("error", &frame);
            let _ = self.socket.clone().disconnect();
        }
        tracing::debug!(region = %region.name(), sid = %self.socket.id, ?ended, "socket.io client left");
    }

    /// Emit one item of the client's queue, if it is for the client.
    async fn forward(&mut self, item: Delivery) -> Result<(), Ended> {
        if !self.follows.take(&item) {
            return Ok(());
        }
        match item {
            Delivery::Event(fanned) => {
                let r = fanned.socketio();
                self.emit("broadcast", &*r.broadcast).await?;
                self.emit("event", &*r.event).await?;
                let mut written = Written::default();
                written.add_json(r.broadcast.get().len() + r.event.get().len(), r.received_at);
                self.region
                    .metrics
                    .fanned_out(Transport::SocketIo, &written);
                Ok(())
            }
            Delivery::Notice(notice) => {
                let name = match (notice.kind, &notice.frame) {
                    (NoticeKind::Gap { .. }, _) => "gap",
                    (NoticeKind::Epoch { .. }, _) => "epoch",
                    (NoticeKind::Members { .. }, _) => "presence",
                    (_, wire::ServerFrame::Join { .. }) => "join",
                    (_, _) => "leave",
                };
                let body = notice.frame.to_object();
                self.emit(name, &*body).await?;
                self.region
                    .metrics
                    .sent(Transport::SocketIo, body.get().len());
                Ok(())
            }
        }
    }

    /// Take `first` and every packet the client sent with it (a burst goes to the broker as
    /// one batch: one round trip, not one per batch slot), then send what waits.
    async fn take_burst(
        &mut self,
        first: Incoming,
        bucket: &mut TokenBucket,
        sent: &mut u64,
    ) -> Result<(), Ended> {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            self.take(msg, bucket, sent).await?;
            if self.pipeline.has_room() {
                next = self.inbox.try_recv().ok();
            }
        }
        // At once when a batch slot is free; otherwise when one frees.
        self.pipeline.start(self.region.broker());
        self.send_replies().await
    }

    /// One packet of the client: a message queued for the broker, a room joined or left, or
    /// a refusal, each answered in order.
    async fn take(
        &mut self,
        msg: Incoming,
        bucket: &mut TokenBucket,
        sent: &mut u64,
    ) -> Result<(), Ended> {
        match msg.asked {
            Ok(Asked::Message(text)) => {
                *sent += 1;
                self.store(text, msg.ack, bucket, *sent);
                Ok(())
            }
            Ok(Asked::Join(room)) => self.join(room, msg.ack).await,
            Ok(Asked::Leave(room)) => self.leave(room, msg.ack).await,
            Err(refused) => {
                self.pipeline.reply(Err(refused));
                self.acks.push_back(msg.ack);
                Ok(())
            }
        }
    }

    /// Queue one message of the client for the broker (or its refusal), answered in order.
    fn store(&mut self, text: String, ack: Option<Ack>, bucket: &mut TokenBucket, n: u64) {
        let publishing = &self.region.config.publishing;
        let id = format!("sio-{}-{n}", self.socket.id);
        let event = if bucket.take() {
            mapping::message_event(self.region.name(), id, text)
        } else {
            Err(Refusal::RateLimited {
                rate: publishing.publish_rate,
                burst: publishing.publish_burst,
            })
        };
        self.acks.push_back(ack);
        match event {
            Ok(event) => self.pipeline.publish(event, std::time::Instant::now()),
            Err(refused) => self.pipeline.reply(Err(refused)),
        }
    }

    /// Send the answers that are due, in order: each message's acknowledgement, and an
    /// `error` event for each refusal.
    async fn send_replies(&mut self) -> Result<(), Ended> {
        for reply in self.pipeline.ready() {
            let ack = self.acks.pop_front().flatten();
            match reply {
                Ok((id, offset)) => self.answer(ack, ack_body(Ok((&id, offset)))).await?,
                Err(refused) => self.refuse(&refused, ack).await?,
            }
        }
        Ok(())
    }

    /// Wait until every message before now is answered (before a join or a leave).
    async fn settle_all(&mut self) -> Result<(), Ended> {
        let region = self.region.clone();
        self.pipeline.start(region.broker());
        while self.pipeline.busy() {
            self.pipeline
                .settle(|id, r, t| answer(&region, id, r, t))
                .await;
            self.pipeline.start(region.broker());
        }
        self.send_replies().await
    }

    /// Follow the channel `room` (a room is a channel): its events come as `broadcast` and
    /// `event` like those of `global`. Answered `{"ok":true,"channel":…,"offset":N}`.
    async fn join(&mut self, room: String, ack: Option<Ack>) -> Result<(), Ended> {
        self.settle_all().await?;
        let again = self.follows.by_name(&room).is_some();
        if !again && self.follows.len() >= wire::channel::MAX_SUBSCRIPTIONS {
            return self.refuse(&Refusal::TooManyRooms, ack).await;
        }
        let (position, _) = self.follows.join(&room, false).await;
        let body = serde_json::json!({ "ok": true, "channel": room, "offset": position.offset });
        self.answer(ack, body).await
    }

    /// Stop following the channel `room`. Answered `{"ok":true,"channel":…}`.
    async fn leave(&mut self, room: String, ack: Option<Ack>) -> Result<(), Ended> {
        self.settle_all().await?;
        self.follows.remove(&room);
        let body = serde_json::json!({ "ok": true, "channel": room });
        self.answer(ack, body).await
    }

    /// Answer `ack`, if the client asked for one, with `body`.
    async fn answer(&mut self, ack: Option<Ack>, body: serde_json::Value) -> Result<(), Ended> {
        match ack {
            Some(ack) => retry(&self.region, &self.socket, || ack.sender().send(&body)).await,
            None => Ok(()),
        }
    }

    /// Report a refusal: an `error` event, and the ack if the client asked for one.
    async fn refuse(&mut self, refused: &Refusal, ack: Option<Ack>) -> Result<(), Ended> {
        tracing::debug!(region = %self.region.name(), sid = %self.socket.id, code = refused.code().as_str(), "socket.io message refused");
        self.region
            .metrics
            .refused(Transport::SocketIo, &refused.code());
        self.emit("error", &refused.frame()).await?;
        self.answer(ack, ack_body(Err(refused))).await
    }

    /// Queue one event for the client (see [`retry`]).
    async fn emit<T: Serialize + ?Sized>(&mut self, event: &str, data: &T) -> Result<(), Ended> {
        let socket = &self.socket;
        retry(&self.region, socket, || socket.emit(event, data)).await
    }
}

/// Queue one packet for the client of `socket` with `send`. A full socket buffer is retried
/// until the region's write deadline; past it the client is a slow consumer. (Not a method:
/// the session's pipeline, which it would borrow, is not `Sync`.)
async fn retry(
    region: &Region,
    socket: &SocketRef,
    mut send: impl FnMut() -> Result<(), SendError>,
) -> Result<(), Ended> {
    let deadline = Instant::now() + region.config.clients.write_timeout.get();
    let mut pause = Duration::from_millis(1);
    loop {
        match send() {
            Ok(()) => return Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                if Instant::now() >= deadline {
                    tracing::info!(region = %region.name(), sid = %socket.id, "socket.io client did not drain its buffer in time; disconnecting");
                    return Err(Ended::Slow);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(FULL_PAUSE_MAX);
            }
            Err(e) => {
                tracing::debug!(region = %region.name(), sid = %socket.id, error = %e, "socket.io send failed; the client is gone");
                return Err(Ended::Gone);
            }
        }
    }
}

/// The answer to one message (`channel`, `id`, read at `started`) from the broker's answer,
/// counted.
fn answer(
    region: &Region,
    (_, id): (String, String),
    result: crate::error::Result<crate::broker::Published>,
    started: std::time::Instant,
) -> Reply {
    match result {
        Ok(p) => {
            region
                .metrics
                .published(Transport::SocketIo, p.duplicate, started);
            Ok((id, p.offset))
        }
        Err(e) => Err(Refusal::BrokerUnavailable(e)),
    }
}

/// The acknowledgement of a `message`: `{"ok":true,"id":…,"offset":N}` once stored, or
/// `{"ok":false,"error":<the error event's body>}`.
pub(super) fn ack_body(result: Result<(&str, u64), &Refusal>) -> serde_json::Value {
    match result {
        Ok((id, offset)) => serde_json::json!({ "ok": true, "id": id, "offset": offset }),
        Err(refused) => serde_json::json!({ "ok": false, "error": refused.frame() }),
    }
}
