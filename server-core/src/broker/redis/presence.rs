//! Presence on Redis: `presence.lua` for every change of a partition's members and leases
//! (atomic with its entry in the partition's presence stream), `members.lua` to list a
//! channel's members with where the stream stood.

use super::entries::{as_array, bytes, int_at, unexpected};
use super::RedisBroker;
use crate::broker::partition::Partition;
use crate::broker::presence::{self, Members, Membership, Renewed, Update, STREAM_BOUND};
use crate::broker::Broker;
use crate::error::{Protocol, Result};
use redis::Value;
use std::sync::Arc;
use std::time::Duration;
use wire::Member;

impl RedisBroker {
    /// Run `presence.lua` in `partition` with `op` and its `args`; at most twice: again
    /// after the partition turned out to have another epoch (every operation is idempotent).
    async fn presence_op(&self, partition: Partition, op: &str, args: &[String]) -> Result<Value> {
        for _ in 0..2 {
            let state = self.state(partition);
            let k = self.keys(partition);
            let mut invocation = self.inner.scripts.presence.prepare_invoke();
            invocation
                .key(&k.epoch)
                .key(&k.plog)
                .key(&k.pseq)
                .key(&k.leases)
                .key(&k.pch)
                .arg(&state.epoch)
                .arg(&k.prefix)
                .arg(STREAM_BOUND)
                .arg(op);
            for a in args {
                invocation.arg(a);
            }
            let invocation = &invocation;
            let reply: Value = self
                .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
                .await?;
            let items = as_array(&reply)?;
            if int_at(items, 0)? == 1 {
                return Ok(reply);
            }
            let now = String::from_utf8_lossy(bytes(&items[1])?).into_owned();
            if now.is_empty() {
                self.open_log(partition).await?;
            } else {
                self.adopt(partition, &now);
            }
        }
        Err(Protocol::EpochChurn.into())
    }

    /// `updates` grouped by partition, each partition's in one script run (in their order),
    /// the partitions side by side; returns those where a join found no lease.
    pub(super) async fn presence_update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        let mut by_partition: Vec<(Partition, Vec<String>)> = Vec::new();
        for u in &updates {
            let p = self.partition_of(u.channel());
            let at = match by_partition.iter().position(|(q, _)| *q == p) {
                Some(at) => at,
                None => {
                    by_partition.push((p, Vec::new()));
                    by_partition.len() - 1
                }
            };
            let args = &mut by_partition[at].1;
            match u {
                Update::Join(m) => args.extend([
                    "j".to_owned(),
                    m.instance.clone(),
                    m.channel.clone(),
                    m.member.id.clone(),
                    presence::to_json(m),
                ]),
                Update::Leave { channel, id } => {
                    args.extend(["l".to_owned(), channel.clone(), id.clone()])
                }
            }
        }
        let runs = by_partition.iter().map(|(p, args)| async move {
            let reply = self.presence_op(*p, "update", args).await?;
            Ok::<_, crate::error::BrokerError>((*p, int_at(as_array(&reply)?, 1)? == 1))
        });
        let mut refused = Vec::new();
        for result in futures_util::future::join_all(runs).await {
            let (p, unleased) = result?;
            if unleased {
                refused.push(p);
            }
        }
        Ok(refused)
    }

    pub(super) async fn presence_members(&self, channel: &str, max: usize) -> Result<Members> {
        let k = self.keys(self.partition_of(channel));
        let mut invocation = self.inner.scripts.members.prepare_invoke();
        invocation
            .key(&k.epoch)
            .key(&k.pseq)
            .key(k.members(channel))
            .arg(max);
        let invocation = &invocation;
        let reply: Value = self
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        let items = as_array(&reply)?;
        let [epoch, position, count, listed @ ..] = items else {
            return Err(unexpected("[epoch, position, count, members…]", &reply));
        };
        let number = |v: &Value| match v {
            Value::Int(n) => Ok(*n as u64),
            other => Err(unexpected("an integer", other)),
        };
        let mut members = listed
            .iter()
            .map(|m| {
                serde_json::from_slice::<Member>(bytes(m)?)
                    .map_err(|e| Protocol::Body(Arc::new(e)).into())
            })
            .collect::<Result<Vec<Member>>>()?;
        members.sort_by(|a, b| (a.since, &a.id).cmp(&(b.since, &b.id)));
        Ok(Members {
            epoch: String::from_utf8_lossy(bytes(epoch)?).into_owned(),
            position: number(position)?,
            count: number(count)? as usize,
            members,
        })
    }

    pub(super) async fn presence_renew(
        &self,
        instance: &str,
        ttl: Duration,
        reap: bool,
    ) -> Result<Renewed> {
        let args = [
            instance.to_owned(),
            ttl.as_millis().to_string(),
            if reap { "1" } else { "0" }.to_owned(),
        ];
        let args = &args;
        let runs = (0..self.partitions()).map(|p| async move {
            let before = self.state(p).epoch;
            let reply = self.presence_op(p, "renew", args).await?;
            let made = int_at(as_array(&reply)?, 1)? == 1;
            // A new epoch met on the way means the partition's members were lost too.
            Ok::<_, crate::error::BrokerError>((p, made || self.state(p).epoch != before))
        });
        let mut renewed = Renewed::default();
        for result in futures_util::future::join_all(runs).await {
            let (p, lost) = result?;
            if lost {
                renewed.lost.push(p);
            }
        }
        Ok(renewed)
    }

    pub(super) async fn presence_resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        let mut args = vec![
            instance.to_owned(),
            ttl.as_millis().to_string(),
            live.len().to_string(),
        ];
        for m in live {
            args.extend([m.channel.clone(), m.member.id.clone(), presence::to_json(m)]);
        }
        self.presence_op(partition, "resync", &args).await.map(drop)
    }

    pub(super) async fn presence_in_sync(
        &self,
        partition: Partition,
        instance: &str,
        count: usize,
        digest: u32,
    ) -> Result<bool> {
        let args = [instance.to_owned(), count.to_string(), digest.to_string()];
        let reply = self.presence_op(partition, "check", &args).await?;
        Ok(int_at(as_array(&reply)?, 1)? == 1)
    }

    pub(super) async fn presence_release(&self, instance: &str) -> Result<()> {
        let args = [instance.to_owned()];
        let args = &args;
        let runs = (0..self.partitions()).map(|p| self.presence_op(p, "release", args));
        for result in futures_util::future::join_all(runs).await {
            result?;
        }
        Ok(())
    }
}
