//! The broker contract (see `server_core::broker`) within one channel, run against every
//! broker: the embedded `MemoryBroker`, the `RedisBroker` on a `redis-server` the test starts
//! itself, and on a Redis Cluster. What holds between channels is `broker_channels.rs`.

#[macro_use]
mod common;
mod redis_topology;

use common::RedisServer;
use server_core::broker::{Broker, Cursor, SharedBroker};
use server_core::event::{now_micros, NewEvent};
use std::time::Duration;

/// The channel these scenarios publish on.
const C: &str = "contract";

fn event(id: &str) -> NewEvent {
    NewEvent {
        id: id.into(),
        channel: C.into(),
        origin: "us".into(),
        kind: "test".into(),
        payload: server_core::event::payload(
            &serde_json::json!({"n": id, "nested": [1, {"a": null}]}),
        ),
        published_at: now_micros(),
        after: None,
    }
}

/// Offsets start at 1 and grow by one; reads return the events after an offset, in order,
/// with their content intact.
async fn offsets_are_dense_and_reads_are_ordered(b: SharedBroker) {
    for i in 1..=20u64 {
        let p = b.publish(event(&format!("e{i}"))).await.unwrap();
        assert_eq!((p.offset, p.duplicate), (i, false));
    }
    let batch = b.history(C, 5, 100).await.unwrap();
    let offsets: Vec<u64> = batch.events.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, (6..=20).collect::<Vec<_>>());
    assert_eq!(
        batch.events[0].event,
        event_with_time("e6", batch.events[0].event.published_at)
    );
    assert!(batch.events[0].stored_at > 0);
    assert_eq!(
        b.history(C, 0, 3).await.unwrap().events.len(),
        3,
        "max is honoured"
    );
    assert!(b.history(C, 20, 10).await.unwrap().events.is_empty());
}

fn event_with_time(id: &str, t: u64) -> NewEvent {
    NewEvent {
        published_at: t,
        after: None,
        ..event(id)
    }
}

/// Publishing an id again stores nothing and returns the first offset.
async fn publish_is_idempotent_by_id(b: SharedBroker) {
    let first = b.publish(event("a")).await.unwrap();
    b.publish(event("b")).await.unwrap();
    let again = b.publish(event("a")).await.unwrap();
    assert_eq!(again.offset, first.offset);
    assert!(again.duplicate);
    assert_eq!(b.channel_status(C).await.unwrap().latest, 2);
    assert_eq!(b.history(C, 0, 10).await.unwrap().events.len(), 2);
}

/// The same id published concurrently many times is stored exactly once.
async fn concurrent_duplicates_are_stored_once(b: SharedBroker) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.publish(event("same")).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        let p = t.await.unwrap();
        assert_eq!(p.offset, 1);
        fresh += usize::from(!p.duplicate);
    }
    assert_eq!(fresh, 1, "exactly one publish stored it");
    assert_eq!(b.channel_status(C).await.unwrap().latest, 1);
}

/// Concurrent publishers get distinct, dense offsets.
async fn concurrent_publishes_get_distinct_dense_offsets(b: SharedBroker) {
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move { b.publish(event(&format!("c{i}"))).await.unwrap().offset })
        })
        .collect();
    let mut offsets = Vec::new();
    for t in tasks {
        offsets.push(t.await.unwrap());
    }
    offsets.sort_unstable();
    assert_eq!(offsets, (1..=50).collect::<Vec<_>>());
}

/// History keeps the latest events only; dropped ids are forgotten; reads of dropped
/// offsets start at the oldest kept one, so the gap is visible.
async fn history_is_bounded(b: SharedBroker) {
    // Every broker in this suite is made with a history of HISTORY events.
    for i in 1..=(HISTORY as u64 + 5) {
        b.publish(event(&format!("h{i}"))).await.unwrap();
    }
    let s = b.channel_status(C).await.unwrap();
    assert_eq!(s.latest, HISTORY as u64 + 5);
    assert_eq!(s.oldest, 6);
    let batch = b.history(C, 0, 1000).await.unwrap();
    assert_eq!(batch.events.len(), HISTORY);
    assert_eq!(batch.events[0].offset, 6);
    let again = b.publish(event("h1")).await.unwrap();
    assert!(
        !again.duplicate,
        "an id older than the history is forgotten"
    );
    let kept = b
        .publish(event(&format!("h{}", HISTORY + 5)))
        .await
        .unwrap();
    assert!(kept.duplicate, "an id in the history is remembered");
}

/// A reader waits for the next event instead of polling, and returns it promptly.
async fn reader_waits_for_new_events(b: SharedBroker) {
    let mut reader = b.reader(b.partition_of(C)).await.unwrap();
    let empty = reader
        .next(&Cursor::after(0), 10, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(empty.events.is_empty());
    assert!(!empty.epoch.is_empty());
    let publisher = b.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        publisher.publish(event("late")).await.unwrap();
    });
    let batch = reader
        .next(&Cursor::after(0), 10, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0].event.id, "late");
}

