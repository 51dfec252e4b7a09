//! The broker contract between channels (see `server_core::broker`), run against every
//! broker: the embedded `MemoryBroker`, the `RedisBroker` on a `redis-server` of the test's
//! own, and on a Redis Cluster of 3 primaries (where the partitions spread over the shards).

#[macro_use]
mod common;
mod redis_topology;

use common::event_on;
use server_core::broker::{Cursor, Partition, SharedBroker};
use std::collections::HashMap;
use std::time::Duration;

/// Events kept per partition by every broker of this suite.
const HISTORY: usize = 100;

/// Two channel names that live in one partition of `b`, and one that lives in another.
fn names(b: &SharedBroker) -> (String, String, String) {
    let mut by_partition: HashMap<Partition, Vec<String>> = HashMap::new();
    for i in 0.. {
        let name = format!("room-{i}");
        let list = by_partition.entry(b.partition_of(&name)).or_default();
        list.push(name);
        if list.len() == 2 {
            let (a, b2) = (list[0].clone(), list[1].clone());
            let p = b.partition_of(&a);
            let other = (0..)
                .map(|j| format!("other-{j}"))
                .find(|n| b.partition_of(n) != p)
                .expect("another partition");
            return (a, b2, other);
        }
    }
    unreachable!()
}

/// Each channel has its own dense offsets from 1, whatever the others do, and its history
/// holds its events only.
async fn channels_have_their_own_dense_offsets(b: SharedBroker) {
    let (x, y, z) = names(&b);
    for i in 1..=10u64 {
        for c in [&x, &y, &z] {
            let p = b.publish(event_on(c, &format!("{c}-{i}"))).await.unwrap();
            assert_eq!((p.offset, p.duplicate), (i, false), "{c}");
        }
    }
    for c in [&x, &y, &z] {
        let h = b.history(c, 0, 100).await.unwrap();
        let got: Vec<(u64, String)> = h
            .events
            .iter()
            .map(|e| (e.offset, e.event.id.clone()))
            .collect();
        let want: Vec<(u64, String)> = (1..=10).map(|i| (i, format!("{c}-{i}"))).collect();
        assert_eq!(got, want, "{c}");
        assert!(h.events.iter().all(|e| e.event.channel == *c));
        let s = b.channel_status(c).await.unwrap();
        assert_eq!((s.latest, s.oldest), (10, 1), "{c}");
    }
    let after = b.history(&x, 7, 100).await.unwrap();
    assert_eq!(
        after.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [8, 9, 10]
    );
}

/// An id is unique within its channel: the same id in another channel is another event;
/// again in its own channel it is a duplicate with the first offset.
async fn an_id_is_unique_within_its_channel(b: SharedBroker) {
    let (x, y, z) = names(&b);
    b.publish(event_on(&x, "first")).await.unwrap();
    let in_x = b.publish(event_on(&x, "same")).await.unwrap();
    let in_y = b.publish(event_on(&y, "same")).await.unwrap();
    let in_z = b.publish(event_on(&z, "same")).await.unwrap();
    assert_eq!((in_x.offset, in_y.offset, in_z.offset), (2, 1, 1));
    assert!(!in_x.duplicate && !in_y.duplicate && !in_z.duplicate);
    let again = b.publish(event_on(&y, "same")).await.unwrap();
    assert_eq!((again.offset, again.duplicate), (1, true));
    assert_eq!(b.channel_status(&y).await.unwrap().latest, 1);
}

/// A partition's reader sees its channels' events interleaved in position order (dense
/// positions), each with its channel's offset; nothing of another partition's channels.
async fn a_partition_holds_its_channels_in_position_order(b: SharedBroker) {
    let (x, y, z) = names(&b);
    for i in 1..=6 {
        for c in [&x, &z, &y] {
            b.publish(event_on(c, &format!("{c}-{i}"))).await.unwrap();
        }
    }
    let mut reader = b.reader(b.partition_of(&x)).await.unwrap();
    let batch = reader
        .next(&Cursor::after(0), 100, Duration::from_secs(5))
        .await
        .unwrap();
    let got: Vec<(u64, String, u64)> = batch
        .events
        .iter()
        .map(|e| (e.position, e.event.channel.clone(), e.offset))
        .collect();
    let want: Vec<(u64, String, u64)> = (1..=6)
        .flat_map(|i| [(x.clone(), i), (y.clone(), i)])
        .enumerate()
        .map(|(n, (c, i))| (n as u64 + 1, c, i))
        .collect();
    assert_eq!(got, want);
    assert_eq!(b.status(b.partition_of(&x)).await.unwrap().latest, 12);
    let other = b.read(b.partition_of(&z), 0, 100).await.unwrap();
    assert!(other.events.iter().all(|e| e.event.channel == z));
}

