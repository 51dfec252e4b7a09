//! Presence across Redis faults: Redis SIGKILLed and restarted empty, restarted from an older
//! snapshot (members that left since are back in it; members that joined since are not),
//! a Sentinel failover, and a leave the broker lost without anyone noticing (acked by a
//! primary that died before its replica had it). Each time every region's watcher ends with exactly the live
//! members (it may get a fresh `presence` list on the way), and changes flow again after.
//! Each prints members, joins, leaves, lists, ghosts, missed and the time to converge.

#[macro_use]
mod common;
mod redis_topology;

use common::{Client, RedisServer, Regions, Watcher};
use redis_topology::{primary_and_replica, sentinel_primary, sentinels, wait_until, Node};
use server_core::broker::presence::{digest, Membership, Update};
use server_core::broker::{Broker, RedisBroker, RedisConfig, SharedBroker};
use server_core::region::RegionConfig;
use server_core::settings::Millis;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];
const ROOM: &str = "room";
const INTERVAL: Duration = Duration::from_millis(250);
const BOUND: Duration = Duration::from_secs(30);

fn quick_leases(config: &mut RegionConfig) {
    config.clients.presence_interval = Millis(INTERVAL);
}

/// Members and watchers of `ROOM` on every region.
struct Room {
    watchers: Vec<Watcher>,
    members: Vec<(Client, String)>,
}

impl Room {
    async fn start(regions: &Regions, per_region: usize) -> Room {
        let mut watchers = Vec::new();
        for r in REGIONS {
            watchers.push(Watcher::connect(regions.addr(r), &format!("watch-{r}"), ROOM).await);
        }
        let mut room = Room {
            watchers,
            members: Vec::new(),
        };
        for r in REGIONS {
            for i in 0..per_region {
                room.join(regions, r, &format!("{r}-{i}")).await;
            }
        }
        room
    }

    async fn join(&mut self, regions: &Regions, region: &str, name: &str) -> String {
        let query = format!("?channels={ROOM}&name={name}");
        let client = Client::connect_query(regions.addr(region), &query).await;
        let ServerFrame::Welcome {
            member: Some(me), ..
        } = &client.welcome
        else {
            panic!("welcome without member");
        };
        let id = me.id.clone();
        self.members.push((client, id.clone()));
        id
    }

    fn live(&self) -> BTreeSet<String> {
        let mut live: BTreeSet<String> = self.members.iter().map(|(_, id)| id.clone()).collect();
        live.extend(self.watchers.iter().map(|w| w.me.id.clone()));
        live
    }

    /// Watch until every watcher knows exactly the live members; the slowest one's time.
    async fn converge(&mut self, what: &str) -> Duration {
        let live = self.live();
        let mut slowest = Duration::ZERO;
        for w in &mut self.watchers {
            let took = w.until(BOUND, |w| w.members.keys().eq(live.iter())).await;
            let known: BTreeSet<String> = w.members.keys().cloned().collect();
            let took = took.unwrap_or_else(|| {
                panic!(
                    "{what}: {} did not converge within {BOUND:?}: ghosts {:?}, missed {:?}; lists {}, log {:?}",
                    w.me.region,
                    known.difference(&live).collect::<Vec<_>>(),
                    live.difference(&known).collect::<Vec<_>>(), w.lists, w.log
                )
            });
            slowest = slowest.max(took);
        }
        slowest
    }

    /// After a fault: converged (after a fresh list, when the log was lost or went back, so
    /// `relisted`), then one member leaves and one joins, and every watcher sees both; print
    /// the figures.
    async fn settle(&mut self, regions: &Regions, what: &str, since: Instant, relisted: bool) {
        if relisted {
            for w in &mut self.watchers {
                let listed = w.until(BOUND, |w| w.lists >= 2).await;
                assert!(
                    listed.is_some(),
                    "{what}: {} got no fresh list",
                    w.me.region
                );
            }
        }
        let took = self.converge(what).await.max(since.elapsed());
        let (_, gone) = self.members.remove(0);
        let new = self.join(regions, "us", "late").await;
        self.converge(what).await;
        let live = self.live();
        for w in &self.watchers {
            assert_eq!(
                w.leaves.get(&gone).copied().unwrap_or(0).min(1),
                1,
                "{what}: the leave after the fault"
            );
            assert!(
                w.joins.contains_key(&new),
                "{what}: the join after the fault"
            );
            let known: BTreeSet<String> = w.members.keys().cloned().collect();
            assert_eq!(known, live, "{what}: {} exact", w.me.region);
            eprintln!(
                "presence, {what}: {} watcher: members {}, joins {}, leaves {}, lists {}, ghosts 0, missed 0; exact again {took:?} after the fault",
                w.me.region,
                w.members.len(),
                w.joins.values().sum::<usize>(),
                w.leaves.values().sum::<usize>(),
                w.lists
            );
        }
    }
}

async fn regions_on(broker: RedisBroker) -> Regions {
    let broker: SharedBroker = Arc::new(broker);
    Regions::start_with(&REGIONS, broker, quick_leases).await
}

/// Redis SIGKILLed and restarted empty: presence is rebuilt from every region's roster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_empty_rebuilds_presence() {
    let mut redis = RedisServer::start();
    let regions = regions_on(common::redis_broker(&redis, 1000).await).await;
    let mut room = Room::start(&regions, 4).await;
    room.converge("before").await;
    let fault = Instant::now();
    redis.restart();
    room.settle(&regions, "Redis restarted empty", fault, true)
        .await;
}

