//! One WebSocket client: welcome, optional replay, then live events and publishes.

use super::rate_limit::TokenBucket;
use super::{frame_text, input, Outgoing, Region};
use crate::event::{now_micros, NewEvent, Offset};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;
use wire::limits::MAX_FRAME_BYTES;
use wire::{ClientFrame, ServerFrame};

/// Events read from history per round trip while replaying.
const REPLAY_BATCH: usize = 500;

/// Most fan-out frames written to a socket with one flush. Frames already waiting in the
/// client's queue go out together: one write syscall instead of one per frame, which is what
/// dominates the fan-out's CPU time under load. Bounded so one client's burst cannot hold
/// its task (and the write deadline) for long.
const WRITE_BATCH: usize = 64;

/// Close codes (RFC 6455).
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const INTERNAL: u16 = 1011;

/// A message too big for the documented limit.
const TOO_BIG: u16 = 1009;

/// How long a slow consumer gets to drain its socket and read why it is being disconnected.
const SLOW_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a connection ends.
#[derive(Debug, PartialEq, Eq)]
enum Closed {
    /// The socket is gone or closed (by either side); nothing more to say.
    Gone,
    /// The client did not keep up: tell it why, if it reads again within [`SLOW_GRACE`].
    Slow,
}

type Result<T = ()> = std::result::Result<T, Closed>;

struct Conn {
    region: Arc<Region>,
    sink: SplitSink<WebSocket, Message>,
    /// Offset of the newest event this client has been sent (live or replayed).
    last_sent: Offset,
    bucket: TokenBucket,
}

/// Serve one client until it leaves, misbehaves beyond repair, or the region shuts down.
///
/// `resume` is `(since, epoch)` from `/ws?since=N&epoch=E`.
pub(super) async fn serve(
    region: Arc<Region>,
    socket: WebSocket,
    resume: Option<(Offset, Option<String>)>,
) {
    let _counted = ClientCount::new(&region);
    // Subscribe before reading the offset or history, so nothing published in between is lost.
    let mut live = region.fanout.subscribe();
    let (sink, mut stream) = socket.split();
    let mut conn = Conn {
        bucket: TokenBucket::new(region.config.publish_rate, region.config.publish_burst),
        region: region.clone(),
        sink,
        last_sent: region.offset.load(Ordering::SeqCst),
    };
    tracing::debug!(region = %region.name(), ?resume, "client connected");
    if conn.session(&mut live, &mut stream, resume).await == Err(Closed::Slow) {
        conn.slow_goodbye().await;
    }
    tracing::debug!(region = %region.name(), "client left");
}

/// Counts a client in `/health` for as long as it lives, however its task ends.
struct ClientCount(Arc<Region>);

impl ClientCount {
    fn new(region: &Arc<Region>) -> Self {
        region.clients.fetch_add(1, Ordering::Relaxed);
        ClientCount(region.clone())
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Conn {
    async fn session(
        &mut self,
        live: &mut tokio::sync::broadcast::Receiver<Outgoing>,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        resume: Option<(Offset, Option<String>)>,
    ) -> Result {
        let epoch = self.region.epoch.read().unwrap().clone();
        let welcome = ServerFrame::Welcome {
            region: self.region.name().into(),
            offset: self.last_sent,
            epoch: epoch.clone(),
            broker: self.region.broker.kind().as_str().into(),
        };
        self.send_frame(&welcome).await?;
        if let Some((mut since, client_epoch)) = resume {
            if client_epoch.is_some_and(|e| e != epoch) {
                // The client's offsets belong to a log that no longer exists.
                let frame = ServerFrame::Epoch {
                    epoch,
                    offset: self.last_sent,
                    lost_after: since,
                    message: "your offsets belong to an earlier log (the broker lost its data or \
                              was switched); replaying the current log from its start"
                        .into(),
                };
                self.send_frame(&frame).await?;
                since = 0;
            }
            self.replay(since).await?;
        }
        let shutdown = self.region.shutdown.clone();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    return self.close(GOING_AWAY, "server shutting down; reconnect with since=<last offset>").await;
                }
                out = live.recv() => match out {
                    Ok(out) => self.forward(out, live).await?,
                    Err(RecvError::Lagged(n)) => {
                        tracing::info!(region = %self.region.name(), behind = n, "client fell behind its queue; disconnecting");
                        return Err(Closed::Slow);
                    }
                    Err(RecvError::Closed) => return Err(Closed::Gone),
                },
                msg = stream.next() => match msg {
                    Some(Ok(Message::Text(text))) if text.len() > MAX_FRAME_BYTES => {
                        let msg = format!("a message was {} bytes; the limit is {MAX_FRAME_BYTES}", text.len());
                        self.send_frame(&ServerFrame::error("frame_too_large", msg)).await?;
                        return self.close(TOO_BIG, "message too big").await;
                    }
                    Some(Ok(Message::Text(text))) => self.on_text(&text).await?,
                    Some(Ok(Message::Binary(_))) => {
                        self.send_frame(&ServerFrame::error("binary_not_supported", "send JSON in text frames; binary frames are not part of the protocol")).await?;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => return Err(Closed::Gone),
                    Some(Err(e)) => {
                        tracing::debug!(region = %self.region.name(), error = %e, "socket error");
                        return Err(Closed::Gone);
                    }
                },
            }
        }
    }

