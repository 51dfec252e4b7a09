//! The broker: the event log shared by every region, split into channels.
//!
//! # Model
//! Every event belongs to one channel. Channels live in a fixed number of partitions
//! ([`partition`]); a partition is one ordered log of the events of its channels, each event
//! at a position (1, 2, 3, … in the partition) and at an offset in its channel (1, 2, 3, … in
//! the channel). Regions follow partitions (one reader per partition, however many channels);
//! clients follow channels.
//!
//! # Contract
//! Every implementation ([`MemoryBroker`], [`RedisBroker`]) passes the same suite
//! (`tests/broker_contract.rs`) and promises:
//!
//! - **Atomic publish.** [`Broker::publish`] assigns the next position in the channel's
//!   partition and the next offset in the channel, and appends the event to the history, in
//!   one step: a reader never sees an offset without its event, nor two events at one offset.
//! - **One order per channel.** A channel's offsets start at 1 and grow by exactly 1 per
//!   stored event; every reader sees the same event at the same offset. Within a partition,
//!   positions do the same. There is no order between partitions, and none between channels
//!   beyond what positions say of two channels of one partition (which is no promise).
//! - **Idempotent by id, per channel.** Publishing an id that is still in its channel's
//!   history stores nothing and returns the offset it was first stored at, with
//!   `duplicate = true`. The same id in another channel is another event. Once an event has
//!   fallen out of the bounded history, its id is forgotten too (the dedup window is the
//!   history window).
//! - **Bounded history, per partition.** Each partition keeps its latest `history` events,
//!   so each channel keeps at most that many, and a quiet channel beside a busy one of the
//!   same partition keeps fewer. Older events are dropped with their ids. A read that asks for
//!   dropped offsets gets what is left, starting at the oldest kept event, so the caller sees
//!   the gap (`first offset > after + 1`). What stays per channel without bound is its offset
//!   counter (a few bytes per channel ever used, for the life of the epoch), so that offsets
//!   continue densely.
//! - **Catch-up reads.** [`LogReader::next`] returns a partition's events after a given
//!   position; a reader that was cut off and comes back asks from its last position and
//!   loses nothing that is still in the history. [`Broker::history`] returns a channel's
//!   events after a given offset.
//! - **Epoch, per partition.** A partition's log has a random epoch set when it is created.
//!   If the backing store loses it (Redis restarted without persistence), a new log with a
//!   new epoch starts and readers see the new epoch on their next read; offsets and positions
//!   of different epochs are unrelated. A channel's epoch is its partition's.
//! - **Never back in time silently.** If the store comes back older than it was (Redis
//!   restarted from an older snapshot, a failover to a replica that lagged), the broker
//!   notices on its next publish into that partition (the log no longer holds the newest
//!   event this broker saw stored there) or live read (the log no longer holds the reader's
//!   cursor), and starts a new epoch of that partition atomically, once for all the processes
//!   that notice. The new epoch keeps what the log still holds, at the same positions and
//!   offsets, and new events continue after it. No publish is acked into a log known to have
//!   gone back. Each region then works out how much of what it delivered the new epoch still
//!   holds, continues from there, and announces the rest as possibly lost to the subscribers
//!   of each channel of the partition (`epoch` frame with `lost_after`), and to no one else.
//! - **Disconnects.** Operations fail with [`BrokerError::Unavailable`] while the store is
//!   unreachable and succeed again once it is back; nothing is retried silently inside
//!   `publish` (the caller decides, and may retry with the same id safely).

mod memory;
pub mod partition;
pub mod presence;
mod redis;

pub use self::memory::MemoryBroker;
pub use self::redis::{
    Acks, BadAcks, RedisBroker, RedisConfig, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES,
    TCP_USER_TIMEOUT,
};

pub use wire::BrokerKind;

pub use self::partition::Partition;
use crate::error::{BrokerError, Result, Unavailable};
use crate::event::{NewEvent, Offset, StoredEvent};
use async_trait::async_trait;
use presence::{Members, Membership, PresenceChange, Renewed, Update};
use std::sync::Arc;
use std::time::Duration;

/// Result of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Offset the event is stored at, in its channel.
    pub offset: Offset,
    /// True when the id was already stored: nothing new was appended.
    pub duplicate: bool,
}

/// A slice of a partition's log, or of one channel's.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Epoch of the log the events belong to.
    pub epoch: String,
    /// Events in order, each after the `after` asked for (by position for a partition, by
    /// offset for a channel).
    pub events: Vec<StoredEvent>,
    /// Presence changes of the partition in order, each after the reader's presence cursor
    /// (only from a [`LogReader`]; empty otherwise).
    pub presence: Vec<PresenceChange>,
}

impl Batch {
    /// `events` of the log `epoch`, no presence changes.
    pub fn of(epoch: String, events: Vec<StoredEvent>) -> Batch {
        Batch {
            epoch,
            events,
            presence: Vec::new(),
        }
    }
}

/// Where a partition's log, or one channel, stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStatus {
    /// Epoch of the log.
    pub epoch: String,
    /// Newest position (of a partition) or offset (of a channel), 0 when empty.
    pub latest: Offset,
    /// Oldest position or offset still in the history, `latest + 1` when none is.
    pub oldest: Offset,
    /// The partition's newest presence position (0 when none).
    pub presence: Offset,
}

