//! Channels on a Redis Cluster of 3 primaries with a replica each, one channel on every
//! partition (so on every shard), three regions publishing on all of them with `--acks
//! replicas:1`, while the primary of one shard is SIGKILLed: the channels of the other shards
//! go on being acked (their longest pause in acks is printed beside the killed shard's), the
//! killed shard's channels fail over and lose nothing acked, and every subscriber gets every
//! acked event of every channel, none twice within an epoch.

#[macro_use]
mod common;
mod redis_topology;

use common::{Client, PublishReport, Regions};
use redis_topology::{wait_until, Cluster};
use server_core::broker::{Acks, Broker, Partition, RedisBroker, RedisConfig};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];
/// Ids each region publishes on each channel.
const PER_CHANNEL: usize = 25;

/// One channel name per partition of `broker`.
fn one_per_partition(broker: &RedisBroker) -> BTreeMap<Partition, String> {
    let mut names = BTreeMap::new();
    for i in 0.. {
        let name = format!("ch{i}");
        names.entry(broker.partition_of(&name)).or_insert(name);
        if names.len() == usize::from(broker.partitions()) {
            return names;
        }
    }
    unreachable!()
}

/// The longest pause between two acks of `report` after `killed`.
fn longest_pause(report: &PublishReport, killed: Instant) -> Duration {
    let mut times: Vec<Instant> = report.acked.iter().map(|a| a.at).collect();
    times.push(killed);
    times.sort();
    times
        .windows(2)
        .filter(|w| w[1] > killed)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}

/// Read `client` until it has every id of `ids`, or, once an announcement came, until
/// nothing arrives for 2 s. Events as `(epoch of their channel, channel, id)`.
async fn watch(
    client: &mut Client,
    ids: &HashSet<String>,
) -> (Vec<(String, String, String)>, usize) {
    let ServerFrame::Welcome { channels, .. } = client.welcome.clone() else {
        unreachable!()
    };
    let mut epochs: HashMap<String, String> =
        channels.into_iter().map(|c| (c.channel, c.epoch)).collect();
    let (mut got, mut seen, mut announcements) = (Vec::new(), HashSet::new(), 0);
    while seen.len() < ids.len() {
        let frame = if announcements > 0 {
            match client.try_next(Duration::from_secs(2)).await {
                Some(f) => f,
                None => break,
            }
        } else {
            client.next().await
        };
        match frame {
            ServerFrame::Event(e) => {
                seen.insert(e.id.clone());
                got.push((epochs[&e.channel].clone(), e.channel, e.id));
            }
            ServerFrame::Epoch { channel, epoch, .. } => {
                announcements += 1;
                epochs.insert(channel, epoch);
            }
            _ => {}
        }
    }
    (got, announcements)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_fails_over_and_the_other_shards_channels_go_on() {
    let mut cluster = Cluster::start();
    let config = RedisConfig {
        prefix: common::unique_prefix(),
        acks: Acks::Replicas(1),
        ack_timeout: Duration::from_millis(500),
        ..RedisConfig::new(cluster.url())
    };
    let broker = RedisBroker::connect(config).await.unwrap();
    let channels = one_per_partition(&broker);
    let victim_key = format!("{{{}}}:log", broker.partition_tag(0));
    let shard_of: HashMap<String, usize> = channels
        .iter()
        .map(|(p, c)| {
            (
                c.clone(),
                cluster.primary_of(&format!("{{{}}}:log", broker.partition_tag(*p))),
            )
        })
        .collect();
    let regions = Regions::start(&REGIONS, Arc::new(broker)).await;
    let list: Vec<&str> = channels.values().map(String::as_str).collect();
    let mut watchers = Vec::new();
    for r in REGIONS {
        let query = format!("?channels={}", list.join(","));
        watchers.push(Client::connect_query(regions.addr(r), &query).await);
    }
    let mut publishers = Vec::new();
    for r in REGIONS {
        for c in &list {
            let ids = (0..PER_CHANNEL).map(|i| format!("{r}-{c}-{i}")).collect();
            let (addr, c) = (regions.addr(r), c.to_string());
            publishers.push((
                c.clone(),
                tokio::spawn(async move {
                    common::publish_until_acked_on(addr, &c, ids, Duration::from_millis(40)).await
                }),
            ));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim = cluster.primary_of(&victim_key);
    let killed = Instant::now();
    cluster.nodes[victim].kill();
    wait_until("a replica to take over the killed shard's slots", || {
        cluster
            .try_primary_of(&victim_key)
            .is_some_and(|p| p != victim)
    });
    let failed_over = killed.elapsed();
    cluster.nodes[victim].restart();
    let (mut ids, mut pauses) = (HashSet::new(), BTreeMap::<bool, Duration>::new());
    for (channel, task) in publishers {
        let report = task.await.unwrap();
        assert_eq!(report.acked.len(), PER_CHANNEL, "{channel}: every id acked");
        let on_victim = shard_of[&channel] == victim;
        let pause = pauses.entry(on_victim).or_default();
        *pause = (*pause).max(longest_pause(&report, killed));
        ids.extend(report.acked.into_iter().map(|a| a.id));
    }
    let mut announced = 0;
    for (i, w) in watchers.iter_mut().enumerate() {
        let (got, announcements) = watch(w, &ids).await;
        announced += announcements;
        let mut once = HashSet::new();
        for event in &got {
            assert!(
                once.insert(event),
                "watcher {i}: {event:?} twice in one epoch"
            );
        }
        let delivered: HashSet<&String> = got.iter().map(|(_, _, id)| id).collect();
        let missing = ids.iter().filter(|id| !delivered.contains(id)).count();
        assert_eq!(
            missing, 0,
            "watcher {i}: acked events lost with durable acks"
        );
    }
    eprintln!(
        "cluster channels: {} channels over 3 shards, {} published and acked, delivered to each of 3 watchers, lost 0, duplicated 0 within an epoch, announcements {announced}; the killed shard's replica took over after {failed_over:?}; longest pause in acks: killed shard's channels {:?}, other shards' channels {:?}",
        list.len(),
        ids.len(),
        pauses.get(&true).copied().unwrap_or_default(),
        pauses.get(&false).copied().unwrap_or_default(),
    );
}
