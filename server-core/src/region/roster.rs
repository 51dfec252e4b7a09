//! This region's members: who is connected here to which channel. The broker's presence is
//! made to match it (see `broker::presence`): one writer tells the broker of every join and
//! leave, in order, and announces this instance's members again wherever the broker lost or
//! missed them; the lease loop renews this region instance's lease.
//!
//! # Contract
//! - **Truth is here.** A connection that follows a channel is in the roster until it stops
//!   following it or ends; the broker is told asynchronously, and where telling it failed (or
//!   its log was lost, or its lease ran out and its members were reaped) the partition is
//!   marked and resynced with the roster once the broker answers again: presence heals by
//!   itself.
//! - **Bounded.** The writer's queue holds at most two items per (connection, channel) in
//!   flight, so it is bounded by the connection cap times the subscription limit; it is
//!   drained as fast as the broker takes it, each batch one script run per partition.
//! - **Checked anyway.** Each renewal also checks one partition in turn against the roster
//!   (by count and digest, [`Broker::in_sync`]: one cheap call), and resyncs it when they
//!   differ, so every partition matches the roster within `partitions` intervals even when
//!   nothing said it was lost: a change acked by a Redis primary that died before its replica
//!   had it (found by the chaos run: a leave lost in a failover left a ghost).
//! - **Leases.** Renewed every [`ClientLimits::presence_interval`], for three intervals; a
//!   region that stops renewing has its members removed everywhere within about four
//!   intervals (its lease runs out, then the next renewal of another region reaps it). This
//!   region reaps only after renewing without a failure for a whole lease, so a broker that
//!   was down gives every live region time to renew first.
//!
//! [`ClientLimits::presence_interval`]: crate::settings::ClientLimits
//! [`Broker::in_sync`]: crate::broker::Broker::in_sync

use super::metrics::Operation;
use super::Region;
use crate::broker::presence::{self, Membership, Update};
use crate::broker::Partition;
use crate::event::now_micros;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::time::{Instant, MissedTickBehavior};
use wire::Member;

/// Leases last this many renewal intervals.
const LEASE_INTERVALS: u32 = 3;

/// Most updates sent to the broker in one batch.
const BATCH: usize = 512;

/// Who is connected here to which channel.
pub(crate) struct Roster {
    /// This region instance (a region's name and a random part, new at every start).
    pub(crate) instance: String,
    next_id: AtomicU64,
    /// `(channel, member id)` → member. A std mutex: held to insert, remove or copy.
    live: Mutex<BTreeMap<(String, String), Member>>,
    updates: mpsc::UnboundedSender<Update>,
    /// Partitions to resync, the one to check next, and a wake-up for the writer.
    dirty: Mutex<HashSet<Partition>>,
    check: Mutex<Option<Partition>>,
    wake: Notify,
}

impl Roster {
    /// An empty roster of a new instance of `region`, and the receiving end of its writer.
    pub(crate) fn new(region: &str) -> (Roster, mpsc::UnboundedReceiver<Update>) {
        let (updates, rx) = mpsc::unbounded_channel();
        let roster = Roster {
            instance: format!("{region}-{:08x}", rand::random::<u32>()),
            next_id: AtomicU64::new(1),
            live: Mutex::new(BTreeMap::new()),
            updates,
            dirty: Mutex::new(HashSet::new()),
            check: Mutex::new(None),
            wake: Notify::new(),
        };
        (roster, rx)
    }