/// Redis restarted from a snapshot taken before some members left and others joined: the
/// ones that left are not back for good, the ones that joined are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restored_from_an_older_snapshot_rebuilds_presence() {
    let mut redis = RedisServer::start();
    let regions = regions_on(common::redis_broker(&redis, 1000).await).await;
    let mut room = Room::start(&regions, 4).await;
    room.converge("before").await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut conn).await.unwrap();
    // After the snapshot: two leave, two join.
    room.members.drain(..2);
    room.join(&regions, "eu", "after-1").await;
    room.join(&regions, "as", "after-2").await;
    room.converge("after the snapshot").await;
    let fault = Instant::now();
    redis.restart();
    room.settle(
        &regions,
        "Redis restored from an older snapshot",
        fault,
        true,
    )
    .await;
}

/// The Sentinel-monitored primary is SIGKILLed and the replica promoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_rebuilds_presence() {
    let (mut primary, replica): (Node, Node) = primary_and_replica();
    let sentinels = sentinels(&primary, "mrs", 1);
    let list: Vec<String> = sentinels.iter().map(Node::addr).collect();
    let config = RedisConfig::new(format!("redis+sentinel://{}/mrs", list.join(",")));
    let broker = RedisBroker::connect(config).await.unwrap();
    let regions = regions_on(broker).await;
    let mut room = Room::start(&regions, 4).await;
    room.converge("before").await;
    let fault = Instant::now();
    primary.kill();
    let promoted = replica.addr();
    wait_until("the sentinels to promote the replica", || {
        sentinel_primary(sentinels[0].port, "mrs") == promoted
    });
    room.settle(&regions, "Sentinel failover", fault, false)
        .await;
}

/// A leave the broker lost with nothing to tell of it (a primary acked it and died before its
/// replica had it; the lease survived, so no lease was made anew): the broker holds a member
/// of a live region that the region no longer has. The region's rotating check resyncs the
/// partition, and every watcher gets one `leave` of the ghost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_the_broker_lost_unnoticed_is_repaired() {
    let redis = RedisServer::start();
    let prefix = common::unique_prefix();
    let regions = regions_on(common::redis_broker_with_prefix(&redis, &prefix, 1000).await).await;
    let mut room = Room::start(&regions, 2).await;
    room.converge("before").await;
    // The state a lost leave leaves behind: a member under AS's live instance, in the broker
    // only (written as the region's own writer would have before its leave was lost).
    let (instance, _) = room.watchers[0].me.id.rsplit_once('.').unwrap();
    let ghost = format!("{instance}.999999");
    let member = wire::Member {
        id: ghost.clone(),
        name: "ghost".into(),
        region: "as".into(),
        since: 1,
    };
    let writer = common::redis_broker_with_prefix(&redis, &prefix, 1000).await;
    let refused = writer
        .update(vec![Update::Join(Membership {
            channel: ROOM.into(),
            member,
            instance: instance.to_owned(),
        })])
        .await
        .unwrap();
    assert!(
        refused.is_empty(),
        "AS's lease is live, so the join is taken"
    );
    for w in &mut room.watchers {
        let seen = w.until(BOUND, |w| w.joins.contains_key(&ghost)).await;
        assert!(seen.is_some(), "{}: the ghost's join", w.me.region);
    }
    let fault = Instant::now();
    let took = room.converge("a lost leave").await;
    for w in &room.watchers {
        assert_eq!(
            w.leaves.get(&ghost),
            Some(&1),
            "{}: one leave of the ghost",
            w.me.region
        );
    }
    eprintln!("presence, a lost leave: every watcher exact again {took:?} ({:?} after the ghost was seen)", fault.elapsed());
    room.settle(&regions, "a lost leave", fault, false).await;
}

/// What the regions' rotating check relies on: the broker's count and digest of an
/// instance's members of a partition follow every join, leave and resync, and agree with
/// `presence::digest` of the same members (so a partition in sync costs one cheap call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_tells_a_partition_in_sync_by_count_and_digest() {
    let redis = RedisServer::start();
    let broker = common::redis_broker(&redis, 1000).await;
    let instance = "as-0000test";
    broker
        .renew(instance, Duration::from_secs(30), false)
        .await
        .unwrap();
    let m = |i: u32| Membership {
        channel: ROOM.into(),
        member: wire::Member {
            id: format!("{instance}.{i}"),
            name: format!("m{i}"),
            region: "as".into(),
            since: u64::from(i),
        },
        instance: instance.into(),
    };
    let p = broker.partition_of(ROOM);
    let in_sync = |live: Vec<Membership>| {
        let broker = &broker;
        async move {
            broker
                .in_sync(p, instance, live.len(), digest(&live))
                .await
                .unwrap()
        }
    };
    assert!(in_sync(vec![]).await, "none yet");
    let joins = (1..=3).map(|i| Update::Join(m(i))).collect();
    broker.update(joins).await.unwrap();
    assert!(in_sync(vec![m(1), m(2), m(3)]).await);
    assert!(in_sync(vec![m(3), m(1), m(2)]).await, "in any order");
    assert!(!in_sync(vec![m(1), m(2)]).await, "one more in the broker");
    assert!(
        !in_sync(vec![m(1), m(2), m(4)]).await,
        "as many, another one"
    );
    let leave = Update::Leave {
        channel: ROOM.into(),
        id: m(3).member.id,
    };
    broker.update(vec![leave]).await.unwrap();
    assert!(in_sync(vec![m(1), m(2)]).await);
    broker
        .resync(p, instance, Duration::from_secs(30), &[m(2), m(5)])
        .await
        .unwrap();
    assert!(in_sync(vec![m(5), m(2)]).await, "after a resync");
    broker.release(instance).await.unwrap();
    assert!(in_sync(vec![]).await, "released");
}
