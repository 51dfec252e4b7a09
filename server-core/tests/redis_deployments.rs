//! Redis as people run it in production, each deployment started by the test: durable acks
//! with a replica, a Sentinel failover while three regions publish, and the settings refused
//! at connect. Every failover scenario counts published, acked, delivered, lost, duplicated,
//! and the time to recover.

#[macro_use]
mod common;
mod redis_topology;

use common::{event, Client, PublishReport, RedisServer, Regions};
use redis_topology::{primary_and_replica, sentinel_primary, sentinels, wait_until, Cluster, Node};
use server_core::broker::{Acks, Broker, RedisBroker, RedisConfig};
use server_core::error::BrokerError;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];

fn durable(url: String) -> RedisConfig {
    RedisConfig {
        prefix: common::unique_prefix(),
        acks: Acks::Replicas(1),
        ack_timeout: Duration::from_millis(500),
        ..RedisConfig::new(url)
    }
}

/// With `--acks replicas:1`, the primary is SIGKILLed while three publishers go on, and the
/// replica is promoted (`REPLICAOF NO ONE`): it holds every event that was acked, at the
/// offset it was acked with. Publishes that could not be confirmed failed with a temporary
/// error instead of an ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_acks_are_all_on_the_promoted_replica() {
    let (mut primary, replica) = primary_and_replica();
    let config = durable(primary.url());
    let broker = RedisBroker::connect(config.clone()).await.unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for p in 0..3 {
        let (broker, acked, stop) = (broker.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match broker.publish(event(&format!("p{p}-{i}"))).await {
                    Ok(published) => acked
                        .lock()
                        .unwrap()
                        .push((format!("p{p}-{i}"), published.offset)),
                    Err(BrokerError::Unavailable(_) | BrokerError::NotDurable(_)) => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            refused
        }));
    }
    // Kill the primary once the stream is under way (on a loaded machine the first acks can
    // take longer than any fixed pause).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while acked.lock().unwrap().len() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stream of acks within 15 s ({} acked)",
            acked.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    primary.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    assert_eq!(replica.cli(&["REPLICAOF", "NO", "ONE"]), "OK");
    let promoted = RedisBroker::connect(RedisConfig {
        url: replica.url(),
        ..config
    })
    .await
    .unwrap();
    let log = promoted.history(wire::GLOBAL, 0, 1_000_000).await.unwrap();
    let held: HashMap<u64, String> = log
        .events
        .into_iter()
        .map(|e| (e.offset, e.event.id))
        .collect();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "the stream was under way: {}",
        acked.len()
    );
    let lost: Vec<_> = acked
        .iter()
        .filter(|(id, offset)| held.get(offset) != Some(id))
        .collect();
    assert!(lost.is_empty(), "acked but not on the replica: {lost:?}");
    eprintln!(
        "durable acks, primary killed: acked {}, refused (temporary) {refused}, on the promoted replica {}, acked lost 0",
        acked.len(),
        held.len()
    );
}

/// Ids each region publishes in a failover scenario.
const PER_REGION: usize = 60;

/// The three regions on a broker for `config`, one watcher on each, and one publisher per
/// region ([`PER_REGION`] ids, 10 ms apart, retried by id until acked), under way for 400 ms.
async fn start_publishing(
    config: RedisConfig,
) -> (Regions, Vec<Client>, Vec<JoinHandle<PublishReport>>) {
    let broker = RedisBroker::connect(config).await.unwrap();
    let regions = Regions::start(&REGIONS, Arc::new(broker)).await;
    let watchers = regions.clients(&REGIONS, 1).await;
    let publishers = common::spawn_publishers(
        &regions,
        &REGIONS,
        PER_REGION,
        "",
        Duration::from_millis(10),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    (regions, watchers, publishers)
}

/// Wait for the publishers: the ids acked (every one of them), and the time to recover, the
/// longest pause in acks (all publishers together) after `killed`.
async fn finish_publishing(
    publishers: Vec<JoinHandle<PublishReport>>,
    killed: Instant,
) -> (HashSet<String>, Duration) {
    let acked = common::join_publishers(publishers).await.acked;
    let mut times: Vec<Instant> = acked.iter().map(|a| a.at).collect();
    times.push(killed);
    times.sort();
    let recovered = times
        .windows(2)
        .filter(|w| w[1] > killed)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let ids: HashSet<String> = acked.into_iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 3 * PER_REGION);
    (ids, recovered)
}