/// The event log, in channels over partitions. See the module docs for the contract.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Which kind of broker this is.
    fn kind(&self) -> BrokerKind;

    /// How many partitions the log has (fixed for the life of the log).
    fn partitions(&self) -> Partition;

    /// The partition `channel` lives in.
    fn partition_of(&self, channel: &str) -> Partition {
        partition::of(channel, self.partitions())
    }

    /// Store `event` at the next offset of its channel, or return the offset its id already
    /// has there.
    async fn publish(&self, event: NewEvent) -> Result<Published>;

    /// Store `events`, one result per event in the same order. Within one channel (one
    /// partition) each is stored after the ones before it, never before; once one fails, the
    /// ones after it in its partition are not tried (they fail too), so what is stored of
    /// each partition is a prefix of its events in order, plus duplicates; retrying the
    /// failed ones by id, in order, is safe. Partitions do not wait for each other.
    ///
    /// Brokers that can send the whole batch in one round trip per partition do (Redis: one
    /// pipeline each, side by side); this default publishes one after the other.
    async fn publish_all(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        publish_in_order(self, events).await
    }

    /// Up to `max` events of `partition` with position > `after`, without waiting.
    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch>;

    /// Up to `max` events of `channel` with offset > `after`, without waiting: its history.
    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch>;

    /// Epoch, newest and oldest positions of `partition`.
    async fn status(&self, partition: Partition) -> Result<LogStatus>;

    /// Epoch, newest and oldest offsets of `channel`.
    async fn channel_status(&self, channel: &str) -> Result<LogStatus>;

    /// A reader of `partition` for one consumer (each region has its own, so that one
    /// region's blocking read never delays another's, nor any publish).
    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>>;

    /// Apply `updates` (joins and leaves) in their order within each channel, partitions
    /// side by side (see [`presence`] for the contract). Returns the partitions where a join
    /// was refused because its instance holds no lease there (a [`Self::resync`] adds them).
    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>>;

    /// Up to `max` members of `channel`, their count, and where its partition's presence
    /// stream stood.
    async fn members(&self, channel: &str, max: usize) -> Result<Members>;

    /// Renew `instance`'s lease for `ttl` in every partition, reaping the instances whose
    /// lease ran out when `reap` (the caller renewed without a failure for a whole TTL).
    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed>;

    /// Make `instance`'s members of `partition` exactly `live`, and its lease there run for
    /// `ttl` from now (made anew if it had none).
    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()>;

    /// Whether `instance`'s members of `partition` are `count` entries of [`digest`]
    /// (cheap: the broker keeps both as members come and go); `false` when the broker cannot
    /// tell cheaply, which makes the caller [`Self::resync`] instead (the embedded broker:
    /// its resync is in memory).
    ///
    /// [`digest`]: presence::digest
    async fn in_sync(
        &self,
        _partition: Partition,
        _instance: &str,
        _count: usize,
        _digest: u32,
    ) -> Result<bool> {
        Ok(false)
    }

    /// Remove every member of `instance` and its lease (a region that stops cleanly).
    async fn release(&self, instance: &str) -> Result<()>;
}

/// Where a consumer stands in a partition: the last event it took, and of which log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Epoch of the log `position` belongs to (empty: not known, any epoch).
    pub epoch: String,
    /// Position of the last event taken (0: none yet).
    pub position: Offset,
    /// Id and channel of the event at `position`, when the consumer took it (`None` when it
    /// started at the log's end without taking one).
    pub id: Option<(String, String)>,
    /// Position of the last presence change taken (0: none yet).
    pub presence: Offset,
}

impl Cursor {
    /// A cursor after `position` of any epoch, with nothing to check.
    pub fn after(position: Offset) -> Self {
        Cursor {
            position,
            ..Cursor::default()
        }
    }
}

/// A consumer's view of one partition's log: it asks from its own cursor each time.
#[async_trait]
pub trait LogReader: Send + Sync {
    /// Up to `max` events after `from` (and the presence changes after `from.presence`);
    /// waits up to `wait` for the first of either and returns an empty batch (with the
    /// current epoch) when none came.
    ///
    /// When `from.epoch` is set and the log has another epoch, returns at once an empty
    /// batch of that epoch. When the log still has `from.epoch` but no longer holds what the
    /// cursor says was read (its newest position is below `from.position`, or that position
    /// holds another event than `from.id`), the log went back in time: the reader starts a
    /// new epoch that keeps what the log still holds (see the contract), and returns an
    /// empty batch of it.
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch>;
}

/// `events` through `broker.publish`, one after the other; once one fails, the ones after it
/// are not tried (the [`Broker::publish_all`] contract).
pub(crate) async fn publish_in_order<B: Broker + ?Sized>(
    broker: &B,
    events: impl IntoIterator<Item = NewEvent>,
) -> Vec<Result<Published>> {
    let mut results = Vec::new();
    let mut failed: Option<Arc<BrokerError>> = None;
    for event in events {
        if let Some(first) = &failed {
            results.push(Err(Unavailable::NotTried(first.clone()).into()));
            continue;
        }
        let result = broker.publish(event).await;
        if let Err(e) = &result {
            failed = Some(Arc::new(e.clone()));
        }
        results.push(result);
    }
    results
}

/// The `n` results of a batch that failed as a whole with `e`: `e` for the first event, and
/// "not tried" for the ones after it.
pub(crate) fn batch_failed(n: usize, e: BrokerError) -> Vec<Result<Published>> {
    let first = Arc::new(e.clone());
    std::iter::once(Err(e))
        .chain((1..n).map(|_| Err(Unavailable::NotTried(first.clone()).into())))
        .take(n)
        .collect()
}

/// A shared, type-erased broker.
pub type SharedBroker = Arc<dyn Broker>;
