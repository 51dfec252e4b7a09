//! The subscriber role of a connection: welcome, the channels it follows (each joined at the
//! hub's seam), the replay of a resume, then live events from its queue, written in
//! batches; a client that cannot keep up is let go.
//!
//! # Delivery to one client, per channel
//! - Joining a channel reads where it stands here (`W`: the newest offset the region
//!   delivered of it, or the broker's newest when the region has delivered none yet) under
//!   the lock the feed delivers with; live events after `W` reach the client's queue.
//! - With `since=N`: every event `N < offset ≤ W` still in the channel's history, in order,
//!   marked `replay` (a `gap` frame names offsets that fell out of it), then `caught_up`.
//!   Live events follow; `last_sent` drops the ones the replay already sent.
//! - The queue holds [`RegionConfig::clients`]`.client_queue` items, all channels together.
//!   A client that falls further behind, or whose socket does not take a write within the
//!   write timeout, is a slow consumer: it gets a `slow_consumer` error (when it reads
//!   again, within the slow grace) and close 1008, and resumes with `since`.
//!
//! [`RegionConfig::clients`]: crate::region::RegionConfig

use super::{Closed, Connection, Result};
use crate::defaults;
use crate::event::{now_micros, Micros, Offset};
use crate::region::delivery::{members_frame, Delivery};
use crate::region::frames::{self, Close};
use crate::region::metrics::{Operation, Transport, Written};
use crate::region::{frame_text, input::Want};
use axum::extract::ws::Message;
use futures_util::SinkExt;
use tokio::sync::mpsc::{error::TryRecvError, Receiver};

/// Events read from history per round trip while replaying.
const REPLAY_BATCH: usize = 500;

/// How a replay of one log ended.
enum Replayed {
    /// Sent up to this offset.
    Done(Offset),
    /// The log was recreated (epoch `new`) after the client got offset `reached`.
    Recreated { new: String, reached: Offset },
}

/// Most fan-out frames written to a socket with one flush ([`defaults::WRITE_BATCH`]).
const WRITE_BATCH: usize = defaults::WRITE_BATCH;

impl Connection {
    /// Join every channel the client asked for on connect, welcome it with where each
    /// stood, send the members of those it asked the presence of, then replay those it
    /// resumes.
    pub(super) async fn start(&mut self, wants: Vec<Want>) -> Result {
        let mut positions = Vec::with_capacity(wants.len());
        let mut lists = Vec::new();
        for want in &wants {
            let (position, members) = self.follows.join(&want.channel, want.presence).await;
            if let Some(members) = members {
                lists.push(members_frame(&want.channel, members));
            }
            positions.push(position);
        }
        let region = self.region.clone();
        let member = self.follows.member();
        let welcome = frames::welcome(region.name(), positions, region.broker().kind(), member);
        self.send_frame(&welcome).await?;
        for list in &lists {
            self.send_frame(list).await?;
        }
        for want in wants {
            if let Some(since) = want.since {
                self.resume(&want.channel, since, want.epoch).await?;
            }
        }
        Ok(())
    }

