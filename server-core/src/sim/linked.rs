//! A broker seen through one region's simulated link: latency and jitter on every
//! crossing, cut-off, stall.
//!
//! [`LinkedBroker`] applies the region's [`LinkSettings`](super::LinkSettings) to both
//! directions of its broker traffic: one-way latency (plus jitter) on publishes and history
//! reads in each direction and on the live feed, and a "cut off" switch that makes every broker
//! operation of that region fail as unavailable, exactly as if its connection to Redis were
//! severed. A region only goes through it while the link is active (see [`super::Route`]).

use super::Link;
use crate::broker::presence::{Members, Membership, Renewed, Update};
use crate::broker::{
    batch_failed, Batch, Broker, BrokerKind, Cursor, LogReader, LogStatus, Partition, Published,
    SharedBroker,
};
use crate::error::{Result, Unavailable};
use crate::event::{NewEvent, Offset};
use async_trait::async_trait;
use std::time::Duration;

impl Link {
    fn check(&self) -> Result<()> {
        if self.settings().cut_off {
            return Err(Unavailable::CutOff.into());
        }
        Ok(())
    }

    /// One crossing's delay: the latency plus a random jitter.
    fn delay(&self) -> Duration {
        let s = self.settings();
        let jitter = if s.jitter_ms > 0 {
            rand::random_range(0..=s.jitter_ms)
        } else {
            0
        };
        Duration::from_millis(u64::from(s.latency_ms + jitter))
    }

    /// Wait one crossing's delay.
    async fn cross(&self) {
        let delay = self.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Wait one crossing's delay towards the broker, arriving after every batch sent before
    /// (at least a timer tick after the one before it, so their wake-ups keep the order too):
    /// what one connection sends reaches the other end in order, whatever the jitter.
    async fn cross_in_order(&self) {
        let delay = self.delay();
        if delay.is_zero() {
            return;
        }
        let arrival = {
            let mut last = self.shared.last_arrival.lock().unwrap();
            let mut at = tokio::time::Instant::now() + delay;
            if let Some(last) = *last {
                at = at.max(last + Duration::from_millis(1));
            }
            *last = Some(at);
            at
        };
        tokio::time::sleep_until(arrival).await;
    }
}

/// A broker seen through one region's [`Link`].
pub struct LinkedBroker {
    inner: SharedBroker,
    link: Link,
}

impl LinkedBroker {
    /// Wrap `inner` behind `link`.
    pub fn new(inner: SharedBroker, link: Link) -> Self {
        LinkedBroker { inner, link }
    }

    /// A request that crosses the link there and back.
    async fn round_trip<T>(
        &self,
        request: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.link.check()?;
        self.link.cross().await;
        let answer = request.await?;
        self.link.cross().await;
        self.link.check()?;
        Ok(answer)
    }
}

#[async_trait]
impl Broker for LinkedBroker {
    fn kind(&self) -> BrokerKind {
        self.inner.kind()
    }

    fn partitions(&self) -> Partition {
        self.inner.partitions()
    }

    async fn publish(&self, event: NewEvent) -> Result<Published> {
        self.link.check()?;
        self.link.cross().await;
        self.link.check()?;
        let published = self.inner.publish(event).await?;
        self.link.cross().await;
        // An answer lost on the way back is an error to the caller, who retries by id.
        self.link.check()?;
        Ok(published)
    }

    /// The batch crosses the link as one message each way (a pipeline on one connection),
    /// so its events keep their order whatever the jitter; batches arrive in the order they
    /// were sent (several of a connection may be on the way at once).
    async fn publish_all(&self, events: Vec<NewEvent>) -> Vec<Result<Published>> {
        let n = events.len();
        let crossed = async {
            self.link.check()?;
            self.link.cross_in_order().await;
            self.link.check()
        };
        if let Err(e) = crossed.await {
            return batch_failed(n, e);
        }
        let results = self.inner.publish_all(events).await;
        self.link.cross().await;
        // Answers lost on the way back are errors to the caller, who retries by id.
        match self.link.check() {
            Ok(()) => results,
            Err(e) => batch_failed(n, e),
        }
    }

    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch> {
        self.round_trip(self.inner.read(partition, after, max))
            .await
    }

    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch> {
        self.round_trip(self.inner.history(channel, after, max))
            .await
    }