    /// A new connection's member id, unique across regions and restarts.
    pub(crate) fn new_id(&self) -> String {
        format!(
            "{}.{}",
            self.instance,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// `member` follows `channel` from now on.
    pub(crate) fn join(&self, channel: &str, member: Member) {
        let key = (channel.to_owned(), member.id.clone());
        self.live.lock().unwrap().insert(key, member.clone());
        let m = Membership {
            channel: channel.to_owned(),
            member,
            instance: self.instance.clone(),
        };
        let _ = self.updates.send(Update::Join(m));
    }

    /// The member `id` stops following `channel`.
    pub(crate) fn leave(&self, channel: &str, id: &str) {
        let key = (channel.to_owned(), id.to_owned());
        if self.live.lock().unwrap().remove(&key).is_some() {
            let (channel, id) = key;
            let _ = self.updates.send(Update::Leave { channel, id });
        }
    }

    /// Every member here of the channels that `partition_of` puts in `partition`.
    pub(crate) fn live_in(
        &self,
        partition: Partition,
        partition_of: impl Fn(&str) -> Partition,
    ) -> Vec<Membership> {
        self.live
            .lock()
            .unwrap()
            .iter()
            .filter(|((channel, _), _)| partition_of(channel) == partition)
            .map(|((channel, _), member)| Membership {
                channel: channel.clone(),
                member: member.clone(),
                instance: self.instance.clone(),
            })
            .collect()
    }

    /// `partitions` must be resynced with the roster (the broker lost or missed some of
    /// it): wake the writer (also with none, so that it retries what is marked).
    pub(crate) fn mark(&self, partitions: impl IntoIterator<Item = Partition>) {
        self.mark_quietly(partitions);
        self.wake.notify_one();
    }

    /// [`Self::mark`] without waking the writer: it resyncs them at its next wake-up (the
    /// next renewal at the latest), not in a loop against a failing broker.
    fn mark_quietly(&self, partitions: impl IntoIterator<Item = Partition>) {
        self.dirty.lock().unwrap().extend(partitions);
    }

    /// Have the writer check `partition` against the broker at its next wake-up.
    fn check_next(&self, partition: Partition) {
        *self.check.lock().unwrap() = Some(partition);
    }

    fn take_dirty(&self) -> Vec<Partition> {
        self.dirty.lock().unwrap().drain().collect()
    }
}

/// The one writer of this instance's presence: tell the broker of every join and leave, in
/// order, in batches, and resync the marked partitions, until the region shuts down; then
/// remove every member of this instance. One task, so a resync's copy of the roster is never
/// overtaken by an older update (every update is idempotent, so one applied after a resync
/// that had it already changes nothing).
pub(super) async fn write(region: Arc<Region>, mut updates: mpsc::UnboundedReceiver<Update>) {
    let ttl = lease(&region);
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            _ = region.shutdown.cancelled() => break,
            n = updates.recv_many(&mut batch, BATCH) => if n == 0 { break },
            _ = region.roster.wake.notified() => {}
        }
        if !batch.is_empty() {
            tell(&region, std::mem::take(&mut batch)).await;
        }
        resync(&region, ttl).await;
        check(&region).await;
    }
    if let Err(e) = region.broker().release(&region.roster.instance).await {
        tracing::debug!(region = %region.name(), error = %e, "presence not released; the lease runs out instead");
    }
}

/// Send one batch; the partitions it did not reach (or whose joins found no lease) are
/// marked for a resync.
async fn tell(region: &Region, batch: Vec<Update>) {
    let partitions: HashSet<Partition> = batch
        .iter()
        .map(|u| region.broker().partition_of(u.channel()))
        .collect();
    match region.broker().update(batch).await {
        Ok(unleased) => region.roster.mark_quietly(unleased),
        Err(e) => {
            region.metrics.broker_error(Operation::Presence);
            tracing::debug!(region = %region.name(), error = %e, "presence not told; resyncing when the broker answers");
            region.roster.mark_quietly(partitions);
        }
    }
}

/// How long a lease lasts.
fn lease(region: &Region) -> Duration {
    region
        .config
        .clients
        .presence_interval
        .get()
        .max(Duration::from_millis(10))
        * LEASE_INTERVALS
}

