//! Pipelined publishes on one connection (see `region/connection/pipeline.rs` for the
//! contract): many in flight, stored and acked in the order sent, each ack before its own
//! event, live events flowing meanwhile.

use async_trait::async_trait;
use server_core::broker::presence::{Members, Membership, Renewed, Update};
use server_core::broker::{
    Batch, Broker, BrokerKind, LogReader, LogStatus, MemoryBroker, Partition, Published,
    SharedBroker,
};
use server_core::error::Result;
use server_core::event::{NewEvent, Offset};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{with_both_brokers, Client, Regions};
use tokio::sync::Semaphore;
use wire::sim::LinkSettings;
use wire::ServerFrame;

const N: usize = 200;

/// One connection sends N publishes without waiting, through a link with jitter (which
/// reorders anything not kept in order): acks come in the order sent, with offsets in that
/// order, each before its own event; another region delivers the events in that order.
async fn publishes_are_stored_and_acked_in_the_order_sent(broker: SharedBroker) {
    let regions = Regions::start(&["as", "us"], broker).await;
    regions.link("as").set(LinkSettings {
        latency_ms: 2,
        jitter_ms: 8,
        ..LinkSettings::default()
    });
    let mut watcher = Client::connect(regions.addr("us")).await;
    let mut publisher = Client::connect(regions.addr("as")).await;
    let ids: Vec<String> = (0..N).map(|i| format!("p{i:03}")).collect();
    for id in &ids {
        publisher.publish(id).await;
    }
    let (mut acks, mut events) = (Vec::new(), Vec::new());
    while acks.len() < N || events.len() < N {
        match publisher.next().await {
            ServerFrame::Ack {
                id,
                offset,
                duplicate,
                ..
            } => {
                assert!(!duplicate);
                assert!(
                    !events.iter().any(|(e, _)| *e == id),
                    "the event {id} came before its ack"
                );
                acks.push((id, offset));
            }
            ServerFrame::Event(e) => events.push((e.id, e.offset)),
            other => panic!("unexpected frame {other:?}"),
        }
    }
    let acked: Vec<&String> = acks.iter().map(|(id, _)| id).collect();
    assert_eq!(
        acked,
        ids.iter().collect::<Vec<_>>(),
        "acks in the order sent"
    );
    assert!(
        acks.windows(2).all(|w| w[0].1 < w[1].1),
        "offsets in the order sent: {acks:?}"
    );
    let seen: Vec<String> = watcher.events(N).await.into_iter().map(|e| e.id).collect();
    assert_eq!(seen, ids, "stored in the order sent");
}

with_both_brokers!(
    history = 10_000;
    publishes_are_stored_and_acked_in_the_order_sent,
);

/// The embedded log, except that publishes whose id starts with `held` wait for a permit;
/// `answered` counts the others once the log answered them.
struct Holding {
    log: MemoryBroker,
    gate: Arc<Semaphore>,
    answered: Arc<AtomicUsize>,
}

#[async_trait]
impl Broker for Holding {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Embedded
    }
    async fn publish(&self, event: NewEvent) -> Result<Published> {
        if event.id.starts_with("held") {
            self.gate.acquire().await.expect("open").forget();
            return self.log.publish(event).await;
        }
        let answer = self.log.publish(event).await;
        self.answered.fetch_add(1, Ordering::SeqCst);
        answer
    }
    fn partitions(&self) -> Partition {
        self.log.partitions()
    }
    async fn read(&self, partition: Partition, after: Offset, max: usize) -> Result<Batch> {
        self.log.read(partition, after, max).await
    }
    async fn history(&self, channel: &str, after: Offset, max: usize) -> Result<Batch> {
        self.log.history(channel, after, max).await
    }
    async fn status(&self, partition: Partition) -> Result<LogStatus> {
        self.log.status(partition).await
    }
    async fn channel_status(&self, channel: &str) -> Result<LogStatus> {
        self.log.channel_status(channel).await
    }
    async fn reader(&self, partition: Partition) -> Result<Box<dyn LogReader>> {
        self.log.reader(partition).await
    }
    async fn update(&self, updates: Vec<Update>) -> Result<Vec<Partition>> {
        self.log.update(updates).await
    }
    async fn members(&self, channel: &str, max: usize) -> Result<Members> {
        self.log.members(channel, max).await
    }
    async fn renew(&self, instance: &str, ttl: Duration, reap: bool) -> Result<Renewed> {
        self.log.renew(instance, ttl, reap).await
    }
    async fn resync(
        &self,
        partition: Partition,
        instance: &str,
        ttl: Duration,
        live: &[Membership],
    ) -> Result<()> {
        self.log.resync(partition, instance, ttl, live).await
    }
    async fn release(&self, instance: &str) -> Result<()> {
        self.log.release(instance).await
    }
}

