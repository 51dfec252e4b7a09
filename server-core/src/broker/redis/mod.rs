//! The Redis broker: each partition of the log a Redis Stream under a hash tag of its own
//! ([`keys`]), shared by every process that points at it. Publishing is one Lua script per
//! event (`publish.lua`), so assigning the position and the channel offset, appending,
//! indexing the channel, deduplicating and trimming are one atomic step on one shard.
//!
//! # A log that goes back in time
//! Redis may come back older than it was: restarted from an older snapshot, or failed over to
//! a replica that lagged. Its epoch keys survive, so the epoch alone does not tell. Each
//! broker therefore remembers, per partition, the newest event it knows the log held (acked
//! to a publisher, read by a region, or seen by `status`), and every publish checks that the
//! log still holds it; every live read checks the same of the reader's cursor. When it does
//! not, the broker starts a new history of that partition (`rewind.lua`: a new epoch over
//! what the log still holds), guarded by the old epoch so that regions noticing at once agree
//! on one. Regions then announce the new epoch to the subscribers of the partition's channels
//! with what may have been lost. No publish is ever acked into a log known to be rewound.
//!
//! # A log written by the version before channels
//! Its keys (`{P}:log`, `{P}:seq`, …) are not this version's: the first start opens new
//! partitions with new epochs, so a client resuming with the old epoch is told (an `epoch`
//! frame) and replayed the new log from its start. The old keys are left alone.

mod config;
mod connect;
mod entries;
mod keys;
mod log;
mod presence;
mod publish;
mod queries;
mod reader;
mod settings;

pub use self::config::{Acks, BadAcks, RedisConfig};
pub use self::connect::{KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES, TCP_USER_TIMEOUT};

use self::connect::{RedisConn, SharedConn, Target};
use self::keys::Keys;
use self::log::LogState;
use super::partition::Partition;
use super::presence::{Members, Membership, Renewed, Update};
use super::{Batch, Broker, BrokerKind, LogReader, LogStatus, Published};
use crate::error::Result;
use crate::event::{NewEvent, Offset};
use async_trait::async_trait;
use redis::{RedisResult, Script};
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The log in Redis. Cheap to clone; clones share one connection for publishes and reads.
#[derive(Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisConfig,
    target: Target,
    /// The keys of each partition, by partition.
    partitions: Vec<Keys>,
    // Publishes and history reads: one reconnecting multiplexed connection. Blocking reads
    // never go through it (each reader has its own connection).
    conn: SharedConn,
    scripts: Scripts,
    /// Per partition: whether the publish script is known to be loaded where the
    /// partition lives (see `publish::run_pipeline`).
    publish_loaded: Vec<AtomicBool>,
    // A std Mutex: held for a copy or a compare only, never across an await.
    state: Mutex<Vec<LogState>>,
    // What `settings::check` found that weakens the log, set once at connect.
    warnings: OnceLock<Vec<String>>,
}

const PUBLISH_LUA: &str = include_str!("../publish.lua");

/// The Lua scripts of the log, each loaded once per connection when first used.
struct Scripts {
    publish: Script,
    /// The publish script's source, for `SCRIPT LOAD` ahead of a pipeline.
    publish_source: &'static str,
    init: Script,
    rewind: Script,
    history: Script,
    presence: Script,
    members: Script,
}

