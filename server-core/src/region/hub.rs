//! The region's fan-out, by channel: who follows each channel here, and where each channel
//! stands in this region.
//!
//! # Contract
//! - **Only subscribers.** An event goes to the clients of this region subscribed to its
//!   channel, and to no one else; a channel nobody here follows costs the region only the
//!   read of its partition (a map lookup per event).
//! - **One queue per client**, bounded ([`RegionConfig::clients`]`.client_queue` items, all
//!   its channels together): the feeds push without waiting; a client whose queue is full is
//!   *lagged* (its token is cancelled, it is removed from the channel) and disconnected as a
//!   slow consumer by its own task, which tells it where to resume. Nobody else waits for it.
//! - **Order.** Each partition has one feed, which pushes its channels' events in offset
//!   order; so every subscriber gets each channel in order. A client's channels of different
//!   partitions interleave in no promised order.
//! - **The seam.** [`Hub::subscribe`] registers the client and reads where the channel
//!   stands under one lock, the lock the feed takes to deliver: every event after the
//!   channel's `last` reaches the client's queue, and nothing before it does.
//!
//! [`RegionConfig::clients`]: super::RegionConfig

use super::delivery::{Delivery, Notice};
use crate::broker::Partition;
use crate::event::Offset;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A client's end of the fan-out: its queue and its lagged token.
#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    /// Unique in the region.
    pub(crate) id: u64,
    pub(crate) queue: mpsc::Sender<Delivery>,
    /// Cancelled when the client fell behind its queue.
    pub(crate) lagged: CancellationToken,
}

