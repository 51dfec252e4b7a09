//! The feeds: one per partition, each reading its partition's log from this region's last
//! position and fanning each event out to the subscribers of its channel.
//!
//! # Contract
//! - Every event of the partition is read once, in position order, stamped with when this
//!   region read it, and reaches the subscribers of its channel here in offset order.
//!   Offsets of a channel that fell out of the history before the region read them are
//!   announced to its subscribers with one `gap` frame, never skipped silently: when the next
//!   event of the channel shows the hole, or at once (from the channel's status) when the
//!   partition itself had a hole and the channel has no later event.
//! - A broker outage (or a read that stalls past its wait plus [`STALL_GRACE`]) marks the
//!   region disconnected and retries with exponential backoff ([`BACKOFF_MIN`] to
//!   [`BACKOFF_MAX`]); on return it reads on from its last position, so nothing still in the
//!   history is lost. An idle read that ends empty is not an error.
//! - A new epoch of the partition (its log lost, or gone back in time) is adopted once: the
//!   region works out how much of what it delivered the new log still holds, continues after
//!   that, and announces to the subscribers of each channel of the partition, and to no one
//!   else, what of their channel may be lost (`epoch` frame with `lost_after`).
//! - Presence changes of the partition are read with its events and fanned out the same way
//!   (see [`presence`]).

mod presence;

