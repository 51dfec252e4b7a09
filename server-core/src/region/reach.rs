//! Whether a region reaches its broker: one flag per partition (each feed reads its own), the
//! region connected while every one is up. `/health`'s `connected`, `/ready`, the warning
//! when the broker is lost and the reconnect count are the region's, not per partition: an
//! outage that takes every partition is one outage.

use super::Region;
use crate::broker::{Cursor, Partition};
use crate::error::{BrokerError, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Which partitions the region reaches now.
#[derive(Debug)]
pub(crate) struct Reach {
    up: Vec<AtomicBool>,
    /// How many of `up` are false.
    down: AtomicUsize,
}

impl Reach {
    /// All of `partitions` up (as a region starts).
    pub(crate) fn new(partitions: Partition) -> Reach {
        Reach {
            up: (0..partitions.max(1))
                .map(|_| AtomicBool::new(true))
                .collect(),
            down: AtomicUsize::new(0),
        }
    }

    /// True while every partition is reachable.
    pub(crate) fn connected(&self) -> bool {
        self.down.load(Ordering::SeqCst) == 0
    }
}

impl Region {
    /// A read of `partition` answered. The region is reachable again once every partition
    /// is: that is one reconnect.
    pub(crate) fn partition_reached(&self, partition: Partition) {
        let reach = &self.reach;
        if !reach.up[usize::from(partition)].swap(true, Ordering::SeqCst)
            && reach.down.fetch_sub(1, Ordering::SeqCst) == 1
        {
            tracing::info!(region = %self.name(), "broker reachable again; catching up");
            self.metrics.feed_reconnected();
        }
    }

    /// A read of `partition` failed with `error`: the region is disconnected (said once, by
    /// the first partition lost).
    pub(crate) fn partition_lost(&self, partition: Partition, error: &BrokerError) {
        let reach = &self.reach;
        if reach.up[usize::from(partition)].swap(false, Ordering::SeqCst)
            && reach.down.fetch_add(1, Ordering::SeqCst) == 0
        {
            tracing::warn!(region = %self.name(), partition, %error, "broker read failed; retrying with backoff");
        }
    }

    /// Where the feed of `partition` starts: the log's current end (history is replayed per
    /// client, on request), as this region then knows it (the partition's epoch; for the
    /// partition of `global`, where `global` stands).
    pub(crate) async fn start_partition(&self, partition: Partition) -> Result<Cursor> {
        let broker = self.broker();
        let status = broker.status(partition).await?;
        let global = if broker.partition_of(wire::GLOBAL) == partition {
            Some(broker.channel_status(wire::GLOBAL).await?.latest)
        } else {
            None
        };
        let mut hub = self.hub.partition(partition);
        hub.epoch = status.epoch.clone();
        if let Some(latest) = global {
            hub.set_last(wire::GLOBAL, Some(latest));
            self.hub.set_global_offset(latest);
        }
        Ok(Cursor {
            epoch: status.epoch,
            position: status.latest,
            id: None,
            presence: status.presence,
        })
    }
}
