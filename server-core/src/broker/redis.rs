//! The Redis broker: the log as a Redis Stream, shared by every process that points at it.
//!
//! Keys, under a configurable prefix `P`: `P:log` (the stream; entry id `<offset>-0`),
//! `P:ids` (hash: event id → offset, trimmed with the stream), `P:seq` (the offset counter)
//! and `P:epoch`. Publishing is one Lua script (`publish.lua`), so assigning the offset,
//! appending, deduplicating and trimming are one atomic step.

use super::{Batch, Broker, BrokerKind, LogReader, LogStatus, Published};
use crate::error::{BrokerError, Result};
use crate::event::{new_epoch, NewEvent, Offset, StoredEvent};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Script, ScriptInvocation, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to reach and lay out the Redis log.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// Key prefix, so several independent logs can share one Redis.
    pub prefix: String,
    /// Events kept in the stream (and ids kept for deduplication).
    pub history: usize,
    /// How long a request may wait for an answer before it fails as unavailable.
    pub response_timeout: Duration,
}

impl RedisConfig {
    /// Defaults for `url`: prefix `mrs`, history 10,000, 2 s response timeout.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "mrs".into(),
            history: 10_000,
            response_timeout: Duration::from_secs(2),
        }
    }
}

/// The log in Redis. Cheap to clone; clones share one connection for publishes and reads.
#[derive(Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisConfig,
    client: Client,
    keys: Keys,
    // Publishes and history reads: one auto-reconnecting multiplexed connection. Blocking
    // reads never go through it (each reader has its own connection).
    conn: ConnectionManager,
    publish: Script,
    init: Script,
    // The epoch this broker publishes into; replaced when the log turns out to be lost.
    epoch: Mutex<String>,
}

#[derive(Debug, Clone)]
struct Keys {
    log: String,
    ids: String,
    seq: String,
    epoch: String,
}

impl Keys {
    /// `script` with the four log keys bound in the order both Lua scripts declare them
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
    /// Connect, and open the log (creating it with a fresh epoch if it does not exist).
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        let client = Client::open(config.url.as_str())
            .map_err(|e| BrokerError::Unavailable(format!("bad Redis URL {}: {e}", config.url)))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.response_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = client
            .get_connection_manager_with_config(manager_config)
            .await?;
        let p = &config.prefix;
        let keys = Keys {
            log: format!("{p}:log"),
            ids: format!("{p}:ids"),
            seq: format!("{p}:seq"),
            epoch: format!("{p}:epoch"),
        };
        let broker = RedisBroker {
            inner: Arc::new(Inner {
                client,
                keys,
                conn,
                publish: Script::new(include_str!("publish.lua")),
                init: Script::new(include_str!("init.lua")),
                epoch: Mutex::new(String::new()),
                config,
            }),
        };
        broker.open_log().await?;
        Ok(broker)
    }

    /// The configuration this broker was made with.
    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    async fn open_log(&self) -> Result<String> {
        let epoch: String = self
            .inner
            .keys
            .invocation(&self.inner.init)
            .arg(new_epoch())
            .invoke_async(&mut self.inner.conn.clone())
            .await?;
        *self.inner.epoch.lock().unwrap() = epoch.clone();
        Ok(epoch)
    }

    async fn try_publish(&self, epoch: &str, event: &NewEvent, json: &str) -> Result<Value> {
        Ok(self
            .inner
            .keys
            .invocation(&self.inner.publish)
            .arg(epoch)
            .arg(&event.id)
            .arg(self.inner.config.history)
            .arg(json)
            .invoke_async(&mut self.inner.conn.clone())
            .await?)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Redis
    }

    async fn publish(&self, event: NewEvent) -> Result<Published> {
        let json =
            serde_json::to_string(&event).map_err(|e| BrokerError::Protocol(e.to_string()))?;
        // At most two tries: the second only after the log turned out to have a new epoch
        // (it was lost), in which case this never-acked event belongs to the new log.
        for _ in 0..2 {
            let epoch = self.inner.epoch.lock().unwrap().clone();
            let reply = self.try_publish(&epoch, &event, &json).await?;
            let items = as_array(&reply)?;
            match int_at(items, 0)? {
                1 | 2 => {
                    return Ok(Published {
                        offset: int_at(items, 1)? as Offset,
                        duplicate: int_at(items, 0)? == 2,
                    })
                }
                _ => {
                    let now = self.open_log().await?;
                    tracing::warn!(old = %epoch, new = %now, "Redis log epoch changed; publishing into the new log");
                }
            }
        }
        Err(BrokerError::Protocol("the log epoch kept changing".into()))
    }

    async fn read(&self, after: Offset, max: usize) -> Result<Batch> {
        let k = &self.inner.keys;
        let (epoch, entries): (Option<String>, Value) = redis::pipe()
            .get(&k.epoch)
            .cmd("XRANGE")
            .arg(&k.log)
            .arg(format!("{}-0", after + 1))
            .arg("+")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut self.inner.conn.clone())
            .await?;
        Ok(Batch {
            epoch: epoch.unwrap_or_default(),
            events: parse_entries(&entries)?,
        })
    }

    async fn status(&self) -> Result<LogStatus> {
        let k = &self.inner.keys;
        let (epoch, latest, first): (Option<String>, Option<u64>, Value) = redis::pipe()
            .get(&k.epoch)
            .get(&k.seq)
            .cmd("XRANGE")
            .arg(&k.log)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.inner.conn.clone())
            .await?;
        let latest = latest.unwrap_or(0);
        let oldest = parse_entries(&first)?
            .first()
            .map_or(latest + 1, |e| e.offset);
        Ok(LogStatus {
            epoch: epoch.unwrap_or_default(),
            latest,
            oldest,
        })
    }

    async fn reader(&self) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(RedisReader {
            broker: self.clone(),
            conn: None,
        }))
    }
}

