//! Resuming (`/ws?since=N`) at the edges: a log recreated during the replay, a `since` past
//! the log's end, and a slow resumer that must not hold the replay permit while its socket
//! is full.

#[macro_use]
mod common;

use async_trait::async_trait;
use common::{Client, Regions, PATIENCE};
use futures_util::StreamExt;
use server_core::broker::presence::{Members, Membership, Renewed, Update};
use server_core::broker::{
    Batch, Broker, BrokerKind, Cursor, LogReader, LogStatus, MemoryBroker, Partition, Published,
    SharedBroker,
};
use server_core::error::Result;
use server_core::event::{NewEvent, Offset};
use server_core::settings::Millis;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

fn event(id: String, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        id,
        channel: wire::GLOBAL.into(),
        origin: "test".into(),
        kind: "test".into(),
        payload: server_core::event::payload(&payload),
        published_at: 0,
        after: None,
    }
}

async fn fill(broker: &dyn Broker, prefix: &str, n: usize, payload: serde_json::Value) {
    for i in 0..n {
        broker
            .publish(event(format!("{prefix}-{i}"), payload.clone()))
            .await
            .unwrap();
    }
}

/// A log that is lost and recreated (new epoch, offsets from 1 again) right after the first
/// history read: the first `history` answers from the old log, everything after from the
/// new.
struct RecreatedDuringReplay {
    old: MemoryBroker,
    new: MemoryBroker,
    recreated: Arc<AtomicBool>,
}

impl RecreatedDuringReplay {
    fn current(&self) -> &MemoryBroker {
        if self.recreated.load(Ordering::SeqCst) {
            &self.new
        } else {
            &self.old
        }
    }
}

#[async_trait]
impl Broker for RecreatedDuringReplay {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Embedded
    }
    async fn publish(&self, event: NewEvent) -> Result<Published> {
        self.current().publish(event).await
    }
    fn partitions(&self) -> Partition {
        self.old.partitions()
    }
    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch> {
        self.current().read(partition, after, max).await
    }
    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch> {
        let batch = self.current().history(channel, after, max).await;
        self.recreated.store(true, Ordering::SeqCst);
        batch
    }
    async fn status(&self, partition: Partition) -> Result<LogStatus> {
        self.current().status(partition).await
    }
    async fn channel_status(&self, channel: &str) -> Result<LogStatus> {
        self.current().channel_status(channel).await
    }
    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(SwitchingReader {
            old: self.old.reader(partition).await?,
            new: self.new.reader(partition).await?,
            recreated: self.recreated.clone(),
        }))
    }
    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        self.current().update(updates).await
    }
    async fn members(&self, channel: &str, max: usize) -> Result<Members> {
        self.current().members(channel, max).await
    }
    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed> {
        self.current().renew(instance, ttl, reap).await
    }
    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        self.current().resync(partition, instance, ttl, live).await
    }
    async fn release(&self, instance: &str) -> Result<()> {
        self.current().release(instance).await
    }
}

/// Reads the old log until it is recreated, then the new one.
struct SwitchingReader {
    old: Box<dyn LogReader>,
    new: Box<dyn LogReader>,
    recreated: Arc<AtomicBool>,
}

#[async_trait]
impl LogReader for SwitchingReader {
    async fn next(&mut self, from: &Cursor, max: usize, wait: Duration) -> Result<Batch> {
        if self.recreated.load(Ordering::SeqCst) {
            self.new.next(from, max, wait).await
        } else {
            self.old.next(from, max, wait).await
        }
    }
}