    async fn status(&self, partition: Partition) -> Result<LogStatus> {
        self.link.check()?;
        self.inner.status(partition).await
    }

    async fn channel_status(&self, channel: &str) -> Result<LogStatus> {
        self.link.check()?;
        self.inner.channel_status(channel).await
    }

    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>> {
        self.link.check()?;
        Ok(Box::new(LinkedReader {
            inner: self.inner.reader(partition).await?,
            link: self.link.clone(),
        }))
    }

    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        self.round_trip(self.inner.update(updates)).await
    }

    async fn members(&self, channel: &str, max: usize) -> Result<Members> {
        self.round_trip(self.inner.members(channel, max)).await
    }

    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed> {
        self.round_trip(self.inner.renew(instance, ttl, reap)).await
    }

    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        self.round_trip(self.inner.resync(partition, instance, ttl, live))
            .await
    }

    async fn release(&self, instance: &str) -> Result<()> {
        self.round_trip(self.inner.release(instance)).await
    }
}

struct LinkedReader {
    inner: Box<dyn LogReader>,
    link: Link,
}

#[async_trait]
impl LogReader for LinkedReader {
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch> {
        self.link.check()?;
        if self.link.settings().stalled {
            // A connection that stopped answering: never returns on its own.
            std::future::pending::<()>().await;
        }
        let batch = self.inner.next(from, max, wait).await?;
        // Events come down the link: they arrive one crossing later.
        if !batch.events.is_empty() || !batch.presence.is_empty() {
            self.link.cross().await;
        }
        self.link.check()?;
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::MemoryBroker;
    use crate::sim::LinkSettings;
    use std::sync::Arc;
    use tokio::time::Instant;

    fn linked(latency_ms: u32) -> LinkedBroker {
        let link = Link::default();
        link.set(LinkSettings {
            latency_ms,
            ..LinkSettings::default()
        });
        LinkedBroker::new(Arc::new(MemoryBroker::new(100)), link)
    }

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.into(),
            channel: wire::GLOBAL.into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: crate::event::payload(&serde_json::Value::Null),
            published_at: 0,
            after: None,
        }
    }

    /// A publish crosses the link twice (request and answer), a batch as one message each
    /// way, and a live read's events arrive one crossing later: on tokio's paused clock, the
    /// time taken is exactly what the settings say.
    #[tokio::test(start_paused = true)]
    async fn every_crossing_takes_the_link_latency() {
        let broker = linked(90);
        let started = Instant::now();
        broker.publish(event("a")).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(180));
        let started = Instant::now();
        let results = broker.publish_all(vec![event("b"), event("c")]).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(started.elapsed(), Duration::from_millis(180));
        let mut reader = broker
            .reader(broker.partition_of(wire::GLOBAL))
            .await
            .unwrap();
        let started = Instant::now();
        let batch = reader
            .next(&Cursor::default(), 10, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(batch.events.len(), 3);
        assert_eq!(started.elapsed(), Duration::from_millis(90));
    }

    /// Cut off, every operation fails at once as unavailable, and none reaches the log.
    #[tokio::test(start_paused = true)]
    async fn a_cut_off_link_fails_at_once() {
        let broker = linked(0);
        broker.link.set_cut_off(true);
        let started = Instant::now();
        let err = broker.publish(event("a")).await.unwrap_err();
        assert!(matches!(
            err,
            crate::error::BrokerError::Unavailable(Unavailable::CutOff)
        ));
        assert!(broker.reader(0).await.is_err());
        assert_eq!(started.elapsed(), Duration::ZERO);
        broker.link.set_cut_off(false);
        assert_eq!(broker.channel_status(wire::GLOBAL).await.unwrap().latest, 0);
    }
}