impl RedisBroker {
    /// Connect, check that Redis is set up so the log can work (refusing settings that
    /// break it, with what to change), check that the log is split into as many partitions
    /// as configured, and open every partition (creating it with a fresh epoch if it does
    /// not exist).
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        let target = Target::new(&config)?;
        let partitions = (0..config.partitions.max(1))
            .map(|p| Keys::new(&config.prefix, p, config.partitions.max(1)))
            .collect::<Vec<_>>();
        let broker = RedisBroker {
            inner: Arc::new(Inner {
                target,
                state: Mutex::new(vec![LogState::default(); partitions.len()]),
                publish_loaded: partitions.iter().map(|_| AtomicBool::new(false)).collect(),
                partitions,
                conn: SharedConn::new(),
                scripts: Scripts {
                    publish: Script::new(PUBLISH_LUA),
                    publish_source: PUBLISH_LUA,
                    init: Script::new(include_str!("../init.lua")),
                    rewind: Script::new(include_str!("../rewind.lua")),
                    history: Script::new(include_str!("../history.lua")),
                    presence: Script::new(include_str!("../presence.lua")),
                    members: Script::new(include_str!("../members.lua")),
                },
                warnings: OnceLock::new(),
                config,
            }),
        };
        let warnings = settings::check(&broker).await?;
        for warning in &warnings {
            tracing::debug!(url = %broker.inner.config.url, %warning, "Redis setting");
        }
        let _ = broker.inner.warnings.set(warnings);
        broker.check_partitions().await?;
        broker.open_logs().await?;
        Ok(broker)
    }

    /// What the settings check at connect found that weakens the log (e.g. no
    /// persistence), in words for the operator; empty when nothing.
    pub fn warnings(&self) -> &[String] {
        self.inner.warnings.get().map_or(&[], Vec::as_slice)
    }

    /// Where `partition` lives in Redis, for operators (and fault tests): its hash tag `T`,
    /// whose keys are `{T}:log`, `{T}:seq`, `{T}:ids`, `{T}:epoch`, `{T}:chseq` and one
    /// `{T}:ch:<channel>` per channel (see the `keys` module).
    pub fn partition_tag(&self, partition: Partition) -> String {
        let log = &self.keys(partition).log;
        log[1..log.find('}').expect("a hash tag")].to_owned()
    }

    /// The keys of `partition`.
    fn keys(&self, partition: Partition) -> &Keys {
        &self.inner.partitions[usize::from(partition) % self.inner.partitions.len()]
    }

    /// Run one request on the shared connection; a failure that puts the connection in
    /// doubt replaces it for the next request. A request that found the connection already
    /// closed (Redis restarted, or failed over, since its last use) is sent once more on a
    /// fresh one: every request here is safe to repeat (reads, and publishes by id). One
    /// that timed out is not: it already waited its full timeout.
    async fn with_conn<T, F, Fut>(&self, request: F) -> Result<T>
    where
        F: Fn(RedisConn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let inner = &self.inner;
        let mut tries = 0;
        loop {
            tries += 1;
            let (generation, conn) = inner.conn.get(&inner.target, &inner.config).await?;
            match request(conn).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    inner.conn.failed(generation, &e).await;
                    if tries == 1 && connect::was_closed(&e) {
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Redis
    }

    fn partitions(&self) -> Partition {
        self.inner.partitions.len() as Partition
    }

    async fn publish(&self, event: NewEvent) -> Result<Published> {
        self.publish_one(event).await
    }

    async fn publish_all(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        match events.len() {
            0 => Vec::new(),
            1 => vec![
                self.publish_one(events.into_iter().next().expect("one"))
                    .await,
            ],
            _ => self.publish_by_partition(events).await,
        }
    }

    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch> {
        self.read_partition(partition, after, max).await
    }

    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch> {
        self.read_channel(channel, after, max).await
    }

    async fn status(&self, partition: Partition) -> Result<LogStatus> {
        self.partition_status(partition).await
    }

    async fn channel_status(&self, channel: &str) -> Result<LogStatus> {
        self.status_of_channel(channel).await
    }

    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(reader::RedisReader::new(self.clone(), partition)))
    }

    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        self.presence_update(updates).await
    }

    async fn members(&self, channel: &str, max: usize) -> Result<Members> {
        self.presence_members(channel, max).await
    }

    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed> {
        self.presence_renew(instance, ttl, reap).await
    }

    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        self.presence_resync(partition, instance, ttl, live).await
    }

    async fn in_sync(
        &self,
        partition: Partition,
        instance: &str,
        count: usize,
        digest: u32,
    ) -> Result<bool> {
        self.presence_in_sync(partition, instance, count, digest)
            .await
    }

    async fn release(&self, instance: &str) -> Result<()> {
        self.presence_release(instance).await
    }
}
