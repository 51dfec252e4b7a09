//! Pipelined publishes on one connection (see `region/connection/pipeline.rs` for the
//! contract): many in flight, stored and acked in the order sent, each ack before its own
//! event, live events flowing meanwhile.

use async_trait::async_trait;
use server_core::broker::{
    Batch, Broker, BrokerKind, LogReader, LogStatus, MemoryBroker, Published, SharedBroker,
};
use server_core::error::Result;
use server_core::event::{NewEvent, Offset};
use std::sync::Arc;
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

/// The embedded log, except that publishes whose id starts with `held` wait for a permit.
struct Holding {
    log: MemoryBroker,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl Broker for Holding {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Embedded
    }
    async fn publish(&self, event: NewEvent) -> Result<Published> {
        if event.id.starts_with("held") {
            self.gate.acquire().await.expect("open").forget();
        }
        self.log.publish(event).await
    }
    async fn read(&self, after: Offset, max: usize) -> Result<Batch> {
        self.log.read(after, max).await
    }
    async fn status(&self) -> Result<LogStatus> {
        self.log.status().await
    }
    async fn reader(&self) -> Result<Box<dyn LogReader>> {
        self.log.reader().await
    }
}

/// While a connection's publish is at the broker, events published elsewhere still reach
/// it, its next publishes queue behind it (stored after it, not before), and once it is
/// stored its ack comes before its event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_flow_while_a_publish_is_in_flight() {
    let gate = Arc::new(Semaphore::new(0));
    let broker = Holding {
        log: MemoryBroker::new(1000),
        gate: gate.clone(),
    };
    let regions = Regions::start(&["as", "us"], Arc::new(broker)).await;
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