/// The history is bounded per partition: a quiet channel beside a busy one of the same
/// partition loses its events to the busy one's, and the gap shows (oldest > latest), while
/// its offsets go on densely.
async fn a_quiet_channel_shares_its_partition_history(b: SharedBroker) {
    let (quiet, busy, _) = names(&b);
    b.publish(event_on(&quiet, "q1")).await.unwrap();
    for i in 0..HISTORY {
        b.publish(event_on(&busy, &format!("b{i}"))).await.unwrap();
    }
    let s = b.channel_status(&quiet).await.unwrap();
    assert_eq!(
        (s.latest, s.oldest),
        (1, 2),
        "its one event is gone, its counter stays"
    );
    assert!(b.history(&quiet, 0, 10).await.unwrap().events.is_empty());
    let next = b.publish(event_on(&quiet, "q2")).await.unwrap();
    assert_eq!(next.offset, 2);
    assert!(
        !b.publish(event_on(&quiet, "q1")).await.unwrap().duplicate,
        "an id gone with its event is forgotten"
    );
    let busy_status = b.channel_status(&busy).await.unwrap();
    assert_eq!(busy_status.latest, HISTORY as u64);
    assert_eq!(busy_status.oldest, 3, "q2 and the new q1 pushed two out");
}

/// A batch over several channels (and partitions): one result per event in the batch's
/// order; each channel's events stored in their order in the batch.
async fn a_batch_over_channels_keeps_each_channels_order(b: SharedBroker) {
    let (x, y, z) = names(&b);
    let batch: Vec<_> = (0..30)
        .map(|i| {
            let c = [&x, &y, &z][i % 3];
            event_on(c, &format!("{c}-{}", i / 3))
        })
        .collect();
    let results = b.publish_all(batch.clone()).await;
    for (e, r) in batch.iter().zip(&results) {
        let n: u64 = e.id.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(r.as_ref().unwrap().offset, n + 1, "{}", e.id);
    }
    for c in [&x, &y, &z] {
        let ids: Vec<String> = b
            .history(c, 0, 100)
            .await
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.event.id)
            .collect();
        let want: Vec<String> = (0..10).map(|i| format!("{c}-{i}")).collect();
        assert_eq!(ids, want);
    }
}

/// A channel never used stands at 0, in its partition's epoch.
async fn an_unused_channel_stands_at_zero(b: SharedBroker) {
    let s = b.channel_status("never-used").await.unwrap();
    assert_eq!((s.latest, s.oldest), (0, 1));
    let p = b.status(b.partition_of("never-used")).await.unwrap();
    assert_eq!(s.epoch, p.epoch);
    assert!(!s.epoch.is_empty());
}

with_both_brokers!(
    history = super::HISTORY;
    channels_have_their_own_dense_offsets,
    an_id_is_unique_within_its_channel,
    a_partition_holds_its_channels_in_position_order,
    a_quiet_channel_shares_its_partition_history,
    a_batch_over_channels_keeps_each_channels_order,
    an_unused_channel_stands_at_zero,
);

/// The same contract on a Redis Cluster of 3 primaries with a replica each: each partition
/// is one slot, the partitions spread over the shards (4 of 12 each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_passes_the_channel_contract() {
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
    channels_have_their_own_dense_offsets(broker().await).await;
    an_id_is_unique_within_its_channel(broker().await).await;
    a_partition_holds_its_channels_in_position_order(broker().await).await;
    a_quiet_channel_shares_its_partition_history(broker().await).await;
    a_batch_over_channels_keeps_each_channels_order(broker().await).await;
    an_unused_channel_stands_at_zero(broker().await).await;
}

/// Every process sharing a log splits it into the same partitions: one configured with
/// another number is refused at connect, saying what to change.
#[tokio::test]
async fn another_number_of_partitions_is_refused() {
    let server = common::RedisServer::start();
    let config = server_core::broker::RedisConfig {
        prefix: common::unique_prefix(),
        ..server_core::broker::RedisConfig::new(server.url())
    };
    server_core::broker::RedisBroker::connect(config.clone())
        .await
        .unwrap();
    let other = server_core::broker::RedisConfig {
        partitions: 8,
        ..config
    };
    let Err(e) = server_core::broker::RedisBroker::connect(other).await else {
        panic!("a log of 12 partitions was opened with 8");
    };
    assert!(
        matches!(e, server_core::error::BrokerError::Config(_)),
        "{e}"
    );
    assert!(e.to_string().contains("--partitions 12"), "{e}");
}
