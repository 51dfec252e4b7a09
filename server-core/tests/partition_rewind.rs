//! One partition of the log goes back in time while the others do not (on a Cluster, one
//! shard failed over to a replica that lagged; here its keys are restored from an earlier
//! copy of themselves): the subscribers of its channels are told (`epoch` frame with
//! `lost_after`) and then get every new event once, in order; the subscribers of channels
//! of other partitions are told nothing and miss nothing.

#[macro_use]
mod common;

use common::{Client, RedisServer, Regions};
use server_core::broker::{Broker, RedisBroker, RedisConfig};
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

/// Every key of one partition (hash tag `tag`), with the channel streams of `channels`.
fn keys_of(tag: &str, channels: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = ["log", "seq", "ids", "epoch", "chseq"]
        .iter()
        .map(|k| format!("{{{tag}}}:{k}"))
        .collect();
    keys.extend(channels.iter().map(|c| format!("{{{tag}}}:ch:{c}")));
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewound_partition_is_announced_to_its_channels_only() {
    let redis = RedisServer::start();
    let config = RedisConfig {
        prefix: common::unique_prefix(),
        ..RedisConfig::new(redis.url())
    };
    let broker = RedisBroker::connect(config).await.unwrap();
    let (hit, spared) = ("hit", "spared");
    assert_ne!(broker.partition_of(hit), broker.partition_of(spared));
    let tag = broker.partition_tag(broker.partition_of(hit));
    let regions = Regions::start(&["as", "us"], Arc::new(broker)).await;
    let mut p = Client::connect(regions.addr("as")).await;
    let mut of_hit = Client::connect_query(regions.addr("us"), "?channels=hit").await;
    let mut of_spared = Client::connect_query(regions.addr("us"), "?channels=spared").await;
    for i in 1..=10 {
        p.publish_and_wait_on(hit, &format!("h{i}")).await;
        p.publish_and_wait_on(spared, &format!("s{i}")).await;
    }
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys = keys_of(&tag, &[hit]);
    let mut copies = Vec::new();
    for k in &keys {
        let dump: Option<Vec<u8>> = redis::cmd("DUMP")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
        copies.push((k.clone(), dump.expect("the key exists")));
    }
    for i in 11..=20 {
        p.publish_and_wait_on(hit, &format!("h{i}")).await;
        p.publish_and_wait_on(spared, &format!("s{i}")).await;
    }
    assert_eq!(of_hit.events(20).await.len(), 20);
    assert_eq!(of_spared.events(20).await.len(), 20);
    // The partition of `hit` goes back to its copy of ten events ago.
    for (k, dump) in &copies {
        let _: () = redis::cmd("RESTORE")
            .arg(k)
            .arg(0)
            .arg(dump.as_slice())
            .arg("REPLACE")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let announced = loop {
        match of_hit.next().await {
            ServerFrame::Epoch {
                channel,
                lost_after,
                ..
            } => break (channel, lost_after),
            ServerFrame::Event(e) => {
                panic!("an event of the rewound log before its announcement: {e:?}")
            }
            _ => {}
        }
    };
    assert_eq!(
        announced,
        (hit.to_string(), 10),
        "events after 10 may be lost"
    );
    for i in 21..=25 {
        p.publish_and_wait_on(hit, &format!("h{i}")).await;
        p.publish_and_wait_on(spared, &format!("s{i}")).await;
    }
    let after: Vec<(u64, String)> = of_hit
        .events(5)
        .await
        .into_iter()
        .map(|e| (e.offset, e.id))
        .collect();
    let want: Vec<(u64, String)> = (21..=25)
        .zip(11..)
        .map(|(i, o)| (o, format!("h{i}")))
        .collect();
    assert_eq!(after, want, "the new log continues after what it holds");
    let spared_after: Vec<(u64, String)> = of_spared
        .events(5)
        .await
        .into_iter()
        .map(|e| (e.offset, e.id))
        .collect();
    let want: Vec<(u64, String)> = (21..=25).map(|i| (i, format!("s{i}"))).collect();
    assert_eq!(spared_after, want, "the other partition goes on untouched");
    for c in [&mut of_hit, &mut of_spared] {
        while let Some(f) = c.try_next(Duration::from_millis(300)).await {
            assert!(
                !matches!(f, ServerFrame::Epoch { .. } | ServerFrame::Event(_)),
                "{f:?}"
            );
        }
    }
    eprintln!("partition rewind: 20 + 20 published, the partition of `hit` restored to 10: its subscriber told once (lost_after 10), 5 new events at 11..15; `spared`'s subscriber told nothing, got 21..25");
}
