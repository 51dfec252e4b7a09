//! The subscriber role of a connection: welcome, the replay of a resume, then live events
//! from the region's fan-out, written in batches; a client that cannot keep up is let go.
//!
//! # Delivery to one client
//! - Welcome first, with the region's offset `W` and epoch at subscribe time.
//! - With `since=N`: every event `N < offset ≤ W` still in the history, in order, marked
//!   `replay` (a `gap` frame names offsets that fell out of it), then `caught_up`. Live
//!   events follow; `last_sent` drops the ones the replay already sent.
//! - The live queue is the region's broadcast ring ([`RegionConfig::client_queue`] items).
//!   A client that falls further behind, or whose socket does not take a write within
//!   [`RegionConfig::write_timeout`], is a slow consumer: it gets a `slow_consumer` error
//!   (when it reads again, within `RegionConfig::slow_grace`) and close 1008, and resumes with `since`.
//!
//! [`RegionConfig::client_queue`]: crate::region::RegionConfig::client_queue
//! [`RegionConfig::write_timeout`]: crate::region::RegionConfig::write_timeout

use super::{Closed, Connection, Result};
use crate::defaults;
use crate::event::{now_micros, Micros, Offset};
use crate::region::frames::{self, Close};
use crate::region::metrics::{Operation, Transport, Written};
use crate::region::{frame_text, Outgoing};
use axum::extract::ws::Message;
use futures_util::SinkExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;

/// Events read from history per round trip while replaying.
const REPLAY_BATCH: usize = 500;

/// Most fan-out frames written to a socket with one flush ([`defaults::WRITE_BATCH`]).
const WRITE_BATCH: usize = defaults::WRITE_BATCH;

impl Connection {
    /// Welcome the client and, when it resumes (`since`, `epoch`), replay what it missed.
    pub(super) async fn start(&mut self, resume: Option<(Offset, Option<String>)>) -> Result {
        let region = self.region.clone();
        let epoch = region.epoch.read().unwrap().clone();
        let broker = region.broker().kind();
        self.send_frame(&frames::welcome(
            region.name(),
            self.last_sent,
            &epoch,
            broker,
        ))
        .await?;
        let Some((mut since, client_epoch)) = resume else {
            return Ok(());
        };
        if client_epoch.is_some_and(|e| e != epoch) {
            // The client's offsets belong to a log that no longer exists.
            self.send_frame(&frames::stale_epoch(&epoch, self.last_sent, since))
                .await?;
            since = 0;
        } else if since > self.last_sent {
            // Past what this region has read: either the region is behind the log (the
            // client saw the event elsewhere; live delivery brings it), or `since` is past
            // the log's end and cannot belong to it. Only the broker can tell.
            let latest = match region.broker().status().await {
                Ok(status) => status.latest,
                Err(e) => {
                    region.metrics.broker_error(Operation::History);
                    self.send_frame(&frames::history_unavailable(&e, since))
                        .await?;
                    return self.close(Close::HistoryUnavailable).await;
                }
            };
            if since > latest {
                let frame = frames::past_the_end(&epoch, self.last_sent, since, latest);
                self.send_frame(&frame).await?;
                since = 0;
            }
        }
        self.replay(since, &epoch).await
    }

    /// Send history after `since` in the log `epoch`, then remember where live delivery
    /// takes over.
    async fn replay(&mut self, since: Offset, epoch: &str) -> Result {
        // Everything up to `target` went out on the fan-out before we subscribed, or will
        // reach us live too; history covers the first part, `last_sent` drops the overlap.
        let target = self.last_sent;
        let mut after = since;
        let region = self.region.clone();
        region.metrics.replay_started();
        while after < target {
            // The permit bounds concurrent history reads (a reconnect storm queues here). It
            // is held for the read only, never while writing to this client's socket, so a
            // resumer that does not drain cannot keep the others waiting.
            let read = {
                let _permit = region.replays.acquire().await.map_err(|_| Closed::Gone)?;
                region.broker().read(after, REPLAY_BATCH).await
            };
            let batch = match read {
                Ok(b) => b,
                Err(e) => {
                    region.metrics.broker_error(Operation::History);
                    self.send_frame(&frames::history_unavailable(&e, after))
                        .await?;
                    return self.close(Close::HistoryUnavailable).await;
                }
            };
            if !batch.epoch.is_empty() && batch.epoch != epoch {
                return self.recreated_during_replay(&batch.epoch).await;
            }
            let Some(first) = batch.events.first() else {
                break;
            };
            if first.offset > after + 1 {
                self.send_frame(&frames::replay_gap(after + 1, first.offset - 1))
                    .await?;
            }
            let now = now_micros();
            for e in &batch.events {
                self.send(Message::Text(e.frame_text(now, true).into()))
                    .await?;
                after = e.offset;
            }
            region.metrics.replayed(batch.events.len());
        }
        self.last_sent = after.max(since);
        self.send_frame(&frames::caught_up(self.last_sent)).await
    }