    /// Send history after `since`, then remember where live delivery takes over.
    async fn replay(&mut self, since: Offset) -> Result {
        // Everything up to `target` went out on the fan-out before we subscribed, or will
        // reach us live too; history covers the first part, `last_sent` drops the overlap.
        let target = self.last_sent;
        let mut after = since;
        let region = self.region.clone();
        let _permit = region.replays.acquire().await.map_err(|_| Closed::Gone)?;
        while after < target {
            let batch = match self.region.broker.read(after, REPLAY_BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    let frame = ServerFrame::Error {
                        code: "broker_unavailable".into(),
                        message: format!("could not read history to resume ({e}); reconnect with since={after} to try again"),
                        id: None,
                        temporary: true,
                    };
                    self.send_frame(&frame).await?;
                    return self.close(INTERNAL, "history unavailable").await;
                }
            };
            let Some(first) = batch.events.first() else {
                break;
            };
            if first.offset > after + 1 {
                let gap = ServerFrame::Gap {
                    from: after + 1,
                    to: first.offset - 1,
                    message: format!("events {} to {} are older than the history this server keeps; they cannot be replayed", after + 1, first.offset - 1),
                };
                self.send_frame(&gap).await?;
            }
            let now = now_micros();
            for e in &batch.events {
                self.send_frame(&ServerFrame::Event(e.to_frame(now, true)))
                    .await?;
                after = e.offset;
            }
        }
        self.last_sent = after.max(since);
        self.send_frame(&ServerFrame::CaughtUp {
            offset: self.last_sent,
        })
        .await
    }

    /// Send `first` and every frame already queued behind it (up to [`WRITE_BATCH`]) with one
    /// flush, under one write deadline.
    async fn forward(&mut self, first: Outgoing, live: &mut Receiver<Outgoing>) -> Result {
        let mut next = Some(first);
        let mut end = Ok(());
        let mut batch = Vec::new();
        while let Some(out) = next.take() {
            batch.extend(self.message_for(out));
            if batch.len() >= WRITE_BATCH {
                break;
            }
            match live.try_recv() {
                Ok(out) => next = Some(out),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Lagged(n)) => {
                    tracing::info!(region = %self.region.name(), behind = n, "client fell behind its queue; disconnecting");
                    end = Err(Closed::Slow);
                }
                Err(TryRecvError::Closed) => end = Err(Closed::Gone),
            }
        }
        if !batch.is_empty() {
            let sink = &mut self.sink;
            let write = async move {
                for msg in batch {
                    sink.feed(msg).await?;
                }
                sink.flush().await
            };
            deadline(&self.region, write).await?;
        }
        end
    }

    /// The message for one fan-out item, or `None` if this client already has it.
    fn message_for(&mut self, out: Outgoing) -> Option<Message> {
        match out {
            Outgoing::Event { offset, text } => {
                if offset <= self.last_sent {
                    return None;
                }
                self.last_sent = offset;
                Some(Message::Text(text))
            }
            Outgoing::Gap { to, text } => {
                if to <= self.last_sent {
                    return None;
                }
                self.last_sent = to;
                Some(Message::Text(text))
            }
            Outgoing::Epoch { text } => {
                self.last_sent = 0;
                Some(Message::Text(text))
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result {
        let frame = match input::decode(text) {
            Ok(f) => f,
            Err(e) => {
                let frame = ServerFrame::Error {
                    code: e.code.into(),
                    message: e.message,
                    id: e.id,
                    temporary: false,
                };
                return self.send_frame(&frame).await;
            }
        };
        let ClientFrame::Publish { id, kind, payload } = frame;
        if !self.bucket.take() {
            let frame = ServerFrame::Error {
                code: "rate_limited".into(),
                message: format!("more than {} publishes/s (burst {}) on one connection; slow down and retry this id", self.region.config.publish_rate, self.region.config.publish_burst),
                id: Some(id),
                temporary: true,
            };
            return self.send_frame(&frame).await;
        }
        let event = NewEvent {
            id: id.clone(),
            origin: self.region.name().into(),
            kind,
            payload,
            published_at: now_micros(),
        };
        let reply = match self.region.broker.publish(event).await {
            Ok(p) => ServerFrame::Ack { id, offset: p.offset, duplicate: p.duplicate },
            Err(e) => ServerFrame::Error {
                code: "broker_unavailable".into(),
                message: format!("the event was not stored ({e}); retry with the same id: it will be stored once"),
                id: Some(id),
                temporary: true,
            },
        };
        self.send_frame(&reply).await
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result {
        self.send(Message::Text(frame_text(frame))).await
    }

    /// Send with a deadline: a client whose socket does not drain is a slow consumer.
    async fn send(&mut self, msg: Message) -> Result {
        deadline(&self.region, self.sink.send(msg)).await
    }

    /// Tell a slow consumer why it is disconnected and where to resume. Its socket may be
    /// full: the frames wait (bounded: two frames) until it reads again or the grace ends.
    async fn slow_goodbye(&mut self) {
        let msg = format!(
            "you fell behind: more than {} events queued or a frame not taken within {:?}; \
             reconnect with since={} to resume",
            self.region.config.client_queue, self.region.config.write_timeout, self.last_sent
        );
        let text = frame_text(&ServerFrame::error("slow_consumer", msg));
        let close = Message::Close(Some(CloseFrame {
            code: POLICY,
            reason: "slow consumer".into(),
        }));
        let goodbye = async {
            self.sink.send(Message::Text(text)).await?;
            self.sink.send(close).await
        };
        let _ = tokio::time::timeout(SLOW_GRACE, goodbye).await;
    }

    async fn close(&mut self, code: u16, reason: &'static str) -> Result {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            self.region.config.write_timeout,
            self.sink.send(Message::Close(Some(frame))),
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
    match tokio::time::timeout(region.config.write_timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Closed::Gone),
        Err(_) => {
            tracing::info!(region = %region.name(), "client did not drain its socket in time; disconnecting");
            Err(Closed::Slow)
        }
    }
}