    /// Resume `channel` after `since` of the log `client_epoch` (when the client kept one).
    pub(super) async fn resume(
        &mut self,
        channel: &str,
        mut since: Offset,
        client_epoch: Option<String>,
    ) -> Result {
        let region = self.region.clone();
        let Some(f) = self.follows.by_name(channel) else {
            return Ok(());
        };
        let (partition, target) = (f.partition, f.last_sent);
        let welcomed = f.joined_epoch.clone();
        let epoch = region.hub.partition(partition).epoch.clone();
        if let Some(client) = client_epoch.as_ref().filter(|e| **e != epoch) {
            // Either the client's log is gone, or this region is behind the client (it has
            // not yet taken up the log the client already follows): only the broker can tell.
            match region.broker().channel_status(channel).await {
                Ok(status) if status.epoch == *client => {
                    // An empty epoch: the feed has not started, so it carries no old log.
                    let old_log = !epoch.is_empty();
                    return self.resume_ahead(channel, since, client, old_log).await;
                }
                Ok(_) => {}
                Err(e) => {
                    region.metrics.broker_error(Operation::History);
                    self.send_frame(&frames::history_unavailable(&e, since))
                        .await?;
                    return self.close(Close::HistoryUnavailable).await;
                }
            }
        }
        if client_epoch.as_ref().is_some_and(|e| *e == epoch)
            && !welcomed.is_empty()
            && welcomed != epoch
        {
            // The welcome named the log this region has just left; the client's is the new
            // one: say so, and drop what the fan-out still carries of the old one.
            return self.resume_ahead(channel, since, &epoch, true).await;
        }
        if client_epoch.is_some_and(|e| e != epoch) {
            // The client's offsets belong to a log that no longer exists.
            let frame = frames::stale_epoch(channel, &epoch, target, since);
            self.send_frame(&frame).await?;
            since = 0;
            // Where the join stood may be of the log before this one (it changed since):
            // replay this log to its end.
            if let Some(f) = self.follows.by_name(channel) {
                f.start_unknown = true;
            }
        } else if since > target {
            // Past what this region has delivered: either the region is behind the log (the
            // client saw the event elsewhere; live delivery brings it), or `since` is past
            // the channel's end and cannot belong to it. Only the broker can tell.
            let latest = match region.broker().channel_status(channel).await {
                Ok(status) => status.latest,
                Err(e) => {
                    region.metrics.broker_error(Operation::History);
                    self.send_frame(&frames::history_unavailable(&e, since))
                        .await?;
                    return self.close(Close::HistoryUnavailable).await;
                }
            };
            if since > latest {
                let frame = frames::past_the_end(channel, &epoch, target, since, latest);
                self.send_frame(&frame).await?;
                since = 0;
            }
        }
        self.replay(channel, since, &epoch).await
    }

    /// The client follows the log `epoch`, newer than the one this region's fan-out still
    /// carries for `channel` (its feed takes it up shortly): tell the client its offsets go
    /// on in `epoch` after `since`, replay that log from there to its end, and (`old_log`:
    /// the fan-out carries the old one) drop what the fan-out carries until the feed's own
    /// frame of it (which is not sent again).
    async fn resume_ahead(
        &mut self,
        channel: &str,
        since: Offset,
        epoch: &str,
        old_log: bool,
    ) -> Result {
        self.send_frame(&frames::continued_in(channel, epoch, since))
            .await?;
        if let Some(f) = self.follows.by_name(channel) {
            f.old_log = old_log;
            f.start_unknown = true;
        }
        self.replay(channel, since, epoch).await
    }

    /// Send the history of `channel` after `since` in the log `epoch`, then remember where
    /// live delivery takes over. Where the log is recreated under the replay, the client is
    /// told (an `epoch` frame naming the last offset it got) and the new log is replayed
    /// from its start to its end; the feed's own frame of that epoch is then not for it.
    async fn replay(&mut self, channel: &str, since: Offset, epoch: &str) -> Result {
        self.region.metrics.replay_started();
        let (mut after, mut epoch) = (since, epoch.to_owned());
        loop {
            match self.replay_in(channel, after, &epoch).await? {
                Replayed::Done(last) => {
                    let last_sent = last.max(after);
                    if let Some(f) = self.follows.by_name(channel) {
                        f.last_sent = last_sent;
                        f.start_unknown = false;
                        f.replayed_epoch = Some(epoch);
                    }
                    return self
                        .send_frame(&frames::caught_up(channel, last_sent))
                        .await;
                }
                Replayed::Recreated { new, reached } => {
                    tracing::info!(region = %self.region.name(), channel, new = %new, "log recreated during a replay");
                    let frame = frames::recreated_during_replay(channel, &new, reached);
                    self.send_frame(&frame).await?;
                    if let Some(f) = self.follows.by_name(channel) {
                        // Until the feed's own frame, the fan-out carries the old log.
                        f.old_log = true;
                        f.start_unknown = true;
                    }
                    (after, epoch) = (0, new);
                }
            }
        }
    }