/// What watcher `i` got (`(epoch, id)`) holds no id twice in one epoch.
fn assert_once_per_epoch(i: usize, got: &[(String, String)]) {
    let mut once = HashSet::new();
    for (epoch, id) in got {
        assert!(
            once.insert((epoch, id)),
            "watcher {i}: {id} twice in one epoch"
        );
    }
}

/// Events (with their epoch) and announcements, until every id of `ids` arrived, or, once an
/// announcement came, until nothing more arrives for 2 s (what is then missing is covered by it).
async fn watch_ids(client: &mut Client, ids: &HashSet<String>) -> (Vec<(String, String)>, usize) {
    let ServerFrame::Welcome { epoch, .. } = client.welcome.clone() else {
        unreachable!()
    };
    let mut epoch = epoch;
    let mut got = Vec::new();
    let mut announcements = 0;
    let mut seen = HashSet::new();
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
                if ids.contains(&e.id) {
                    seen.insert(e.id.clone());
                }
                got.push((epoch.clone(), e.id));
            }
            ServerFrame::Epoch { epoch: new, .. } => {
                announcements += 1;
                epoch = new;
            }
            _ => {}
        }
    }
    (got, announcements)
}

/// Three regions publish through Sentinel (`redis+sentinel://…/mrs`) with `--acks
/// replicas:1` while the primary is SIGKILLed: the Sentinels promote the replica, the regions
/// follow it, every acked event reaches every client, and none twice in one epoch (an
/// event delivered before an announced new epoch may come again after it: its publisher
/// had not been acked and retried it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_with_durable_acks_loses_nothing_acked() {
    sentinel_failover(Acks::Replicas(1)).await;
}

/// The same without durable acks: an acked event the promoted replica had not received may be
/// lost, but never silently: a client that misses one got an `epoch` announcement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_without_durable_acks_announces_any_loss() {
    sentinel_failover(Acks::Primary).await;
}

async fn sentinel_failover(acks: Acks) {
    let (mut primary, replica) = primary_and_replica();
    let sentinels = sentinels(&primary, "mrs", 1);
    let list: Vec<String> = sentinels.iter().map(Node::addr).collect();
    let url = format!("redis+sentinel://{}/mrs", list.join(","));
    let config = RedisConfig {
        acks,
        ..durable(url)
    };
    let (_regions, mut watchers, publishers) = start_publishing(config).await;
    let killed = Instant::now();
    primary.kill();
    let promoted = replica.addr();
    wait_until("the sentinels to promote the replica", || {
        sentinel_primary(sentinels[0].port, "mrs") == promoted
    });
    let failed_over = killed.elapsed();
    // The operator brings the old primary back as a replica, so acks can be durable again.
    primary.restart_with(&["--replicaof", "127.0.0.1", &replica.port.to_string()]);
    let (ids, recovered) = finish_publishing(publishers, killed).await;
    let (mut announced, mut lost) = (0, 0);
    for (i, w) in watchers.iter_mut().enumerate() {
        let (got, announcements) = watch_ids(w, &ids).await;
        announced += announcements;
        assert_once_per_epoch(i, &got);
        let delivered: HashSet<&String> = got.iter().map(|(_, id)| id).collect();
        let missing = ids.iter().filter(|id| !delivered.contains(id)).count();
        if acks != Acks::Primary {
            assert_eq!(
                missing, 0,
                "watcher {i}: acked events lost with durable acks"
            );
        }
        assert!(
            missing == 0 || announcements > 0,
            "watcher {i}: {missing} acked events missing without an announcement"
        );
        lost += missing;
    }
    eprintln!(
        "sentinel failover ({acks:?}): published {}, acked {}, lost {lost} (summed over 3 clients, all announced), duplicated 0 within an epoch, announcements {announced}; sentinels promoted the replica after {failed_over:?}, longest pause in acks {recovered:?}",
        ids.len(), ids.len()
    );
}