/// A reader that comes back after missing events gets all of them from its last position.
async fn reader_catches_up_from_its_last_offset(b: SharedBroker) {
    let mut reader = b.reader(b.partition_of(C)).await.unwrap();
    b.publish(event("x1")).await.unwrap();
    let first = reader
        .next(&Cursor::after(0), 10, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(first.events.len(), 1);
    for i in 2..=30 {
        b.publish(event(&format!("x{i}"))).await.unwrap();
    }
    let mut got = Vec::new();
    let mut after = 1;
    while got.len() < 29 {
        let batch = reader
            .next(&Cursor::after(after), 7, Duration::from_secs(5))
            .await
            .unwrap();
        for e in batch.events {
            after = e.position;
            got.push(e.offset);
        }
    }
    assert_eq!(got, (2..=30).collect::<Vec<_>>());
}

/// Status reports one stable epoch and the ends of the channel and of its partition.
async fn status_reports_epoch_and_ends(b: SharedBroker) {
    let s0 = b.channel_status(C).await.unwrap();
    assert_eq!((s0.latest, s0.oldest), (0, 1));
    b.publish(event("s1")).await.unwrap();
    let s1 = b.channel_status(C).await.unwrap();
    assert_eq!((s1.latest, s1.oldest), (1, 1));
    assert_eq!(s0.epoch, s1.epoch);
    assert_eq!(b.history(C, 0, 1).await.unwrap().epoch, s1.epoch);
    let p = b.status(b.partition_of(C)).await.unwrap();
    assert_eq!(
        (p.latest, p.oldest, p.epoch.as_str()),
        (1, 1, s1.epoch.as_str())
    );
    let read = b.read(b.partition_of(C), 0, 10).await.unwrap();
    assert_eq!(read.events.len(), 1);
    assert_eq!((read.events[0].position, read.events[0].offset), (1, 1));
}

/// A batch is stored in its order, one result per event in the same order; a duplicate in
/// it (of an earlier event, or of one earlier in the batch) is answered with the first
/// offset and stores nothing.
async fn a_batch_is_stored_in_its_order(b: SharedBroker) {
    b.publish(event("before")).await.unwrap();
    let ids = ["p0", "p1", "before", "p2", "p1", "p3"];
    let results = b
        .publish_all(ids.iter().map(|id| event(id)).collect())
        .await;
    let got: Vec<(u64, bool)> = results
        .into_iter()
        .map(|r| {
            let p = r.unwrap();
            (p.offset, p.duplicate)
        })
        .collect();
    assert_eq!(
        got,
        [
            (2, false),
            (3, false),
            (1, true),
            (4, false),
            (3, true),
            (5, false)
        ]
    );
    let stored: Vec<String> = b
        .history(C, 0, 10)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.event.id)
        .collect();
    assert_eq!(stored, ["before", "p0", "p1", "p2", "p3"]);
    assert!(b.publish_all(Vec::new()).await.is_empty());
}

const HISTORY: usize = 100;

with_both_brokers!(
    history = super::HISTORY;
    offsets_are_dense_and_reads_are_ordered,
    publish_is_idempotent_by_id,
    concurrent_duplicates_are_stored_once,
    concurrent_publishes_get_distinct_dense_offsets,
    history_is_bounded,
    reader_waits_for_new_events,
    reader_catches_up_from_its_last_offset,
    status_reports_epoch_and_ends,
    a_batch_is_stored_in_its_order,
);

/// Two brokers on one Redis with the same prefix share one log (regions on different
/// machines); different prefixes are independent logs.
#[tokio::test]
async fn redis_brokers_with_one_prefix_share_one_log() {
    let server = RedisServer::start();
    let prefix = common::unique_prefix();
    let a = common::redis_broker_with_prefix(&server, &prefix, HISTORY).await;
    let b = common::redis_broker_with_prefix(&server, &prefix, HISTORY).await;
    let other = common::redis_broker(&server, HISTORY).await;
    assert_eq!(a.publish(event("one")).await.unwrap().offset, 1);
    assert_eq!(b.publish(event("two")).await.unwrap().offset, 2);
    assert!(b.publish(event("one")).await.unwrap().duplicate);
    assert_eq!(
        a.channel_status(C).await.unwrap().epoch,
        b.channel_status(C).await.unwrap().epoch
    );
    assert_eq!(other.publish(event("one")).await.unwrap().offset, 1);
}

/// The whole contract on a Redis Cluster of 3 primaries with a replica each (every key of a
/// log shares one hash tag, so the log lives in one slot and its Lua scripts run there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_passes_the_contract() {
    let cluster = redis_topology::Cluster::start();
    let broker = || async {
        let config = server_core::broker::RedisConfig {
            prefix: common::unique_prefix(),
            history: HISTORY,
            ..server_core::broker::RedisConfig::new(cluster.url())
        };
        let broker = server_core::broker::RedisBroker::connect(config)
            .await
            .expect("connect to the test's cluster");
        std::sync::Arc::new(broker) as SharedBroker
    };
    offsets_are_dense_and_reads_are_ordered(broker().await).await;
    publish_is_idempotent_by_id(broker().await).await;
    concurrent_duplicates_are_stored_once(broker().await).await;
    concurrent_publishes_get_distinct_dense_offsets(broker().await).await;
    history_is_bounded(broker().await).await;
    reader_waits_for_new_events(broker().await).await;
    reader_catches_up_from_its_last_offset(broker().await).await;
    status_reports_epoch_and_ends(broker().await).await;
    a_batch_is_stored_in_its_order(broker().await).await;
}
