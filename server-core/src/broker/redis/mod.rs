//! The Redis broker: the log as a Redis Stream, shared by every process that points at it.
//!
//! Keys, under a configurable prefix `P`, all with the hash tag `{P}` so that one log lives in
//! one Cluster slot and the Lua scripts may touch all of them: `{P}:log` (the stream; entry id
//! `<offset>-0`, fields `i` the event's id, `s` its store time, `d` the rest of it as JSON),
//! `{P}:ids` (hash: event id → offset, trimmed with the stream), `{P}:seq` (the
//! offset counter) and `{P}:epoch`. Publishing is one Lua script (`publish.lua`), so assigning
//! the offset, appending, deduplicating and trimming are one atomic step.
//!
//! # A log that goes back in time
//! Redis may come back older than it was: restarted from an older snapshot, or failed over to
//! a replica that lagged. Its epoch key survives, so the epoch alone does not tell. Each broker
//! therefore remembers the newest `(offset, id)` it knows the log held (acked to a publisher,
//! read by a region, or seen by `status`), and every publish checks that the log still holds
//! it; every live read checks the same of the reader's cursor. When it does not, the broker
//! starts a new history (`rewind.lua`: a new epoch over what the log still holds), guarded by
//! the old epoch so that regions noticing at once agree on one. Regions then announce the new
//! epoch to their clients with what may have been lost. No publish is ever acked into a log
//! known to be rewound.

mod config;
mod connect;
mod entries;
mod publish;
mod reader;
mod settings;

pub use self::config::{Acks, BadAcks, RedisConfig};
pub use self::connect::{KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES, TCP_USER_TIMEOUT};

use self::connect::{RedisConn, SharedConn, Target};
use self::entries::parse_entries;
use self::publish::ScriptReply;
use super::{Batch, Broker, BrokerKind, LogReader, LogStatus, Published};
use crate::error::{Protocol, Result};
use crate::event::{new_epoch, NewEvent, Offset};
use async_trait::async_trait;
use redis::{RedisResult, Script, ScriptInvocation, Value};
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

/// The log in Redis. Cheap to clone; clones share one connection for publishes and reads.
#[derive(Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisConfig,
    target: Target,
    keys: Keys,
    // Publishes and history reads: one reconnecting multiplexed connection. Blocking reads
    // never go through it (each reader has its own connection).
    conn: SharedConn,
    publish: Script,
    init: Script,
    rewind: Script,
    // A std Mutex: held for a copy or a compare only, never across an await.
    state: Mutex<LogState>,
    // What `settings::check` found that weakens the log, set once at connect.
    warnings: OnceLock<Vec<String>>,
}

/// What this broker knows of the log.
#[derive(Debug, Clone, Default)]
struct LogState {
    /// The epoch this broker publishes into; replaced when the log turns out to be lost.
    epoch: String,
    /// The newest `(offset, id)` known stored in that epoch, checked by every publish and
    /// live read: a log that no longer holds it went back in time.
    known: Option<(Offset, String)>,
}

#[derive(Debug, Clone)]
struct Keys {
    log: String,
    ids: String,
    seq: String,
    epoch: String,
}

impl Keys {
    fn new(prefix: &str) -> Keys {
        Keys {
            log: format!("{{{prefix}}}:log"),
            ids: format!("{{{prefix}}}:ids"),
            seq: format!("{{{prefix}}}:seq"),
            epoch: format!("{{{prefix}}}:epoch"),
        }
    }

    /// `script` with the four log keys bound in the order every Lua script declares them
    /// (`KEYS[1]` stream, `[2]` ids, `[3]` offset counter, `[4]` epoch).
    fn invocation<'a>(&'a self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.log)
            .key(&self.ids)
            .key(&self.seq)
            .key(&self.epoch);
        invocation
    }
}

