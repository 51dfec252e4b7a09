//! [`Hooked`]: a broker that passes every call to another one, with faults a test switches
//! on to put a region in a state that real faults reach only by chance (a join whose question
//! gets no answer, a join held while the log changes under it).

use async_trait::async_trait;
use server_core::broker::presence::{Members, Membership, Renewed, Update};
use server_core::broker::{
    Batch, Broker, BrokerKind, LogReader, LogStatus, Partition, Published, SharedBroker,
};
use server_core::error::{Result, Unavailable};
use server_core::event::{NewEvent, Offset};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// `inner`, with hooks.
pub struct Hooked {
    inner: SharedBroker,
    /// `channel_status` fails (cut off) while this is above zero; each failure takes one.
    pub status_failures: AtomicUsize,
    /// How many of the next `members` calls are held (a join that asks for presence waits
    /// there) until [`Self::release_members`].
    members_to_hold: AtomicUsize,
    members_held: watch::Sender<bool>,
    /// How many `members` calls wait now.
    pub members_waiting: AtomicUsize,
}

impl Hooked {
    /// `inner` with every hook off.
    pub fn new(inner: SharedBroker) -> Hooked {
        Hooked {
            inner,
            status_failures: AtomicUsize::new(0),
            members_to_hold: AtomicUsize::new(0),
            members_held: watch::channel(false).0,
            members_waiting: AtomicUsize::new(0),
        }
    }

    /// Hold the next `n` `members` calls (the ones after them pass).
    pub fn hold_members(&self, n: usize) {
        self.members_held.send_replace(true);
        self.members_to_hold.store(n, Ordering::SeqCst);
    }

    /// Let the held `members` calls go on.
    pub fn release_members(&self) {
        self.members_held.send_replace(false);
    }
}

#[async_trait]
impl Broker for Hooked {
    fn kind(&self) -> BrokerKind {
        self.inner.kind()
    }
    fn partitions(&self) -> Partition {
        self.inner.partitions()
    }
    async fn publish(&self, event: NewEvent) -> Result<Published> {
        self.inner.publish(event).await
    }
    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch> {
        self.inner.read(partition, after, max).await
    }
    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch> {
        self.inner.history(channel, after, max).await
    }
    async fn status(&self, partition: Partition) -> Result<LogStatus> {
        self.inner.status(partition).await
    }
    async fn channel_status(&self, channel: &str) -> Result<LogStatus> {
        let took = self
            .status_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match took {
            Ok(_) => Err(Unavailable::CutOff.into()),
            Err(_) => self.inner.channel_status(channel).await,
        }
    }
    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>> {
        self.inner.reader(partition).await
    }
    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        self.inner.update(updates).await
    }
    async fn members(&self, channel: &str, max: usize) -> Result<Members> {
        let hold = self
            .members_to_hold
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if hold.is_ok() {
            let mut held = self.members_held.subscribe();
            self.members_waiting.fetch_add(1, Ordering::SeqCst);
            let _ = held.wait_for(|held| !held).await;
            self.members_waiting.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.members(channel, max).await
    }
    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed> {
        self.inner.renew(instance, ttl, reap).await
    }
    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        self.inner.resync(partition, instance, ttl, live).await
    }
    async fn in_sync(
        &self,
        partition: Partition,
        instance: &str,
        count: usize,
        digest: u32,
    ) -> Result<bool> {
        self.inner.in_sync(partition, instance, count, digest).await
    }
    async fn release(&self, instance: &str) -> Result<()> {
        self.inner.release(instance).await
    }
}