/// A log recreated while a client's replay is running never reaches the client as events of
/// the log it was welcomed with: the replay stops, an `epoch` frame announces the new log,
/// and then every event of the new log arrives once, in order, from offset 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_recreated_during_a_replay_is_announced_not_mixed_in() {
    let broker = RecreatedDuringReplay {
        old: MemoryBroker::new(10_000),
        new: MemoryBroker::new(10_000),
        recreated: Arc::default(),
    };
    fill(&broker.old, "old", 600, serde_json::Value::Null).await;
    fill(&broker.new, "new", 1200, serde_json::Value::Null).await;
    let new_epoch = broker.new.channel_status(wire::GLOBAL).await.unwrap().epoch;
    let regions = Regions::start(&["us"], Arc::new(broker)).await;
    let mut client = Client::connect_since(regions.addr("us"), 0).await;
    let mut announced = false;
    let mut new_events = Vec::new();
    let mut last_old = 0;
    while new_events.len() < 1200 {
        match client.next().await {
            ServerFrame::Epoch {
                epoch, lost_after, ..
            } => {
                assert_eq!(epoch, new_epoch, "the announcement names the new log");
                // What the client was sent of the old log, not where the region stood in it
                // (found by the chaos run: a resume cut off early was told it had it all).
                assert_eq!(lost_after, last_old, "lost after the last old event it got");
                announced = true;
                new_events.clear();
            }
            ServerFrame::Event(e) if e.id.starts_with("new-") => {
                assert!(
                    announced,
                    "an event of the new log arrived before any epoch frame: {e:?}"
                );
                new_events.push(e);
            }
            ServerFrame::Event(e) => {
                assert!(!announced, "an old event after the announcement: {e:?}");
                last_old = e.offset;
            }
            _ => {}
        }
    }
    common::assert_dense_in_order(&new_events, 0);
    client.assert_quiet(Duration::from_millis(300)).await;
}

/// `/ws?since=N` with `N` past the end of the log (and no `epoch`): the client is told
/// (`epoch` frame) and replayed the log from its start, and live events then arrive
/// normally instead of being dropped up to `N`.
async fn since_past_the_log_end_is_announced_and_live_events_flow(broker: SharedBroker) {
    let regions = Regions::start(&["us"], broker).await;
    let mut publisher = Client::connect(regions.addr("us")).await;
    for i in 0..5 {
        publisher.publish_and_wait(&format!("before-{i}")).await;
    }
    // Acked is not yet read by the region's feed: wait, so the replay covers all five.
    regions.wait_for_offset("us", 5).await;
    let mut client = Client::connect_since(regions.addr("us"), 1000).await;
    assert!(
        matches!(client.next().await, ServerFrame::Epoch { .. }),
        "a since past the log's end is answered with an epoch frame"
    );
    let replayed = client.events(5).await;
    common::assert_dense_in_order(&replayed, 0);
    assert!(matches!(
        client.next().await,
        ServerFrame::CaughtUp { offset: 5, .. }
    ));
    publisher.publish_and_wait("live").await;
    let live = client.events(1).await;
    assert_eq!((live[0].offset, live[0].id.as_str()), (6, "live"));
}

with_both_brokers!(history = 10_000; since_past_the_log_end_is_announced_and_live_events_flow);

/// A resumer whose socket is full does not hold the replay permit while it waits to write:
/// with one permit, a second resumer still gets its whole replay. (Memory broker only: the
/// permit is the region's, whatever the broker.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_resumer_does_not_hold_the_replay_permit() {
    let memory = Arc::new(MemoryBroker::new(10_000));
    // 1,500 events of 10 KB: 15 MB, more than the socket buffers of a client that stops
    // reading can hold, so its replay blocks on a write.
    fill(&*memory, "big", 1500, serde_json::json!("x".repeat(10_000))).await;
    let regions = Regions::start_with(&["us"], memory, |c| {
        c.clients.concurrent_replays = 1;
        // Never let the stalled client go as slow during the test.
        c.clients.write_timeout = Millis(Duration::from_secs(3600));
    })
    .await;
    let url = format!("ws://{}/ws?since=0", regions.addr("us"));
    let (mut stalled, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // Its welcome and first replayed event: its replay is under way; then it stops reading.
    for _ in 0..2 {
        tokio::time::timeout(PATIENCE, stalled.next())
            .await
            .expect("the stalled client's first frames")
            .unwrap()
            .unwrap();
    }
    let mut other = Client::connect_since(regions.addr("us"), 0).await;
    let mut replayed = 0;
    loop {
        match other.next().await {
            ServerFrame::Event(_) => replayed += 1,
            ServerFrame::CaughtUp { offset, .. } => {
                assert_eq!(offset, 1500);
                break;
            }
            f => panic!("unexpected frame {f:?}"),
        }
    }
    assert_eq!(replayed, 1500);
    drop(stalled);
}
