//! One Socket.IO client: its relay items out, its messages into the log.
//!
//! A session owns the client's queues and runs until the client leaves, falls behind, or the
//! region shuts down. It stores the client's messages one at a time, in the order sent, and
//! emits each relay item in relay (= log) order, each exactly once.

use super::intake::{Ack, Incoming};
use super::mapping::{self, NotStored};
use super::relay::Relayed;
use crate::region::client_count::ClientCount;
use crate::region::frames;
use crate::region::metrics::{Transport, Written};
use crate::region::rate_limit::TokenBucket;
use crate::region::Region;
use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest pause between two tries to queue a packet on a full socket.
const FULL_PAUSE_MAX: Duration = Duration::from_millis(20);

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
    /// Relay items for this client: a share of the relay's ring of `client_queue` items.
    pub(super) live: broadcast::Receiver<Relayed>,
    /// Packets from this client, in the order it sent them.
    pub(super) inbox: mpsc::Receiver<Incoming>,
    /// Packets refused because `inbox` was full (with their ack, if any).
    pub(super) overflow: mpsc::Receiver<Option<Ack>>,
    /// Cancelled when socketioxide reports the socket disconnected.
    pub(super) gone: CancellationToken,
    /// The client's connection slot, taken when its connect was admitted; freed with the
    /// session.
    pub(super) _counted: ClientCount,
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
        let ended = loop {
            let step = tokio::select! {
                _ = region.shutdown.cancelled() => break Ended::Gone,
                _ = self.gone.cancelled() => break Ended::Gone,
                item = self.live.recv() => match item {
                    Ok(Relayed::Lagged) => Err(Ended::Slow),
                    Ok(item) => self.forward(item).await,
                    Err(RecvError::Lagged(n)) => {
                        tracing::info!(region = %region.name(), sid = %self.socket.id, behind = n, "socket.io client fell behind its queue; disconnecting");
                        Err(Ended::Slow)
                    }
                    Err(RecvError::Closed) => Err(Ended::Gone),
                },
                Some(msg) = self.inbox.recv() => {
                    sent += 1;
                    self.store(msg, &mut bucket, sent).await
                }
                Some(ack) = self.overflow.recv() => {
                    let refused = NotStored::RateLimited {
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

    /// Emit one relay item.
    async fn forward(&self, item: Relayed) -> Result<(), Ended> {
        match item {
            Relayed::Event(r) => {
                self.emit("broadcast", &*r.broadcast).await?;
                self.emit("event", &*r.event).await?;
                let mut written = Written::default();
                written.add_json(r.broadcast.len() + r.event.get().len(), r.received_at);
                self.region
                    .metrics
                    .fanned_out(Transport::SocketIo, &written);
                Ok(())
            }
            Relayed::Notice { name, body } => {
                self.emit(name, &*body).await?;
                self.region
                    .metrics
                    .sent(Transport::SocketIo, body.get().len());
                Ok(())
            }
            Relayed::Lagged => Err(Ended::Slow),
        }
    }

    /// Store one message of the client (or report why not), and answer its ack if it asked.
    async fn store(&self, msg: Incoming, bucket: &mut TokenBucket, n: u64) -> Result<(), Ended> {
        let started = std::time::Instant::now();
        let config = &self.region.config;
        let id = format!("sio-{}-{n}", self.socket.id);
        let stored = match msg.text {
            Err(refused) => Err(refused),
            Ok(_) if !bucket.take() => Err(NotStored::RateLimited {
                rate: config.publishing.publish_rate,
                burst: config.publishing.publish_burst,
            }),
            Ok(text) => match mapping::message_event(self.region.name(), id.clone(), text) {
                Err(refused) => Err(refused),
                Ok(event) => self
                    .region
                    .broker()
                    .publish(event)
                    .await
                    .map_err(NotStored::BrokerUnavailable),
            },
        };
        if let Ok(p) = &stored {
            self.region
                .metrics
                .published(Transport::SocketIo, p.duplicate, started);
        }
        match stored {
            Ok(p) => match msg.ack {
                Some(ack) => {
                    let body = ack_body(Ok((&id, p.offset)));
                    self.retry(|| ack.sender().send(&body)).await
                }
                None => Ok(()),
            },
            Err(refused) => self.refuse(&refused, msg.ack).await,
        }
    }

    /// Report a refusal: an `error` event, and the ack if the client asked for one.
    async fn refuse(&self, refused: &NotStored, ack: Option<Ack>) -> Result<(), Ended> {
        tracing::debug!(region = %self.region.name(), sid = %self.socket.id, code = refused.code().as_str(), "socket.io message refused");
        self.region
            .metrics
            .refused(Transport::SocketIo, &refused.code());
        self.emit("error", &refused.frame()).await?;
        match ack {
            Some(ack) => {
                let body = ack_body(Err(refused));
                self.retry(|| ack.sender().send(&body)).await
            }
            None => Ok(()),
        }
    }

    /// Queue one event for the client (see [`Session::retry`]).
    async fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Ended> {
        self.retry(|| self.socket.emit(event, data)).await
    }

    /// Queue one packet for the client with `send`. A full socket buffer is retried until
    /// the region's write deadline; past it the client is a slow consumer.
    async fn retry(&self, mut send: impl FnMut() -> Result<(), SendError>) -> Result<(), Ended> {
        let deadline = Instant::now() + self.region.config.clients.write_timeout.get();
        let mut pause = Duration::from_millis(1);
        loop {
            match send() {
                Ok(()) => return Ok(()),
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    if Instant::now() >= deadline {
                        tracing::info!(region = %self.region.name(), sid = %self.socket.id, "socket.io client did not drain its buffer in time; disconnecting");
                        return Err(Ended::Slow);
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(FULL_PAUSE_MAX);
                }
                Err(e) => {
                    tracing::debug!(region = %self.region.name(), sid = %self.socket.id, error = %e, "socket.io send failed; the client is gone");
                    return Err(Ended::Gone);
                }
            }
        }
    }
}

/// The acknowledgement of a `message`: `{"ok":true,"id":…,"offset":N}` once stored, or
/// `{"ok":false,"error":<the error event's body>}`.
pub(super) fn ack_body(result: Result<(&str, u64), &NotStored>) -> serde_json::Value {
    match result {
        Ok((id, offset)) => serde_json::json!({ "ok": true, "id": id, "offset": offset }),
        Err(refused) => serde_json::json!({ "ok": false, "error": refused.frame() }),
    }
}