    /// Send the history of `channel` after `after` in the log `epoch`, up to where live
    /// delivery takes over (the history's end when that is not known).
    async fn replay_in(
        &mut self,
        channel: &str,
        mut after: Offset,
        epoch: &str,
    ) -> Result<Replayed> {
        let region = self.region.clone();
        // Everything up to `target` went out on the fan-out before the client joined, or
        // will reach it live too; history covers the first part, `last_sent` the overlap.
        // Where that was is unknown when the broker did not answer at the join: then to the
        // history's end.
        let target = self
            .follows
            .by_name(channel)
            .map_or(0, |f| match f.start_unknown {
                true => Offset::MAX,
                false => f.last_sent,
            });
        while after < target {
            // The permit bounds concurrent history reads (a reconnect storm queues here). It
            // is held for the read only, never while writing to this client's socket, so a
            // resumer that does not drain cannot keep the others waiting.
            let read = {
                let _permit = region.replays.acquire().await.map_err(|_| Closed::Gone)?;
                region.broker().history(channel, after, REPLAY_BATCH).await
            };
            let batch = match read {
                Ok(b) => b,
                Err(e) => {
                    region.metrics.broker_error(Operation::History);
                    self.send_frame(&frames::history_unavailable(&e, after))
                        .await?;
                    self.close(Close::HistoryUnavailable).await?;
                    return Ok(Replayed::Done(after));
                }
            };
            if !batch.epoch.is_empty() && batch.epoch != epoch {
                return Ok(Replayed::Recreated {
                    new: batch.epoch,
                    reached: after,
                });
            }
            let Some(first) = batch.events.first() else {
                break;
            };
            if first.offset > after + 1 {
                let gap = frames::replay_gap(channel, after + 1, first.offset - 1);
                self.send_frame(&gap).await?;
            }
            let now = now_micros();
            for e in &batch.events {
                self.send(Message::Text(e.frame_text(now, true).into()))
                    .await?;
                after = e.offset;
            }
            region.metrics.replayed(batch.events.len());
        }
        Ok(Replayed::Done(after))
    }

    /// Handle the next item of the client's queue.
    pub(super) async fn on_live(
        &mut self,
        item: Option<Delivery>,
        queue: &mut Receiver<Delivery>,
    ) -> Result {
        match item {
            Some(item) => self.forward(item, queue).await,
            None => Err(Closed::Gone),
        }
    }

    /// The client fell behind its queue: it is a slow consumer.
    pub(super) fn lagged(&self) -> Result {
        tracing::info!(region = %self.region.name(), "client fell behind its queue; disconnecting");
        Err(Closed::Slow)
    }

    /// Send `first` and every item already queued behind it (up to [`WRITE_BATCH`]) with one
    /// flush, under one write deadline. An event this client published itself waits for its
    /// ack: the ack goes first.
    async fn forward(&mut self, first: Delivery, queue: &mut Receiver<Delivery>) -> Result {
        let mut next = Some(first);
        let mut end = Ok(());
        let mut batch = Vec::new();
        let mut written = Written::default();
        while let Some(item) = next.take() {
            if let Delivery::Event(fanned) = &item {
                let e = &fanned.event.event;
                if self.pipeline.awaits(&e.channel, &e.id) {
                    let (b, w) = (std::mem::take(&mut batch), std::mem::take(&mut written));
                    self.fan_out(b, w).await?;
                    while self.pipeline.awaits(&e.channel, &e.id) {
                        self.settle_publishes().await?;
                    }
                }
            }
            if let Some((msg, received_at)) = self.message_for(item) {
                written.add(&msg, received_at);
                batch.push(msg);
            }
            if batch.len() >= WRITE_BATCH {
                break;
            }
            match queue.try_recv() {
                Ok(item) => next = Some(item),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => end = Err(Closed::Gone),
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

    /// The message for one item (with when the region read it, for an event), or `None` if
    /// it is not for this client (see [`Follows::take`](crate::region::follow::Follows::take)).
    fn message_for(&mut self, item: Delivery) -> Option<(Message, Option<Micros>)> {
        if !self.follows.take(&item) {
            return None;
        }
        Some(match item {
            Delivery::Event(e) => (Message::Text(e.text.clone()), Some(e.received_at)),
            Delivery::Notice(n) => (Message::Text(n.text.clone()), None),
        })
    }

    /// Tell a slow consumer why it is disconnected and where to resume. Its socket may be
    /// full: the frames wait (bounded: two frames) until it reads again or the grace ends.
    pub(super) async fn slow_goodbye(&mut self) {
        self.region.metrics.slow_consumer(Transport::Ws);
        let clients = &self.region.config.clients;
        let since = self.follows.since();
        let frame =
            frames::slow_consumer(clients.client_queue, clients.write_timeout.get(), &since);
        let goodbye = async {
            self.sink.send(Message::Text(frame_text(&frame))).await?;
            self.sink.send(Close::SlowConsumer.message()).await
        };
        let _ = tokio::time::timeout(clients.slow_grace.get(), goodbye).await;
    }
}
