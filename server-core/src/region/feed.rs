//! The feed: reads the global log from this region's last offset and fans each event out.
//!
//! # Contract
//! - Every event of the log reaches the fan-out once, in offset order, stamped with when this
//!   region read it; offsets that fell out of the history before the region read them are
//!   announced with one `gap` frame, never skipped silently.
//! - A broker outage (or a read that stalls past its wait plus [`STALL_GRACE`]) marks the
//!   region disconnected and retries with exponential backoff ([`BACKOFF_MIN`] to
//!   [`BACKOFF_MAX`]); on return it reads on from its last offset, so nothing still in the
//!   history is lost. An idle read that ends empty is not an error.
//! - A new epoch (the log lost, or gone back in time) is adopted once: the region works out
//!   how much of what it delivered the new log still holds, continues after that, and
//!   announces the rest as possibly lost (`epoch` frame with `lost_after`).

use super::metrics::Operation;
use super::{Notice, Outgoing, Region};
use crate::broker::{Batch, Cursor};
use crate::error::{BrokerError, Result, Unavailable};
use crate::event::{now_micros, Offset, StoredEvent};
use crate::sim::RouteReader;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

/// How long one blocking read waits for news before it checks in again.
const READ_WAIT: Duration = Duration::from_secs(2);
/// Events read per round trip.
const READ_BATCH: usize = 512;
/// A read that has not answered this long after its wait is over is a stalled connection.
const STALL_GRACE: Duration = Duration::from_secs(3);
/// Delivered `(offset, id)` pairs remembered, to find how much of them a new epoch keeps.
const DELIVERED: usize = 4096;
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Follow the log until the region shuts down (see the module's contract).
pub(super) async fn run(region: Arc<Region>) {
    let shutdown = region.shutdown.clone();
    let mut feed = Feed::new(region);
    loop {
        let read = tokio::select! {
            _ = shutdown.cancelled() => return,
            read = feed.read_batch() => read,
        };
        let waited = match read {
            Ok(Read::Again) => continue,
            Ok(Read::Events(batch)) => {
                feed.reached();
                feed.deliver(batch.events);
                continue;
            }
            Ok(Read::NewEpoch { epoch, kept }) => {
                feed.reached();
                feed.adopt_epoch(epoch, kept);
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
    /// The log has a new epoch, which still holds what was delivered up to `kept`.
    NewEpoch { epoch: String, kept: Offset },
}

/// One region's follower of the log.
struct Feed {
    region: Arc<Region>,
    /// The last event delivered, and of which log.
    cursor: Cursor,
    /// What this region delivered last, to tell after a new epoch how much of it the new log
    /// still holds. Bounded: the oldest entry goes when a new one comes past [`DELIVERED`].
    delivered: VecDeque<(Offset, String)>,
    reader: RouteReader,
    /// The wait before the next try after a failure.
    backoff: Duration,
}

impl Feed {
    fn new(region: Arc<Region>) -> Feed {
        let cursor = Cursor {
            epoch: region.epoch.read().unwrap().clone(),
            offset: region.offset.load(Ordering::SeqCst),
            id: None,
        };
        Feed {
            cursor,
            region,
            delivered: VecDeque::new(),
            reader: RouteReader::default(),
            backoff: BACKOFF_MIN,
        }
    }

    /// Read the next batch after the cursor (waiting up to [`READ_WAIT`] for one), under
    /// the stall limit; a new epoch comes with how much of it this region already delivered.
    async fn read_batch(&mut self) -> Result<Read> {
        if self.cursor.epoch.is_empty() {
            self.start_at_the_end().await?;
            return Ok(Read::Again);
        }
        let region = &self.region;
        // Liveness: every read is a round trip through the broker that must answer within
        // its wait plus a grace period, so a silently dead connection is noticed.
        let limit = READ_WAIT + STALL_GRACE;
        let read = self
            .reader
            .next(&region.route, &self.cursor, READ_BATCH, READ_WAIT);
        let batch = match tokio::time::timeout(limit, read).await {
            Ok(Ok(Some(batch))) => batch,
            Ok(Ok(None)) => return Ok(Read::Again),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Unavailable::Stalled(limit).into()),
        };
        if !batch.epoch.is_empty() && batch.epoch != self.cursor.epoch {
            let kept = still_held(&self.region, &batch.epoch, &self.delivered).await?;
            return Ok(Read::NewEpoch {
                epoch: batch.epoch,
                kept,
            });
        }
        Ok(Read::Events(batch))
    }

    /// The broker was unreachable when the region started: begin at the log's current end,
    /// as a region that started normally would, instead of re-broadcasting the whole history
    /// as if it were new.
    async fn start_at_the_end(&mut self) -> Result<()> {
        let status = self.region.broker().status().await?;
        self.cursor = Cursor {
            epoch: status.epoch.clone(),
            offset: status.latest,
            id: None,
        };
        self.region.offset.store(status.latest, Ordering::SeqCst);
        *self.region.epoch.write().unwrap() = status.epoch;
        Ok(())
    }

    /// A read answered: the broker is reachable (again).
    fn reached(&mut self) {
        let region = &self.region;
        if !region.connected.swap(true, Ordering::Relaxed) {
            tracing::info!(region = %region.name(), offset = self.cursor.offset, "broker reachable again; catching up");
            region.metrics.feed_reconnected();
        }
        self.backoff = BACKOFF_MIN;
    }

    /// Fan `events` out in order, each serialized once, after announcing any offsets that
    /// fell out of the history before this region read them.
    fn deliver(&mut self, events: Vec<StoredEvent>) {
        let received_at = now_micros();
        for stored in events {
            if stored.offset <= self.cursor.offset {
                continue;
            }
            self.region.metrics.read(stored.stored_at, received_at);
            if stored.offset > self.cursor.offset + 1 {
                self.gap(self.cursor.offset + 1, stored.offset - 1);
            }
            // Serialized once here; every client shares these bytes.
            let text = stored.frame_text(received_at, false).into();
            self.cursor.offset = stored.offset;
            self.cursor.id = Some(stored.event.id.clone());
            if self.delivered.len() == DELIVERED {
                self.delivered.pop_front();
            }
            self.delivered
                .push_back((stored.offset, stored.event.id.clone()));
            // Stored before the send: see `Region::offset`.
            self.region.offset.store(stored.offset, Ordering::SeqCst);
            let _ = self.region.fanout.send(Outgoing::Event {
                event: Arc::new(stored),
                received_at,
                text,
            });
        }
    }

    /// The log has a new epoch (it was lost, or went back in time): continue after `kept`,
    /// the last offset this region delivered that the new log still holds, and tell every
    /// client that events of the old log after it may be lost.
    fn adopt_epoch(&mut self, epoch: String, kept: Offset) {
        let region = &self.region;
        self.delivered.retain(|(o, _)| *o <= kept);
        let old = std::mem::replace(&mut *region.epoch.write().unwrap(), epoch.clone());
        let read = region.offset.swap(kept, Ordering::SeqCst);
        tracing::warn!(region = %region.name(), %old, new = %epoch, read, kept, "log epoch changed: the broker lost its data or went back in time");
        region.metrics.epoch_changed();
        self.cursor = Cursor {
            id: self.delivered.back().map(|(_, id)| id.clone()),
            offset: kept,
            epoch: epoch.clone(),
        };
        let frame = ServerFrame::Epoch {
            epoch,
            offset: kept,
            lost_after: kept,
            message: format!(
                "The event log was lost or went back in time (the broker restarted without \
                 its data or from an older copy, or failed over to a replica that lagged) and \
                 a new one started. It still holds the events up to offset {kept} as you got \
                 them; events of the old log after {kept}, and any event you were acked but \
                 had not received, may be lost: republish them (same id) if they matter. New \
                 events continue after offset {kept} of the new log."
            ),
        };
        let _ = region.fanout.send(Outgoing::Epoch {
            notice: Notice::new(frame),
        });
    }

    /// A read failed: mark the region disconnected (saying so once), drop the reader, and
    /// return how long to wait before the next try (doubling up to [`BACKOFF_MAX`]).
    fn back_off(&mut self, e: BrokerError) -> Duration {
        let region = &self.region;
        region.metrics.broker_error(Operation::Read);
        if region.connected.swap(false, Ordering::Relaxed) {
            tracing::warn!(region = %region.name(), error = %e, "broker read failed; retrying with backoff");
        }
        self.reader.reset();
        let waited = self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        waited
    }

    /// Announce that offsets `from..=to` fell out of the history before this region read
    /// them.
    fn gap(&self, from: Offset, to: Offset) {
        let region = &self.region;
        tracing::warn!(region = %region.name(), from, to, "offsets fell out of the history before this region read them");
        region.metrics.gap();
        let frame = ServerFrame::Gap {
            from,
            to,
            message: "These events fell out of the bounded history before this region could \
                      read them (it was cut off for longer than the history covers)."
                .into(),
        };
        let _ = region.fanout.send(Outgoing::Gap {
            to,
            notice: Notice::new(frame),
        });
    }
}

/// The newest offset of `delivered` that the log of `epoch` still holds with the same event
/// (0 when none: a log that was lost, or that went back before everything remembered).
async fn still_held(
    region: &Region,
    epoch: &str,
    delivered: &VecDeque<(Offset, String)>,
) -> Result<Offset> {
    let (Some((first, _)), Some((last, _))) = (delivered.front(), delivered.back()) else {
        return Ok(0);
    };
    let mut held = HashMap::new();
    let mut after = first - 1;
    while after < *last {
        let batch = region.broker().read(after, READ_BATCH).await?;
        if batch.epoch != epoch {
            // It changed again meanwhile: the next read finds the newest and asks again.
            break;
        }
        let Some(newest) = batch.events.last().map(|e| e.offset) else {
            break;
        };
        for e in batch.events {
            held.insert(e.offset, e.event.id);
        }
        after = newest;
    }
    Ok(delivered
        .iter()
        .rev()
        .find(|(o, id)| held.get(o) == Some(id))
        .map_or(0, |(o, _)| *o))
}