/// Renew this instance's lease every interval, and have the writer resync the partitions
/// that need it (it retries the failed ones at each renewal) and the next one in turn,
/// until the region shuts down.
pub(super) async fn keep_lease(region: Arc<Region>) {
    let ttl = lease(&region);
    let mut tick = tokio::time::interval(ttl / LEASE_INTERVALS);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Since when every renewal has succeeded (none yet).
    let mut renewing_since: Option<Instant> = None;
    // The first renewal of the process makes the lease: expected, not news.
    let mut made = false;
    // The partition the next renewal checks whatever it finds (see `sweep`).
    let mut sweep: Partition = 0;
    loop {
        tokio::select! {
            _ = region.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let reap = renewing_since.is_some_and(|since| since.elapsed() >= ttl);
        match region
            .broker()
            .renew(&region.roster.instance, ttl, reap)
            .await
        {
            Ok(renewed) => {
                renewing_since.get_or_insert_with(Instant::now);
                if !std::mem::replace(&mut made, true) {
                    tracing::debug!(region = %region.name(), partitions = renewed.lost.len(), "presence lease made");
                } else if !renewed.lost.is_empty() {
                    tracing::info!(region = %region.name(), partitions = renewed.lost.len(), "presence lease made anew (reaped, or the broker lost it); announcing this region's members again");
                }
                let partitions = region.broker().partitions().max(1);
                let checked = sweep % partitions;
                sweep = checked.wrapping_add(1);
                region.roster.check_next(checked);
                region.roster.mark(renewed.lost);
            }
            Err(e) => {
                region.metrics.broker_error(Operation::Presence);
                // Some partitions may have renewed (made the lease anew, after a reap)
                // before the failure, or may yet renew from requests still on the way: the
                // first renewal that works resyncs them all, rather than trust `lost`.
                region.roster.mark_quietly(0..region.broker().partitions());
                if renewing_since.take().is_some() {
                    tracing::debug!(region = %region.name(), error = %e, "presence lease not renewed");
                }
            }
        }
    }
}

/// Make the broker's members of this instance match the roster in every marked partition
/// (and its lease there run for `ttl`); a partition that fails stays marked for the next
/// wake-up.
async fn resync(region: &Region, ttl: Duration) {
    let broker = region.broker();
    let mut dirty = region.roster.take_dirty();
    dirty.sort_unstable();
    for (i, &p) in dirty.iter().enumerate() {
        let live = region.roster.live_in(p, |c| broker.partition_of(c));
        if let Err(e) = broker.resync(p, &region.roster.instance, ttl, &live).await {
            region.metrics.broker_error(Operation::Presence);
            tracing::debug!(region = %region.name(), partition = p, error = %e, "presence resync failed; retrying at the next renewal");
            // The broker is failing: the rest wait for the next renewal too.
            region.roster.mark_quietly(dirty[i..].iter().copied());
            return;
        }
    }
}

/// Check the partition due (if any) against the broker, and resync it when they differ (or
/// the broker cannot tell); a failure marks it for a resync at the next wake-up.
async fn check(region: &Region) {
    let Some(p) = region.roster.check.lock().unwrap().take() else {
        return;
    };
    let broker = region.broker();
    let instance = &region.roster.instance;
    let live = region.roster.live_in(p, |c| broker.partition_of(c));
    let same = broker
        .in_sync(p, instance, live.len(), presence::digest(&live))
        .await;
    match same {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(region = %region.name(), partition = p, "presence differs from this region's members; resyncing");
            region.roster.mark_quietly([p]);
            resync(region, lease(region)).await;
        }
        Err(e) => {
            region.metrics.broker_error(Operation::Presence);
            tracing::debug!(region = %region.name(), partition = p, error = %e, "presence check failed; resyncing at the next renewal");
            region.roster.mark_quietly([p]);
        }
    }
}

/// A member of this region joining now.
pub(crate) fn member(region: &Region, id: &str, name: &str) -> Member {
    Member {
        id: id.to_owned(),
        name: name.to_owned(),
        region: region.name().to_owned(),
        since: now_micros(),
    }
}
