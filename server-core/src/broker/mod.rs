//! The broker: one global, totally ordered, bounded event log shared by every region.
//!
//! # Contract
//! Every implementation ([`MemoryBroker`], [`RedisBroker`]) passes the same suite
//! (`tests/broker_contract.rs`) and promises:
//!
//! - **Atomic publish.** [`Broker::publish`] assigns the next offset and appends the event to
//!   the history in one step: a reader never sees an offset without its event, nor two events
//!   at one offset.
//! - **Total order.** Offsets start at 1 and grow by exactly 1 per stored event. Every reader
//!   sees the same event at the same offset.
//! - **Idempotent by id.** Publishing an id that is still in the history stores nothing and
//!   returns the offset it was first stored at, with `duplicate = true`. Once an event has
//!   fallen out of the bounded history, its id is forgotten too (the dedup window is the
//!   history window).
//! - **Bounded history.** The log keeps the latest `history` events; older ones are dropped
//!   with their ids. A read that asks for dropped offsets gets what is left, starting at the
//!   oldest kept event, so the caller can see the gap (`first offset > after + 1`).
//! - **Catch-up reads.** [`LogReader::next`] returns the events after a given offset; a
//!   reader that was cut off and comes back asks from its last offset and loses nothing that
//!   is still in the history.
//! - **Epoch.** A log has a random epoch set when it is created. If the backing store loses
//!   the log (Redis restarted without persistence), a new log with a new epoch starts and
//!   readers see the new epoch on their next read; offsets of different epochs are unrelated.
//! - **Never back in time silently.** If the store comes back older than it was (Redis
//!   restarted from an older snapshot, a failover to a replica that lagged), the broker
//!   notices on its next publish (the log no longer holds the newest event this broker saw
//!   stored) or live read (the log no longer holds the reader's cursor), and starts a new
//!   epoch atomically, once for all the processes that notice. The new epoch keeps what the
//!   log still holds, at the same offsets, and new events continue after it; offsets that
//!   were handed out before and lost are handed out again only in the new epoch. No publish
//!   is acked into a log known to have gone back. Each region then works out how much of
//!   what it delivered the new epoch still holds, continues from there, and announces the
//!   rest as possibly lost (`epoch` frame with `lost_after`).
//! - **Disconnects.** Operations fail with [`BrokerError::Unavailable`] while the store is
//!   unreachable and succeed again once it is back; nothing is retried silently inside
//!   `publish` (the caller decides, and may retry with the same id safely).

mod memory;
mod redis;

pub use self::memory::MemoryBroker;
pub use self::redis::{
    Acks, BadAcks, RedisBroker, RedisConfig, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES,
    TCP_USER_TIMEOUT,
};

pub use wire::BrokerKind;

use crate::error::{BrokerError, Result, Unavailable};
use crate::event::{NewEvent, Offset, StoredEvent};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Result of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Offset the event is stored at.
    pub offset: Offset,
    /// True when the id was already stored: nothing new was appended.
    pub duplicate: bool,
}

/// A slice of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Epoch of the log the events belong to.
    pub epoch: String,
    /// Events in offset order, each with offset greater than the `after` asked for.
    pub events: Vec<StoredEvent>,
}

/// Where the log stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStatus {
    /// Epoch of the log.
    pub epoch: String,
    /// Offset of the newest event, 0 when empty.
    pub latest: Offset,
    /// Offset of the oldest event still in the history, `latest + 1` when empty.
    pub oldest: Offset,
}

/// One global event log. See the module docs for the contract.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Which kind of broker this is.
    fn kind(&self) -> BrokerKind;

    /// Store `event` at the next offset, or return the offset its id already has.
    async fn publish(&self, event: NewEvent) -> Result<Published>;

    /// Store `events` in their order, one result per event in the same order: each is
    /// stored after the ones before it, never before. Once one fails, the ones after it are
    /// not tried (they fail too), so what is stored is always a prefix of the batch in order,
    /// plus duplicates; retrying the failed ones by id, in order, is safe.
    ///
    /// Brokers that can send the whole batch in one round trip do (Redis: one pipeline);
    /// this default publishes one after the other.
    async fn publish_all(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        publish_in_order(self, events).await
    }

    /// Up to `max` events with offset > `after`, without waiting.
    async fn read(&self, after: Offset, max: usize) -> Result<Batch>;

    /// Epoch, newest and oldest offsets of the log.
    async fn status(&self) -> Result<LogStatus>;

    /// A reader for one consumer (each region has its own, so that one region's blocking
    /// read never delays another's, nor any publish).
    async fn reader(&self) -> Result<Box<dyn LogReader>>;
}

/// Where a consumer stands in the log: the last event it took, and of which log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Epoch of the log `offset` belongs to (empty: not known, any epoch).
    pub epoch: String,
    /// Offset of the last event taken (0: none yet).
    pub offset: Offset,
    /// Id of the event at `offset`, when the consumer took it (`None` when it started at
    /// the log's end without taking one).
    pub id: Option<String>,
}

impl Cursor {
    /// A cursor after `offset` of any epoch, with nothing to check.
    pub fn after(offset: Offset) -> Self {
        Cursor {
            offset,
            ..Cursor::default()
        }
    }
}

/// A consumer's view of the log: it asks from its own cursor each time.
#[async_trait]
pub trait LogReader: Send {
    /// Up to `max` events after `from`; waits up to `wait` for the first one and returns an
    /// empty batch (with the current epoch) when none came.
    ///
    /// When `from.epoch` is set and the log has another epoch, returns at once an empty
    /// batch of that epoch. When the log still has `from.epoch` but no longer holds what the
    /// cursor says was read (its newest offset is below `from.offset`, or `from.offset`
    /// holds another id than `from.id`), the log went back in time: the reader starts a new
    /// epoch that keeps what the log still holds (see the contract), and returns an empty
    /// batch of it.
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
