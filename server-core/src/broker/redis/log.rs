//! What a broker knows of each partition's log ([`LogState`]), opening the partitions, and
//! starting a new history of one that went back in time.

use super::{keys, RedisBroker};
use crate::broker::partition::Partition;
use crate::error::{Misconfigured, Result};
use crate::event::{new_epoch, Offset};

/// What this broker knows of one partition's log.
#[derive(Debug, Clone, Default)]
pub(super) struct LogState {
    /// The epoch this broker publishes into; replaced when the log turns out to be lost.
    pub(super) epoch: String,
    /// The newest event known stored in that epoch, checked by every publish and live read:
    /// a log that no longer holds it went back in time.
    pub(super) known: Option<Known>,
}

/// An event known to be in the log: its position, id and channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Known {
    pub(super) position: Offset,
    pub(super) id: String,
    pub(super) channel: String,
}

impl RedisBroker {
    pub(super) fn state(&self, partition: Partition) -> LogState {
        self.inner.state.lock().unwrap()[usize::from(partition)].clone()
    }

    /// Follow `epoch` in `partition` from now on (forgetting what was known of another one).
    pub(super) fn adopt(&self, partition: Partition, epoch: &str) {
        let mut state = self.inner.state.lock().unwrap();
        let state = &mut state[usize::from(partition)];
        if state.epoch != epoch {
            *state = LogState {
                epoch: epoch.into(),
                known: None,
            };
        }
    }

    /// The log of `epoch` in `partition` holds `known`: remember it if it is the newest.
    pub(super) fn note(&self, partition: Partition, epoch: &str, known: Known) {
        let mut state = self.inner.state.lock().unwrap();
        let state = &mut state[usize::from(partition)];
        if state.epoch == epoch
            && state
                .known
                .as_ref()
                .is_none_or(|k| k.position < known.position)
        {
            state.known = Some(known);
        }
    }

    /// The log must be split into as many partitions as this broker is configured with, or
    /// the processes sharing it would put channels in different partitions. The first
    /// process records its number; the others must match it.
    pub(super) async fn check_partitions(&self) -> Result<()> {
        let key = keys::meta(&self.inner.config.prefix);
        let configured = self.inner.partitions.len() as u16;
        let key = &key;
        let found: u16 = self
            .with_conn(|mut c| async move {
                let _: bool = redis::cmd("HSETNX")
                    .arg(key)
                    .arg("partitions")
                    .arg(configured)
                    .query_async(&mut c)
                    .await?;
                redis::cmd("HGET")
                    .arg(key)
                    .arg("partitions")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if found != configured {
            return Err(Misconfigured::Partitions {
                prefix: self.inner.config.prefix.clone(),
                found,
                configured,
            }
            .into());
        }
        Ok(())
    }

    /// Open every partition (side by side: on a Cluster they are on several shards).
    pub(super) async fn open_logs(&self) -> Result<()> {
        let opened = (0..self.inner.partitions.len() as Partition).map(|p| self.open_log(p));
        for result in futures_util::future::join_all(opened).await {
            result?;
        }
        Ok(())
    }

    /// Open (or create) the log of `partition` and follow its epoch.
    pub(super) async fn open_log(&self, partition: Partition) -> Result<String> {
        let keys = self.keys(partition);
        let mut invocation = keys.invocation(&self.inner.scripts.init);
        invocation
            .arg(new_epoch())
            .arg(&keys.channel_prefix)
            .arg(&keys.prefix);
        let invocation = &invocation;
        let epoch: String = self
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        self.adopt(partition, &epoch);
        Ok(epoch)
    }

    /// The log of `rewound` in `partition` went back in time: start a new history (or join
    /// the one another region just started) and return its epoch.
    pub(super) async fn start_new_history(
        &self,
        partition: Partition,
        rewound: &str,
    ) -> Result<String> {
        let fresh = new_epoch();
        let mut invocation = self.keys(partition).invocation(&self.inner.scripts.rewind);
        invocation.arg(rewound).arg(&fresh);
        let invocation = &invocation;
        let now: String = self
            .with_conn(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        if now.is_empty() {
            return self.open_log(partition).await;
        }
        if now == fresh {
            tracing::warn!(partition, old = %rewound, new = %now, "the Redis log went back in time (restart from an older snapshot, or failover to a lagging replica); started a new history");
        }
        self.adopt(partition, &now);
        Ok(now)
    }
}