    /// The log was recreated while the replay read it: its offsets mean nothing in the log
    /// this client was welcomed to, so none of its events go out as replay. Announce the new
    /// log and hand over to live delivery: the region's feed sees the new epoch too, sends
    /// its own `epoch` frame through the fan-out and then the new log from offset 1. Until
    /// that frame, what the fan-out carries belongs to the old log and is dropped.
    async fn recreated_during_replay(&mut self, epoch: &str) -> Result {
        tracing::info!(region = %self.region.name(), new = epoch, "log recreated during a replay");
        let lost_after = self.last_sent;
        self.send_frame(&frames::recreated_during_replay(epoch, lost_after))
            .await?;
        self.last_sent = 0;
        self.old_log = true;
        self.send_frame(&frames::caught_up(0)).await
    }

    /// Handle the next item of the live queue.
    pub(super) async fn on_live(
        &mut self,
        out: std::result::Result<Outgoing, RecvError>,
        live: &mut Receiver<Outgoing>,
    ) -> Result {
        match out {
            Ok(out) => self.forward(out, live).await,
            Err(RecvError::Lagged(n)) => {
                tracing::info!(region = %self.region.name(), behind = n, "client fell behind its queue; disconnecting");
                Err(Closed::Slow)
            }
            Err(RecvError::Closed) => Err(Closed::Gone),
        }
    }

    /// Send `first` and every frame already queued behind it (up to [`WRITE_BATCH`]) with one
    /// flush, under one write deadline. An event this client published itself waits for its
    /// ack: the ack goes first.
    async fn forward(&mut self, first: Outgoing, live: &mut Receiver<Outgoing>) -> Result {
        let mut next = Some(first);
        let mut end = Ok(());
        let mut batch = Vec::new();
        let mut written = Written::default();
        while let Some(out) = next.take() {
            if let Outgoing::Event { event, .. } = &out {
                if self.pipeline.awaits(&event.event.id) {
                    let (b, w) = (std::mem::take(&mut batch), std::mem::take(&mut written));
                    self.fan_out(b, w).await?;
                    self.settle_publishes().await?;
                }
            }
            if let Some((msg, received_at)) = self.message_for(out) {
                written.add(&msg, received_at);
                batch.push(msg);
            }
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
        self.fan_out(batch, written).await?;
        end
    }

    /// Write fan-out frames with one flush, and count them as delivered.
    async fn fan_out(&mut self, batch: Vec<Message>, written: Written) -> Result {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(batch).await?;
        self.region.metrics.fanned_out(Transport::Ws, &written);
        Ok(())
    }

    /// The message for one fan-out item (with when the region read it, for an event), or
    /// `None` if this client already has it.
    fn message_for(&mut self, out: Outgoing) -> Option<(Message, Option<Micros>)> {
        match out {
            Outgoing::Event { .. } | Outgoing::Gap { .. } if self.old_log => None,
            Outgoing::Event {
                event,
                received_at,
                text,
            } => {
                if event.offset <= self.last_sent {
                    return None;
                }
                self.last_sent = event.offset;
                Some((Message::Text(text), Some(received_at)))
            }
            Outgoing::Gap { to, notice } => {
                if to <= self.last_sent {
                    return None;
                }
                self.last_sent = to;
                Some((Message::Text(notice.text), None))
            }
            Outgoing::Epoch { notice } => {
                // After `recreated_during_replay` this repeats the announcement; a second
                // "forget your offsets" before any event of the new log is harmless.
                self.old_log = false;
                self.last_sent = 0;
                Some((Message::Text(notice.text), None))
            }
        }
    }

    /// Tell a slow consumer why it is disconnected and where to resume. Its socket may be
    /// full: the frames wait (bounded: two frames) until it reads again or the grace ends.
    pub(super) async fn slow_goodbye(&mut self) {
        self.region.metrics.slow_consumer(Transport::Ws);
        let config = &self.region.config;
        let frame = frames::slow_consumer(
            config.clients.client_queue,
            config.clients.write_timeout.get(),
            self.last_sent,
        );
        let goodbye = async {
            self.sink.send(Message::Text(frame_text(&frame))).await?;
            self.sink.send(Close::SlowConsumer.message()).await
        };
        let _ = tokio::time::timeout(self.region.config.clients.slow_grace.get(), goodbye).await;
    }
}