impl Subscriber {
    /// A new subscriber with a queue of `capacity` items (at least 1), and its receiving end.
    pub(crate) fn new(capacity: usize) -> (Subscriber, mpsc::Receiver<Delivery>) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let (queue, rx) = mpsc::channel(capacity.max(1));
        let subscriber = Subscriber {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            queue,
            lagged: CancellationToken::new(),
        };
        (subscriber, rx)
    }

    /// Queue `item`; false when the client is gone or lagged (it is then dropped from the
    /// channel).
    fn push(&self, item: Delivery) -> bool {
        match self.queue.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lagged.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Where a channel stands when a client subscribes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Joined {
    /// The channel's key in the hub (shared by every delivery of the channel).
    pub(crate) channel: Arc<str>,
    /// The epoch of the channel's partition as this region follows it ("" until known).
    pub(crate) epoch: String,
    /// The newest offset of the channel this region delivered, when known.
    pub(crate) last: Option<Offset>,
}

/// The channels of one partition that have subscribers here.
#[derive(Debug, Default)]
pub(crate) struct PartitionHub {
    /// The partition's epoch as this region's feed follows it ("" until known).
    pub(crate) epoch: String,
    /// Some presence subscriber here did not get its list (the broker did not answer): the
    /// feed sends fresh lists.
    pub(crate) relist: bool,
    channels: HashMap<Arc<str>, ChannelHub>,
}

#[derive(Debug, Default)]
struct ChannelHub {
    /// The newest offset of this channel delivered here, when known.
    last: Option<Offset>,
    /// Its subscribers here, each with whether it asked for presence.
    subscribers: Vec<(Subscriber, bool)>,
    /// Kept without subscribers (`global`: `/health` reports where it stands).
    pinned: bool,
}

impl PartitionHub {
    /// The hub's key for `channel`, if it is followed here.
    pub(crate) fn key(&self, channel: &str) -> Option<Arc<str>> {
        self.channels.get_key_value(channel).map(|(k, _)| k.clone())
    }

    /// The newest offset of `channel` delivered here, when known.
    pub(crate) fn last(&self, channel: &str) -> Option<Offset> {
        self.channels.get(channel).and_then(|c| c.last)
    }

    /// Every followed channel and its newest delivered offset.
    pub(crate) fn followed(&self) -> Vec<(Arc<str>, Option<Offset>)> {
        self.channels
            .iter()
            .map(|(k, c)| (k.clone(), c.last))
            .collect()
    }

    /// Record `offset` as the newest of `channel` delivered here.
    pub(crate) fn set_last(&mut self, channel: &str, offset: Option<Offset>) {
        if let Some(c) = self.channels.get_mut(channel) {
            c.last = offset;
        }
    }

    /// Push `item` to every subscriber of `channel` it is for (a presence notice: those that
    /// asked for presence), dropping the lagged and the gone.
    pub(crate) fn fan_out(&mut self, channel: &str, item: &Delivery) -> usize {
        let Some(c) = self.channels.get_mut(channel) else {
            return 0;
        };
        let presence = matches!(item, Delivery::Notice(n) if n.kind.is_presence());
        c.subscribers
            .retain(|(s, asked)| (presence && !*asked) || s.push(item.clone()));
        c.subscribers.len()
    }

    /// The followed channels some subscriber here asked the presence of.
    pub(crate) fn watched(&self) -> Vec<Arc<str>> {
        self.channels
            .iter()
            .filter(|(_, c)| c.subscribers.iter().any(|(_, asked)| *asked))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Every partition's [`PartitionHub`], each behind its own lock: the feeds of different
/// partitions never wait for each other.
pub(crate) struct Hub {
    partitions: Vec<Mutex<PartitionHub>>,
    /// The newest offset of [`wire::GLOBAL`] delivered here (`/health`'s `offset`).
    global: AtomicU64,
}

impl Hub {
    /// A hub of `partitions` partitions, `global` pinned in `global_partition`.
    pub(crate) fn new(partitions: Partition, global_partition: Partition) -> Hub {
        let hub = Hub {
            partitions: (0..partitions.max(1))
                .map(|_| Mutex::new(PartitionHub::default()))
                .collect(),
            global: AtomicU64::new(0),
        };
        hub.partition(global_partition)
            .channels
            .entry(wire::GLOBAL.into())
            .or_default()
            .pinned = true;
        hub
    }

    /// The hub of `partition`, locked. A std mutex: it is never held across an await, and
    /// held to push a batch (non-blocking sends) or to join a channel.
    pub(crate) fn partition(&self, partition: Partition) -> MutexGuard<'_, PartitionHub> {
        self.partitions[usize::from(partition) % self.partitions.len()]
            .lock()
            .unwrap()
    }

    /// Register `subscriber` on `channel` of `partition` (with its presence when
    /// `presence`) and say where the channel stands (the seam: see the module docs).
    pub(crate) fn subscribe(
        &self,
        partition: Partition,
        channel: &str,
        subscriber: &Subscriber,
        presence: bool,
    ) -> Joined {
        let mut hub = self.partition(partition);
        let epoch = hub.epoch.clone();
        let key = hub.key(channel).unwrap_or_else(|| channel.into());
        let c = hub.channels.entry(key.clone()).or_default();
        c.subscribers.retain(|(s, _)| s.id != subscriber.id);
        c.subscribers.push((subscriber.clone(), presence));
        Joined {
            channel: key,
            epoch,
            last: c.last,
        }
    }

    /// Take `id` off `channel` of `partition`; a channel left without subscribers is
    /// forgotten (unless pinned).
    pub(crate) fn unsubscribe(&self, partition: Partition, channel: &str, id: u64) {
        let mut hub = self.partition(partition);
        let Some(c) = hub.channels.get_mut(channel) else {
            return;
        };
        c.subscribers.retain(|(s, _)| s.id != id);
        if c.subscribers.is_empty() && !c.pinned {
            hub.channels.remove(channel);
        }
    }

    /// The newest offset of `global` delivered here.
    pub(crate) fn global_offset(&self) -> Offset {
        self.global.load(Ordering::SeqCst)
    }

    /// Record the newest offset of `global` delivered here.
    pub(crate) fn set_global_offset(&self, offset: Offset) {
        self.global.store(offset, Ordering::SeqCst);
    }
}

/// A notice for the subscribers of one channel (a gap, a new epoch).
pub(crate) fn notify(hub: &mut PartitionHub, notice: Notice) {
    let channel = notice.channel.clone();
    hub.fan_out(&channel, &Delivery::Notice(Arc::new(notice)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_item() -> Delivery {
        Delivery::Notice(Arc::new(Notice::gap("a".into(), 1, 1)))
    }

    /// Only a channel's subscribers get its items; a full queue lags its client, who is
    /// dropped from the channel, and the others go on.
    #[test]
    fn items_go_to_subscribers_only_and_a_full_queue_lags_its_client() {
        let hub = Hub::new(4, 0);
        let (slow, _slow_rx) = Subscriber::new(1);
        let (fast, mut fast_rx) = Subscriber::new(8);
        let (other, mut other_rx) = Subscriber::new(8);
        let joined = hub.subscribe(1, "a", &slow, false);
        assert_eq!((joined.epoch.as_str(), joined.last), ("", None));
        hub.subscribe(1, "a", &fast, true);
        hub.subscribe(2, "b", &other, false);
        let mut p = hub.partition(1);
        assert_eq!(p.fan_out("a", &event_item()), 2);
        assert_eq!(
            p.fan_out("a", &event_item()),
            1,
            "the slow one is full: dropped"
        );
        assert!(slow.lagged.is_cancelled() && !fast.lagged.is_cancelled());
        assert_eq!(p.fan_out("nobody", &event_item()), 0);
        drop(p);
        assert!(fast_rx.try_recv().is_ok() && fast_rx.try_recv().is_ok());
        assert!(other_rx.try_recv().is_err(), "b gets nothing of a");
    }

    /// `global` stays when its last subscriber leaves; another channel is forgotten.
    #[test]
    fn global_is_pinned_and_others_are_forgotten() {
        let hub = Hub::new(4, 3);
        let (s, _rx) = Subscriber::new(4);
        hub.subscribe(3, wire::GLOBAL, &s, false);
        hub.subscribe(2, "a", &s, false);
        hub.unsubscribe(3, wire::GLOBAL, s.id);
        hub.unsubscribe(2, "a", s.id);
        assert!(hub.partition(3).key(wire::GLOBAL).is_some());
        assert!(hub.partition(2).key("a").is_none());
    }
}