/// Three regions publish through a Redis Cluster (`redis+cluster://…`) with `--acks
/// replicas:1` while the primary holding the log's slot is SIGKILLed: its replica takes over,
/// the regions follow, every acked event reaches every client, none twice in one epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_failover_with_durable_acks_loses_nothing_acked() {
    let mut cluster = Cluster::start();
    let config = durable(cluster.url());
    let key = format!("{{{}}}:log", config.prefix);
    let (_regions, mut watchers, publishers) = start_publishing(config).await;
    let victim = cluster.primary_of(&key);
    let killed = Instant::now();
    cluster.nodes[victim].kill();
    wait_until("a replica to take over the log's slot", || {
        cluster.try_primary_of(&key).is_some_and(|p| p != victim)
    });
    let failed_over = killed.elapsed();
    // The operator restarts the lost node: it rejoins as a replica of the new primary.
    cluster.nodes[victim].restart();
    let (ids, recovered) = finish_publishing(publishers, killed).await;
    let mut announced = 0;
    for (i, w) in watchers.iter_mut().enumerate() {
        let (got, announcements) = watch_ids(w, &ids).await;
        announced += announcements;
        assert_once_per_epoch(i, &got);
    }
    eprintln!(
        "cluster failover (acks replicas:1): published {}, acked {}, delivered to each of 3 clients {}, lost 0, duplicated 0 within an epoch, announcements {announced}; replica took the slot after {failed_over:?}, longest pause in acks {recovered:?}",
        ids.len(), ids.len(), ids.len()
    );
}

/// A Redis that may evict keys is refused at connect, with what to change.
#[tokio::test]
async fn an_evicting_redis_is_refused_with_what_to_change() {
    let redis = RedisServer::start();
    let node_url = redis.url();
    let client = redis::Client::open(node_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query_async(&mut conn)
        .await
        .unwrap();
    let Err(e) = RedisBroker::connect(RedisConfig::new(node_url)).await else {
        panic!("an evicting Redis was accepted");
    };
    assert!(matches!(e, BrokerError::Config(_)), "{e}");
    let message = e.to_string();
    assert!(message.contains("allkeys-lru"), "{message}");
    assert!(message.contains("maxmemory-policy noeviction"), "{message}");
}

/// A `redis+cluster://` URL pointed at a Redis without cluster mode is refused with what to
/// change; a Redis that persists nothing is accepted with a warning (acks not durable).
#[tokio::test]
async fn a_cluster_url_at_a_single_redis_is_refused_and_no_persistence_is_warned() {
    let redis = RedisServer::start();
    let url = format!("redis+cluster://127.0.0.1:{}", redis.port());
    let Err(e) = RedisBroker::connect(RedisConfig::new(url)).await else {
        panic!("a cluster URL at a single Redis was accepted");
    };
    assert!(matches!(e, BrokerError::Config(_)), "{e}");
    assert!(e.to_string().contains("redis://HOST:PORT"), "{e}");
    let broker = RedisBroker::connect(RedisConfig::new(redis.url()))
        .await
        .unwrap();
    assert!(
        broker
            .warnings()
            .iter()
            .any(|w| w.contains("persists nothing")),
        "{:?}",
        broker.warnings()
    );
    let durable = RedisBroker::connect(RedisConfig {
        acks: Acks::Replicas(1),
        ..RedisConfig::new(redis.url())
    })
    .await
    .unwrap();
    assert!(durable.warnings().is_empty(), "{:?}", durable.warnings());
    let persistent = RedisServer::start_persistent();
    let broker = RedisBroker::connect(RedisConfig::new(persistent.url()))
        .await
        .unwrap();
    assert!(broker.warnings().is_empty(), "{:?}", broker.warnings());
}
