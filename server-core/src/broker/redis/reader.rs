//! A region's live read of the Redis log: `XREAD BLOCK` on a connection of its own, with a
//! check, on every read, that the log has not gone back in time.

use super::entries::{parse_entries, parse_xread};
use super::{RedisBroker, RedisConn};
use crate::broker::{Batch, Cursor, LogReader};
use crate::error::Result;
use async_trait::async_trait;
use redis::Value;
use std::time::Duration;

/// A reader with its own connection: `XREAD BLOCK` holds a connection for the whole wait,
/// so sharing one would stall every other command queued behind it.
pub(super) struct RedisReader {
    broker: RedisBroker,
    conn: Option<RedisConn>,
}

impl RedisReader {
    pub(super) fn new(broker: RedisBroker) -> Self {
        RedisReader { broker, conn: None }
    }
}

#[async_trait]
impl LogReader for RedisReader {
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch> {
        let inner = &self.broker.inner;
        if self.conn.is_none() {
            // The response timeout must outlast the block time, or every idle read would
            // end in a timeout error.
            let timeout = inner.config.response_timeout;
            self.conn = Some(inner.target.connect(timeout, wait + timeout).await?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let after = from.offset;
        let k = &inner.keys;
        // The epoch, the log's end and the entry at the cursor are read before the blocking
        // read, in one round trip: what the cursor says was read must still be there.
        let result: redis::RedisResult<(Option<String>, Option<u64>, Value, Value)> = redis::pipe()
            .get(&k.epoch)
            .get(&k.seq)
            .cmd("XRANGE")
            .arg(&k.log)
            .arg(format!("{after}-0"))
            .arg(format!("{after}-0"))
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
        let (epoch, seq, at, reply) = match result {
            Ok(r) => r,
            Err(e) => {
                // Drop the connection; the next call opens a fresh one.
                self.conn = None;
                return Err(e.into());
            }
        };
        let Some(epoch) = epoch else {
            // No epoch: the log was lost (Redis restarted empty). Start the new log now, so
            // every region learns of the loss at once rather than at the next publish.
            let epoch = self.broker.open_log().await?;
            return Ok(Batch {
                epoch,
                events: Vec::new(),
            });
        };
        if !from.epoch.is_empty() && epoch != from.epoch {
            // Another log than the cursor's: the caller starts over in it.
            self.broker.adopt(&epoch);
            return Ok(Batch {
                epoch,
                events: Vec::new(),
            });
        }
        let at = parse_entries(&at)?.into_iter().next();
        let end = seq.unwrap_or(0);
        let other_id = match (&at, &from.id) {
            (Some(e), Some(id)) => e.event.id != *id,
            _ => false,
        };
        if !from.epoch.is_empty() && (end < after || other_id) {
            tracing::warn!(%epoch, cursor = after, log_end = end, other_id, "the log no longer holds what this reader read: it went back in time");
            let epoch = self.broker.start_new_history(&epoch).await?;
            return Ok(Batch {
                epoch,
                events: Vec::new(),
            });
        }
        let events = parse_xread(&reply)?;
        if let Some(last) = events.last() {
            self.broker.note(&epoch, last.offset, &last.event.id);
        }
        Ok(Batch { epoch, events })
    }
}