/// A reader with its own connection: `XREAD BLOCK` holds a connection for the whole wait,
/// so sharing one would stall every other command queued behind it.
struct RedisReader {
    broker: RedisBroker,
    conn: Option<MultiplexedConnection>,
}

#[async_trait]
impl LogReader for RedisReader {
    async fn next(&mut self, after: Offset, max: usize, wait: Duration) -> Result<Batch> {
        let inner = &self.broker.inner;
        if self.conn.is_none() {
            // The response timeout must outlast the block time, or every idle read would
            // end in a timeout error.
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(inner.config.response_timeout))
                .set_response_timeout(Some(wait + inner.config.response_timeout));
            self.conn = Some(
                inner
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?,
            );
        }
        let conn = self.conn.as_mut().expect("connected above");
        let k = &inner.keys;
        let result: redis::RedisResult<(Option<String>, Value)> = redis::pipe()
            .get(&k.epoch)
            .cmd("XREAD")
            .arg("COUNT")
            .arg(max)
            .arg("BLOCK")
            .arg(wait.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&k.log)
            .arg(format!("{after}-0"))
            .query_async(conn)
            .await;
        let (epoch, reply) = match result {
            Ok(r) => r,
            Err(e) => {
                // Drop the connection; the next call opens a fresh one.
                self.conn = None;
                return Err(e.into());
            }
        };
        let events = match &reply {
            Value::Nil => Vec::new(),
            Value::Array(streams) => match streams.first() {
                Some(Value::Array(pair)) if pair.len() == 2 => parse_entries(&pair[1])?,
                _ => Vec::new(),
            },
            Value::Map(streams) => match streams.first() {
                Some((_, entries)) => parse_entries(entries)?,
                None => Vec::new(),
            },
            other => return Err(protocol(format!("unexpected XREAD reply {other:?}"))),
        };
        let epoch = match epoch {
            Some(epoch) => epoch,
            // No epoch: the log was lost (Redis restarted empty). Start the new log now, so
            // every region learns of the loss at once rather than at the next publish.
            None => self.broker.open_log().await?,
        };
        Ok(Batch { epoch, events })
    }
}

fn protocol(msg: String) -> BrokerError {
    BrokerError::Protocol(msg)
}

fn as_array(v: &Value) -> Result<&[Value]> {
    match v {
        Value::Array(items) => Ok(items),
        other => Err(protocol(format!("expected an array, got {other:?}"))),
    }
}

fn int_at(items: &[Value], i: usize) -> Result<i64> {
    match items.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(protocol(format!("expected an integer, got {other:?}"))),
    }
}

fn bytes(v: &Value) -> Result<&[u8]> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.as_bytes()),
        other => Err(protocol(format!("expected a string, got {other:?}"))),
    }
}

/// Parse `XRANGE`/`XREAD` entries: `[[id, [field, value, …]], …]`.
fn parse_entries(v: &Value) -> Result<Vec<StoredEvent>> {
    let entries = match v {
        Value::Nil => return Ok(Vec::new()),
        v => as_array(v)?,
    };
    entries
        .iter()
        .map(|entry| {
            let pair = as_array(entry)?;
            let (id, fields) = match pair {
                [id, fields] => (bytes(id)?, as_array(fields)?),
                _ => return Err(protocol("malformed stream entry".into())),
            };
            let offset = std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.split('-').next())
                .and_then(|s| s.parse::<Offset>().ok())
                .ok_or_else(|| protocol("stream entry id is not <offset>-0".into()))?;
            let (mut stored_at, mut data) = (None, None);
            for kv in fields.chunks(2) {
                if let [k, v] = kv {
                    match bytes(k)? {
                        b"s" => {
                            stored_at = std::str::from_utf8(bytes(v)?)
                                .ok()
                                .and_then(|s| s.parse().ok())
                        }
                        b"d" => data = Some(bytes(v)?),
                        _ => {}
                    }
                }
            }
            let event: NewEvent =
                serde_json::from_slice(data.ok_or_else(|| protocol("entry has no data".into()))?)
                    .map_err(|e| protocol(format!("entry data is not an event: {e}")))?;
            Ok(StoredEvent {
                offset,
                stored_at: stored_at.unwrap_or(0),
                event,
            })
        })
        .collect()
}