/// While a connection's publish is at the broker, events published elsewhere still reach
/// it, its next publishes queue behind it (stored after it, not before), and once it is
/// stored its ack comes before its event. (One batch at the broker at a time, so the next
/// one waits in the region.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_flow_while_a_publish_is_in_flight() {
    let gate = Arc::new(Semaphore::new(0));
    let broker = Holding {
        log: MemoryBroker::new(1000),
        gate: gate.clone(),
        answered: Arc::default(),
    };
    let one_batch = |c: &mut server_core::region::RegionConfig| c.publishing.publish_batches = 1;
    let regions = Regions::start_with(&["as", "us"], Arc::new(broker), one_batch).await;
    let mut held = Client::connect(regions.addr("as")).await;
    let mut other = Client::connect(regions.addr("us")).await;
    held.publish("held-1").await;
    held.publish("after-1").await;
    assert!(matches!(
        other.publish_and_wait("free-1").await,
        ServerFrame::Ack { offset: 1, .. }
    ));
    match held.next().await {
        ServerFrame::Event(e) => assert_eq!(e.id, "free-1"),
        f => panic!("expected the live event while held-1 is in flight, got {f:?}"),
    }
    gate.add_permits(1);
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(match held.next().await {
            ServerFrame::Ack { id, offset, .. } => format!("ack {id}@{offset}"),
            ServerFrame::Event(e) => format!("event {}@{}", e.id, e.offset),
            f => panic!("unexpected {f:?}"),
        });
    }
    let at = |f: &str| {
        order
            .iter()
            .position(|o| o == f)
            .unwrap_or_else(|| panic!("{f} missing: {order:?}"))
    };
    assert!(at("ack held-1@2") < at("event held-1@2"), "{order:?}");
    assert!(at("ack after-1@3") < at("event after-1@3"), "{order:?}");
    assert!(at("ack held-1@2") < at("ack after-1@3"), "{order:?}");
}

/// With several batches at the broker at once, a later batch that reaches the broker before
/// an earlier one (here: the earlier one is held, the later one is not) is refused as out of
/// order, with a temporary error, rather than stored before it; retried after it, it is
/// stored after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_batch_never_overtakes_an_earlier_one() {
    let gate = Arc::new(Semaphore::new(0));
    let broker = Holding {
        log: MemoryBroker::new(1000),
        gate: gate.clone(),
        answered: Arc::default(),
    };
    let answered = broker.answered.clone();
    let regions = Regions::start(&["as"], Arc::new(broker)).await;
    let mut c = Client::connect(regions.addr("as")).await;
    c.publish("held-1").await;
    c.publish("after-1").await;
    // after-1 reaches the log (and is refused there) while held-1 is still held.
    let deadline = std::time::Instant::now() + testkit::PATIENCE;
    while answered.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "after-1 never reached the log"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gate.add_permits(1);
    let mut answers = Vec::new();
    while answers.len() < 2 {
        match c.next().await {
            ServerFrame::Ack { id, offset, .. } => answers.push(format!("ack {id}@{offset}")),
            ServerFrame::Error {
                id: Some(id),
                temporary,
                message,
                ..
            } => {
                assert!(
                    temporary && message.contains("retry both, in order"),
                    "{message}"
                );
                answers.push(format!("error {id}"));
            }
            _ => {}
        }
    }
    assert_eq!(
        answers,
        ["ack held-1@1", "error after-1"],
        "answered in the order sent"
    );
    assert!(matches!(
        c.publish_and_wait("after-1").await,
        ServerFrame::Ack {
            offset: 2,
            duplicate: false,
            ..
        }
    ));
}