use super::delivery::{Delivery, Fanned, Notice};
use super::hub::{notify, PartitionHub};
use super::metrics::Operation;
use super::Region;
use crate::broker::{Batch, Cursor, Partition};
use crate::error::{BrokerError, Result, Unavailable};
use crate::event::{now_micros, Offset, StoredEvent};
use crate::sim::RouteReader;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How long one blocking read waits for news before it checks in again.
const READ_WAIT: Duration = Duration::from_secs(2);
/// Events read per round trip.
const READ_BATCH: usize = 512;
/// A read that has not answered this long after its wait is over is a stalled connection.
const STALL_GRACE: Duration = Duration::from_secs(3);
/// Delivered events remembered per partition, to find how much of them a new epoch keeps.
const DELIVERED: usize = 4096;
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Follow `partition` until the region shuts down (see the module's contract).
pub(super) async fn run(region: Arc<Region>, partition: Partition, start: Cursor) {
    let shutdown = region.shutdown.clone();
    let mut feed = Feed::new(region, partition, start);
    loop {
        let read = tokio::select! {
            _ = shutdown.cancelled() => return,
            read = feed.read_batch() => read,
        };
        let waited = match read {
            Ok(Read::Again) => continue,
            Ok(Read::Events(batch)) => {
                feed.reached();
                if feed.deliver(batch.events) {
                    feed.announce_trimmed().await;
                }
                if feed.deliver_presence(batch.presence) {
                    feed.presence_unknown = true;
                }
                continue;
            }
            Ok(Read::NewEpoch { epoch, kept }) => {
                feed.reached();
                feed.adopt_epoch(epoch, kept);
                feed.presence_unknown = true;
                feed.region.roster.mark([feed.partition]);
                continue;
            }
            Err(e) => feed.back_off(e),
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(waited) => {}
        }
    }
}

/// What one read step found.
enum Read {
    /// Nothing to deliver (the answer was lost on a route switch, or the region learnt
    /// where the log ends): read again.
    Again,
    /// Events after the cursor (maybe none: an idle wait that ended).
    Events(Batch),
    /// The log has a new epoch, which still holds what was delivered up to position `kept`.
    NewEpoch { epoch: String, kept: Offset },
}

/// An event this region delivered, remembered for a new epoch.
#[derive(Debug, Clone)]
struct Delivered {
    position: Offset,
    id: String,
    channel: String,
    offset: Offset,
}

/// What the delivered window held when a new epoch came.
struct Window {
    /// Its oldest position.
    start: Option<Offset>,
    /// The channels of its events.
    channels: std::collections::HashSet<String>,
    /// The newest position the new log still holds.
    kept: Offset,
}

/// One region's follower of one partition.
struct Feed {
    region: Arc<Region>,
    partition: Partition,
    /// The last event read, and of which log.
    cursor: Cursor,
    /// What this region delivered last, bounded: the oldest goes past [`DELIVERED`].
    delivered: VecDeque<Delivered>,
    reader: RouteReader,
    /// The wait before the next try after a failure.
    backoff: Duration,
    /// True when the presence stream must be found again (a new epoch, or a hole): the
    /// next step reads where it stands and sends fresh member lists.
    presence_unknown: bool,
}

impl Feed {
    fn new(region: Arc<Region>, partition: Partition, cursor: Cursor) -> Feed {
        Feed {
            region,
            partition,
            cursor,
            delivered: VecDeque::new(),
            reader: RouteReader::default(),
            backoff: BACKOFF_MIN,
            presence_unknown: false,
        }
    }

    /// Read the next batch after the cursor (waiting up to [`READ_WAIT`] for one), under
    /// the stall limit; a new epoch comes with how much of it this region already delivered.
    async fn read_batch(&mut self) -> Result<Read> {
        if self.cursor.epoch.is_empty() {
            self.cursor = self.region.start_partition(self.partition).await?;
            return Ok(Read::Again);
        }
        if std::mem::take(&mut self.region.hub.partition(self.partition).relist) {
            self.presence_unknown = true;
        }
        if self.presence_unknown {
            self.restart_presence().await?;
            return Ok(Read::Again);
        }
        // Liveness: every read is a round trip through the broker that must answer within
        // its wait plus a grace period, so a silently dead connection is noticed.
        let limit = READ_WAIT + STALL_GRACE;
        let read = self.reader.next(
            &self.region.route,
            self.partition,
            &self.cursor,
            READ_BATCH,
            READ_WAIT,
        );
        let batch = match tokio::time::timeout(limit, read).await {
            Ok(Ok(Some(batch))) => batch,
            Ok(Ok(None)) => return Ok(Read::Again),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Unavailable::Stalled(limit).into()),
        };
        if !batch.epoch.is_empty() && batch.epoch != self.cursor.epoch {
            let kept = self.still_held(&batch.epoch).await?;
            return Ok(Read::NewEpoch {
                epoch: batch.epoch,
                kept,
            });
        }
        Ok(Read::Events(batch))
    }

    /// A read answered: this partition is reachable (again).
    fn reached(&mut self) {
        self.region.partition_reached(self.partition);
        self.backoff = BACKOFF_MIN;
    }

    /// Fan `events` out in order, each to the subscribers of its channel (serialized once,
    /// for channels followed here only), after announcing any offsets of the channel that
    /// fell out of the history before this region read them. True when the partition itself
    /// had a hole (some channels may need telling: [`Self::announce_trimmed`]).
    fn deliver(&mut self, events: Vec<StoredEvent>) -> bool {
        let received_at = now_micros();
        let region = self.region.clone();
        let mut hub = region.hub.partition(self.partition);
        let mut hole = false;
        for stored in events {
            if stored.position <= self.cursor.position {
                continue;
            }
            region.metrics.read(stored.stored_at, received_at);
            hole |= stored.position > self.cursor.position + 1;
            self.remember(&stored);
            if stored.event.channel == wire::GLOBAL {
                region.hub.set_global_offset(stored.offset);
            }
            let Some(channel) = hub.key(&stored.event.channel) else {
                continue;
            };
            if let Some(last) = hub.last(&channel) {
                if stored.offset > last + 1 {
                    self.gap(&mut hub, channel.clone(), last + 1, stored.offset - 1);
                }
            }
            hub.set_last(&channel, Some(stored.offset));
            let fanned = Delivery::Event(Arc::new(Fanned::new(channel, stored, received_at)));
            hub.fan_out(fanned.channel(), &fanned);
        }
        hole
    }

    /// Move the cursor to `stored` and remember it among the delivered.
    fn remember(&mut self, stored: &StoredEvent) {
        let e = &stored.event;
        self.cursor.position = stored.position;
        self.cursor.id = Some((e.id.clone(), e.channel.clone()));
        if self.delivered.len() == DELIVERED {
            self.delivered.pop_front();
        }
        self.delivered.push_back(Delivered {
            position: stored.position,
            id: e.id.clone(),
            channel: e.channel.clone(),
            offset: stored.offset,
        });
    }

    /// The partition had a hole: tell the subscribers of each followed channel whose oldest
    /// event still in the history is past the next one they expect (a channel with later
    /// events was told as they came).
    async fn announce_trimmed(&mut self) {
        let followed = self.region.hub.partition(self.partition).followed();
        for (channel, last) in followed {
            let Some(last) = last else { continue };
            let Ok(status) = self.region.broker().channel_status(&channel).await else {
                continue;
            };
            let mut hub = self.region.hub.partition(self.partition);
            if status.oldest > last + 1 && hub.last(&channel) == Some(last) {
                self.gap(&mut hub, channel.clone(), last + 1, status.oldest - 1);
                hub.set_last(&channel, Some(status.oldest - 1));
            }
        }
    }

    /// The log has a new epoch (it was lost, or went back in time): continue after position
    /// `kept`, the last one this region delivered that the new log still holds, and tell the
    /// subscribers of every followed channel of the partition where their channel continues.
    fn adopt_epoch(&mut self, epoch: String, kept: Offset) {
        let region = &self.region;
        let window = Window {
            start: self.delivered.front().map(|d| d.position),
            channels: self.delivered.iter().map(|d| d.channel.clone()).collect(),
            kept,
        };
        self.delivered.retain(|d| d.position <= kept);
        let mut hub = region.hub.partition(self.partition);
        let old = std::mem::replace(&mut hub.epoch, epoch.clone());
        tracing::warn!(region = %region.name(), partition = self.partition, %old, new = %epoch, kept, "log epoch changed: the broker lost its data or went back in time");
        region.metrics.epoch_changed();
        for (channel, last) in hub.followed() {
            let held = self.kept_offset(&channel, last, &window);
            let notice = Notice::epoch(channel.clone(), epoch.clone(), held.unwrap_or(0));
            notify(&mut hub, notice);
            hub.set_last(&channel, held);
            if &*channel == wire::GLOBAL {
                region.hub.set_global_offset(held.unwrap_or(0));
            }
        }
        drop(hub);
        self.cursor = Cursor {
            id: self
                .delivered
                .back()
                .map(|d| (d.id.clone(), d.channel.clone())),
            position: kept,
            epoch,
            presence: self.cursor.presence,
        };
    }

    /// The newest offset of `channel` (whose newest delivered offset is `last`) that this
    /// region delivered and the new log still holds: everything delivered at a position up
    /// to `window.kept`. `None` when it cannot tell (that event is older than the remembered
    /// window), which is announced as "everything may be lost" rather than guessed. Called
    /// with `self.delivered` already cut at `kept`.
    fn kept_offset(&self, channel: &str, last: Option<Offset>, window: &Window) -> Option<Offset> {
        if let Some(d) = self.delivered.iter().rev().find(|d| d.channel == channel) {
            return Some(d.offset);
        }
        if window.channels.iter().any(|c| c == channel) {
            // Its remembered events are all past `kept`: lost; older ones are not known.
            return None;
        }
        // Its last event was delivered before the window started: held if the window starts
        // right after `kept` or before.
        match window.start {
            Some(start) if start <= window.kept + 1 => last,
            _ => None,
        }
    }

    /// A read failed: mark the partition disconnected, drop the reader, and return how long
    /// to wait before the next try (doubling up to [`BACKOFF_MAX`]).
    fn back_off(&mut self, e: BrokerError) -> Duration {
        self.region.metrics.broker_error(Operation::Read);
        self.region.partition_lost(self.partition, &e);
        self.reader.reset();
        let waited = self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        waited
    }

    /// The newest position of what was delivered that the log of `epoch` still holds with
    /// the same event (0 when none: a log that was lost, or that went back before everything
    /// remembered).
    async fn still_held(&self, epoch: &str) -> Result<Offset> {
        let (Some(first), Some(last)) = (self.delivered.front(), self.delivered.back()) else {
            return Ok(0);
        };
        let mut held = HashMap::new();
        let mut after = first.position - 1;
        while after < last.position {
            let batch = self
                .region
                .broker()
                .read(self.partition, after, READ_BATCH)
                .await?;
            if batch.epoch != epoch {
                // It changed again meanwhile: the next read finds the newest and asks again.
                break;
            }
            let Some(newest) = batch.events.last().map(|e| e.position) else {
                break;
            };
            for e in batch.events {
                held.insert(e.position, (e.event.id, e.event.channel));
            }
            after = newest;
        }
        Ok(self
            .delivered
            .iter()
            .rev()
            .find(|d| held.get(&d.position) == Some(&(d.id.clone(), d.channel.clone())))
            .map_or(0, |d| d.position))
    }

    /// Announce that offsets `from..=to` of `channel` fell out of the history before this
    /// region read them.
    fn gap(&self, hub: &mut PartitionHub, channel: Arc<str>, from: Offset, to: Offset) {
        tracing::warn!(region = %self.region.name(), %channel, from, to, "offsets fell out of the history before this region read them");
        self.region.metrics.gap();
        notify(hub, Notice::gap(channel, from, to));
    }
}
