//! Reads that do not wait: a partition's log by position, a channel's history by offset, and
//! where each stands.

use super::entries::{as_array, bytes, entry_number, parse_entries, unexpected};
use super::log::Known;
use super::RedisBroker;
use crate::broker::partition::Partition;
use crate::broker::{Batch, Broker, LogStatus};
use crate::error::Result;
use crate::event::Offset;
use redis::Value;

impl RedisBroker {
    /// Up to `max` events of `partition` after position `after`, with its epoch.
    pub(super) async fn read_partition(
        &self,
        partition: Partition,
        after: Offset,
        max: usize,
    ) -> Result<Batch> {
        let k = self.keys(partition);
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
        Ok(Batch::of(
            epoch.unwrap_or_default(),
            parse_entries(&entries)?,
        ))
    }

    /// Up to `max` events of `channel` after offset `after` (`history.lua`: one round
    /// trip), with its partition's epoch.
    pub(super) async fn read_channel(
        &self,
        channel: &str,
        after: Offset,
        max: usize,
    ) -> Result<Batch> {
        let k = self.keys(self.partition_of(channel));
        let mut invocation = k.invocation(&self.inner.scripts.history);
        invocation.key(k.channel(channel)).arg(after).arg(max);
        let invocation = &invocation;
        let reply: Value = self
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        match as_array(&reply)? {
            [epoch, entries] => Ok(Batch::of(
                String::from_utf8_lossy(bytes(epoch)?).into_owned(),
                parse_entries(entries)?,
            )),
            _ => Err(unexpected("[epoch, entries] from history.lua", &reply)),
        }
    }

    /// Epoch, newest and oldest positions of `partition`.
    pub(super) async fn partition_status(&self, partition: Partition) -> Result<LogStatus> {
        let k = self.keys(partition);
        let mut pipe = redis::pipe();
        pipe.get(&k.epoch)
            .get(&k.seq)
            .get(&k.pseq)
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
        type Reply = (Option<String>, Option<u64>, Option<u64>, Value, Value);
        let (epoch, latest, presence, first, newest): Reply = self
            .with_conn(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        let epoch = epoch.unwrap_or_default();
        let latest = latest.unwrap_or(0);
        let oldest = parse_entries(&first)?
            .first()
            .map_or(latest + 1, |e| e.position);
        // What a broker that knows nothing yet checks from now on. Never more than that: a
        // newer event seen here might be one of a log that went back in time and was
        // refilled, which only the check against what was known can tell.
        if self.state(partition).known.is_none() {
            if let Some(newest) = parse_entries(&newest)?.into_iter().next() {
                let known = Known {
                    position: newest.position,
                    id: newest.event.id,
                    channel: newest.event.channel,
                };
                self.note(partition, &epoch, known);
            }
        }
        Ok(LogStatus {
            epoch,
            latest,
            oldest,
            presence: presence.unwrap_or(0),
        })
    }

    /// Epoch (its partition's), newest and oldest offsets of `channel`.
    pub(super) async fn status_of_channel(&self, channel: &str) -> Result<LogStatus> {
        let k = self.keys(self.partition_of(channel));
        let mut pipe = redis::pipe();
        pipe.get(&k.epoch)
            .hget(&k.chseq, channel)
            .get(&k.pseq)
            .cmd("XRANGE")
            .arg(k.channel(channel))
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1);
        let pipe = &pipe;
        type Reply = (Option<String>, Option<u64>, Option<u64>, Value);
        let (epoch, latest, presence, first): Reply = self
            .with_conn(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        let latest = latest.unwrap_or(0);
        let oldest = match first {
            Value::Array(entries) if !entries.is_empty() => match as_array(&entries[0])? {
                [id, _] => entry_number(bytes(id)?)?,
                _ => return Err(unexpected("a stream entry", &entries[0])),
            },
            _ => latest + 1,
        };
        Ok(LogStatus {
            epoch: epoch.unwrap_or_default(),
            latest,
            oldest,
            presence: presence.unwrap_or(0),
        })
    }
}