impl RedisBroker {
    /// Connect, check that Redis is set up so the log can work (refusing settings that
    /// break it, with what to change), and open the log (creating it with a fresh epoch if
    /// it does not exist).
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        let target = Target::new(&config)?;
        let broker = RedisBroker {
            inner: Arc::new(Inner {
                target,
                keys: Keys::new(&config.prefix),
                conn: SharedConn::new(),
                publish: Script::new(include_str!("../publish.lua")),
                init: Script::new(include_str!("../init.lua")),
                rewind: Script::new(include_str!("../rewind.lua")),
                state: Mutex::new(LogState::default()),
                warnings: OnceLock::new(),
                config,
            }),
        };
        let warnings = settings::check(&broker).await?;
        for warning in &warnings {
            tracing::debug!(url = %broker.inner.config.url, %warning, "Redis setting");
        }
        let _ = broker.inner.warnings.set(warnings);
        broker.open_log().await?;
        Ok(broker)
    }

    /// What the settings check at connect found that weakens the log (e.g. no
    /// persistence), in words for the operator; empty when nothing.
    pub fn warnings(&self) -> &[String] {
        self.inner.warnings.get().map_or(&[], Vec::as_slice)
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

    fn state(&self) -> LogState {
        self.inner.state.lock().unwrap().clone()
    }

    /// Follow `epoch` from now on (forgetting what was known of another one).
    fn adopt(&self, epoch: &str) {
        let mut state = self.inner.state.lock().unwrap();
        if state.epoch != epoch {
            *state = LogState {
                epoch: epoch.into(),
                known: None,
            };
        }
    }

    /// The log of `epoch` holds `id` at `offset`: remember it if it is the newest known.
    fn note(&self, epoch: &str, offset: Offset, id: &str) {
        let mut state = self.inner.state.lock().unwrap();
        if state.epoch == epoch && state.known.as_ref().is_none_or(|(o, _)| *o < offset) {
            state.known = Some((offset, id.into()));
        }
    }

    async fn open_log(&self) -> Result<String> {
        let mut invocation = self.inner.keys.invocation(&self.inner.init);
        invocation.arg(new_epoch());
        let invocation = &invocation;
        let epoch: String = self
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        self.adopt(&epoch);
        Ok(epoch)
    }

    /// The log of `rewound` went back in time: start a new history (or join the one another
    /// region just started) and return its epoch.
    async fn start_new_history(&self, rewound: &str) -> Result<String> {
        let fresh = new_epoch();
        let mut invocation = self.inner.keys.invocation(&self.inner.rewind);
        invocation.arg(rewound).arg(&fresh);
        let invocation = &invocation;
        let now: String = self
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        if now.is_empty() {
            return self.open_log().await;
        }
        if now == fresh {
            tracing::warn!(old = %rewound, new = %now, "the Redis log went back in time (restart from an older snapshot, or failover to a lagging replica); started a new history");
        }
        self.adopt(&now);
        Ok(now)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Redis
    }

    async fn publish(&self, event: NewEvent) -> Result<Published> {
        let json = serde_json::to_string(&event.body()).map_err(|e| Protocol::Body(Arc::new(e)))?;
        // At most three tries: the others only after the log turned out to have a new epoch
        // (it was lost, or went back in time), in which case this never-acked event belongs
        // to the new log.
        for _ in 0..3 {
            let state = self.state();
            match self.try_publish(&state, &event, &json).await? {
                ScriptReply::Stored(published) => {
                    self.note(&state.epoch, published.offset, &event.id);
                    return Ok(published);
                }
                ScriptReply::WentBack => {
                    self.start_new_history(&state.epoch).await?;
                }
                ScriptReply::OtherEpoch => {
                    let now = self.open_log().await?;
                    tracing::warn!(old = %state.epoch, new = %now, "Redis log epoch changed; publishing into the new log");
                }
            }
        }
        Err(Protocol::EpochChurn.into())
    }

    async fn publish_all(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        match events.len() {
            0 => Vec::new(),
            1 => vec![self.publish(events.into_iter().next().expect("one")).await],
            _ => self.publish_pipelined(events).await,
        }
    }

    async fn read(&self, after: Offset, max: usize) -> Result<Batch> {
        let k = &self.inner.keys;
        let mut pipe = redis::pipe();
        pipe.get(&k.epoch)
            .cmd("XRANGE")
            .arg(&k.log)
            .arg(format!("{}-0", after + 1))
            .arg("+")
            .arg("COUNT")
            .arg(max);
        let pipe = &pipe;
        let (epoch, entries): (Option<String>, Value) = self
            .with_conn(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        Ok(Batch {
            epoch: epoch.unwrap_or_default(),
            events: parse_entries(&entries)?,
        })
    }

    async fn status(&self) -> Result<LogStatus> {
        let k = &self.inner.keys;
        let mut pipe = redis::pipe();
        pipe.get(&k.epoch)
            .get(&k.seq)
            .cmd("XRANGE")
            .arg(&k.log)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .cmd("XREVRANGE")
            .arg(&k.log)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1);
        let pipe = &pipe;
        let (epoch, latest, first, newest): (Option<String>, Option<u64>, Value, Value) = self
            .with_conn(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        let epoch = epoch.unwrap_or_default();
        let latest = latest.unwrap_or(0);
        let oldest = parse_entries(&first)?
            .first()
            .map_or(latest + 1, |e| e.offset);
        // What a broker that knows nothing yet checks from now on. Never more than that: a
        // newer event seen here might be one of a log that went back in time and was refilled,
        // which only the check against what was known can tell.
        if self.state().known.is_none() {
            if let Some(newest) = parse_entries(&newest)?.first() {
                self.note(&epoch, newest.offset, &newest.event.id);
            }
        }
        Ok(LogStatus {
            epoch,
            latest,
            oldest,
        })
    }

    async fn reader(&self) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(reader::RedisReader::new(self.clone())))
    }
}
