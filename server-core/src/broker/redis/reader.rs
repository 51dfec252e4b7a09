//! A region's live read of one partition: `XREAD BLOCK` on a connection of its own, with a
//! check, on every read, that the log has not gone back in time.

use super::entries::{parse_entries, parse_xread};
use super::log::Known;
use super::{RedisBroker, RedisConn};
use crate::broker::partition::Partition;
use crate::broker::presence::PresenceChange;
use crate::broker::{Batch, Cursor, LogReader};
use crate::error::Result;
use crate::event::StoredEvent;
use async_trait::async_trait;
use redis::Value;
use std::time::Duration;

/// A reader with its own connection: `XREAD BLOCK` holds a connection for the whole wait,
/// so sharing one would stall every other command queued behind it.
pub(super) struct RedisReader {
    broker: RedisBroker,
    partition: Partition,
    conn: Option<RedisConn>,
}

/// What one round trip of the reader found.
struct Read {
    epoch: Option<String>,
    /// The newest position of the log, and of its presence stream.
    end: u64,
    presence_end: u64,
    /// The entry at the cursor's position, if the log holds one.
    at: Option<StoredEvent>,
    events: Vec<StoredEvent>,
    presence: Vec<PresenceChange>,
}

impl RedisReader {
    pub(super) fn new(broker: RedisBroker, partition: Partition) -> Self {
        RedisReader {
            broker,
            partition,
            conn: None,
        }
    }

    /// One round trip: the epoch, the log's end and the entry at the cursor (what the cursor
    /// says was read must still be there), then the blocking read after it.
    async fn round_trip(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Read> {
        let inner = &self.broker.inner;
        if self.conn.is_none() {
            // The response timeout must outlast the block time, or every idle read would
            // end in a timeout error.
            let timeout = inner.config.response_timeout;
            self.conn = Some(inner.target.connect(timeout, wait + timeout).await?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let after = from.position;
        let k = self.broker.keys(self.partition);
        type Reply = (Option<String>, Option<u64>, Option<u64>, Value, Value);
        let result: redis::RedisResult<Reply> = redis::pipe()
            .get(&k.epoch)
            .get(&k.seq)
            .get(&k.pseq)
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
            .arg(&k.plog)
            .arg(format!("{after}-0"))
            .arg(format!("{}-0", from.presence))
            .query_async(conn)
            .await;
        let (epoch, seq, pseq, at, reply) = result.inspect_err(|_| {
            // Drop the connection; the next call opens a fresh one.
            self.conn = None;
        })?;
        let (events, presence) = parse_xread(&reply, &k.log, &k.plog)?;
        Ok(Read {
            epoch,
            end: seq.unwrap_or(0),
            presence_end: pseq.unwrap_or(0),
            at: parse_entries(&at)?.into_iter().next(),
            events,
            presence,
        })
    }
}

#[async_trait]
impl LogReader for RedisReader {
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch> {
        let read = self.round_trip(from, max, wait).await?;
        let (broker, p) = (&self.broker, self.partition);
        let empty = |epoch| Batch::of(epoch, Vec::new());
        let Some(epoch) = read.epoch else {
            // No epoch: the log was lost (Redis restarted empty). Start the new log now, so
            // every region learns of the loss at once rather than at the next publish.
            return Ok(empty(broker.open_log(p).await?));
        };
        if !from.epoch.is_empty() && epoch != from.epoch {
            // Another log than the cursor's: the caller starts over in it.
            broker.adopt(p, &epoch);
            return Ok(empty(epoch));
        }
        let other_event = match (&read.at, &from.id) {
            (Some(e), Some((id, channel))) => e.event.id != *id || e.event.channel != *channel,
            _ => false,
        };
        let presence_back = read.presence_end < from.presence;
        if !from.epoch.is_empty() && (read.end < from.position || other_event || presence_back) {
            tracing::warn!(partition = p, %epoch, cursor = from.position, log_end = read.end, other_event, presence_back, "the log no longer holds what this reader read: it went back in time");
            return Ok(empty(broker.start_new_history(p, &epoch).await?));
        }
        if let Some(last) = read.events.last() {
            let known = Known {
                position: last.position,
                id: last.event.id.clone(),
                channel: last.event.channel.clone(),
            };
            broker.note(p, &epoch, known);
        }
        Ok(Batch {
            epoch,
            events: read.events,
            presence: read.presence,
        })
    }
}
