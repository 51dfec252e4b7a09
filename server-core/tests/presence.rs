//! Presence end to end: real regions, real WebSocket clients, both brokers. Members join and
//! leave in a random order across three regions, and every watcher ends with exactly the
//! live members, having seen each join and each leave once, in one order; a region that
//! crashes has each of its members leave everywhere once, and nobody else; a region cut off
//! from the broker has its members leave, then join again after the heal, each once.
//! Each scenario prints members, joins, leaves, ghosts, missed and the time to converge.

#[macro_use]
mod common;

use common::{Client, Regions, Watcher};
use rand::seq::SliceRandom;
use server_core::broker::SharedBroker;
use server_core::region::RegionConfig;
use server_core::settings::Millis;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use wire::sim::LinkSettings;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];
const ROOM: &str = "room";
/// Renewal interval of the fault scenarios (the lease lasts three).
const INTERVAL: Duration = Duration::from_millis(250);
/// Wait at most this long for presence to converge (a test fails instead of hanging).
const BOUND: Duration = Duration::from_secs(20);

fn quick_leases(config: &mut RegionConfig) {
    config.clients.presence_interval = Millis(INTERVAL);
}

/// A member of `ROOM` on `region` called `name`: its client and its id.
async fn member(regions: &Regions, region: &str, name: &str) -> (Client, String) {
    let query = format!("?channels={ROOM}&name={name}");
    let client = Client::connect_query(regions.addr(region), &query).await;
    let ServerFrame::Welcome {
        member: Some(me), ..
    } = &client.welcome
    else {
        panic!("welcome without member: {:?}", client.welcome);
    };
    assert_eq!((me.name.as_str(), me.region.as_str()), (name, region));
    let id = me.id.clone();
    (client, id)
}

/// Ghosts (known but not live) and missed (live but not known) of `w` against `live`.
fn ghosts_and_missed(w: &Watcher, live: &BTreeSet<String>) -> (usize, usize) {
    let known: BTreeSet<String> = w.members.keys().cloned().collect();
    (
        known.difference(live).count(),
        live.difference(&known).count(),
    )
}

/// Watch until every watcher knows exactly `live`; the slowest one's time.
async fn converge(watchers: &mut [Watcher], live: &BTreeSet<String>) -> Duration {
    let mut slowest = Duration::ZERO;
    for w in watchers.iter_mut() {
        let took = w.until(BOUND, |w| w.members.keys().eq(live.iter())).await;
        let (ghosts, missed) = ghosts_and_missed(w, live);
        let took = took.unwrap_or_else(|| {
            panic!(
                "{} did not converge within {BOUND:?}: ghosts {ghosts}, missed {missed}",
                w.me.region
            )
        });
        slowest = slowest.max(took);
    }
    slowest
}

/// 3 regions × 8 members join in a random order and half of them leave in a random order:
/// every region's watcher ends with exactly the live members, saw each join and each leave
/// once, in the same order as every other watcher, and `GET /presence` agrees everywhere.
async fn members_join_and_leave_in_one_order(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut watchers = Vec::new();
    for r in REGIONS {
        watchers.push(Watcher::connect(regions.addr(r), &format!("watch-{r}"), ROOM).await);
    }
    let mut slots: Vec<(&str, usize)> = REGIONS
        .iter()
        .flat_map(|r| (0..8).map(move |i| (*r, i)))
        .collect();
    slots.shuffle(&mut rand::rng());
    let started = Instant::now();
    let mut members = Vec::new();
    for (r, i) in &slots {
        members.push(member(&regions, r, &format!("{r}-{i}")).await);
    }
    members.shuffle(&mut rand::rng());
    let leaving: Vec<(Client, String)> = members.split_off(members.len() / 2);
    let left: BTreeSet<String> = leaving.iter().map(|(_, id)| id.clone()).collect();
    for (client, _) in leaving {
        drop(client);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut live: BTreeSet<String> = members.iter().map(|(_, id)| id.clone()).collect();
    live.extend(watchers.iter().map(|w| w.me.id.clone()));
    let took = converge(&mut watchers, &live).await;
    for w in &mut watchers {
        w.drain(Duration::from_millis(300)).await;
    }
    let joined: BTreeSet<String> = live.union(&left).cloned().collect();
    for (k, w) in watchers.iter().enumerate() {
        let (ghosts, missed) = ghosts_and_missed(w, &live);
        // Each watcher saw the joins of everyone who came after it, once each.
        let expected_joins: Vec<&String> = joined
            .iter()
            .filter(|id| !watchers[..=k].iter().any(|v| &&v.me.id == id))
            .collect();
        assert!(
            expected_joins.iter().all(|id| w.joins.get(*id) == Some(&1)),
            "{}: not every join seen once: {:?}",
            w.me.region,
            w.joins
        );
        assert!(
            left.iter().all(|id| w.leaves.get(id) == Some(&1)),
            "{}: not every leave seen once",
            w.me.region
        );
        assert_eq!(
            w.leaves.len(),
            left.len(),
            "{}: a live member left",
            w.me.region
        );
        assert_eq!(
            (ghosts, missed, w.inconsistent),
            (0, 0, 0),
            "{}",
            w.me.region
        );
        eprintln!(
            "presence: {} watcher: members {}, joins {}, leaves {}, ghosts {ghosts}, missed {missed}; converged {took:?} after the last change ({:?} from the first join)",
            w.me.region,
            w.members.len(),
            w.joins.values().sum::<usize>(),
            w.leaves.values().sum::<usize>(),
            started.elapsed()
        );
    }
    // One order: after the last watcher joined, every watcher saw the same changes.
    let last_watcher = watchers.last().unwrap().log.clone();
    for w in &watchers {
        let tail = &w.log[w.log.len() - last_watcher.len()..];
        assert_eq!(
            tail,
            last_watcher.as_slice(),
            "{}: another order",
            w.me.region
        );
    }
    for r in REGIONS {
        let list: serde_json::Value =
            common::http_get_json(regions.addr(r), &format!("/presence?channel={ROOM}")).await;
        let ids: BTreeSet<String> = list["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(list["count"], live.len(), "{r}: GET /presence count");
        assert_eq!(ids, live, "{r}: GET /presence members");
    }
}

/// EU crashes (cut off from the broker, then stopped, so it can release nothing): each of
/// its members leaves everywhere once when its lease runs out, and nobody else leaves.
async fn a_crashed_region_s_members_leave_everywhere_once(broker: SharedBroker) {
    let survivors = Regions::start_with(&["as", "us"], broker.clone(), quick_leases).await;
    let mut crashing = Regions::start_with(&["eu"], broker, quick_leases).await;
    let mut watchers = Vec::new();
    for r in ["as", "us"] {
        watchers.push(Watcher::connect(survivors.addr(r), &format!("watch-{r}"), ROOM).await);
    }
    let mut stay = Vec::new();
    for i in 0..3 {
        stay.push(member(&survivors, "as", &format!("as-{i}")).await);
    }
    let mut doomed_clients = Vec::new();
    for i in 0..5 {
        doomed_clients.push(member(&crashing, "eu", &format!("eu-{i}")).await);
    }
    let doomed: Vec<String> = doomed_clients.iter().map(|(_, id)| id.clone()).collect();
    let mut live: BTreeSet<String> = stay.iter().map(|(_, id)| id.clone()).collect();
    live.extend(watchers.iter().map(|w| w.me.id.clone()));
    let all: BTreeSet<String> = live.iter().chain(&doomed).cloned().collect();
    converge(&mut watchers, &all).await;
    let crashed = Instant::now();
    crashing.link("eu").set(LinkSettings {
        cut_off: true,
        ..LinkSettings::default()
    });
    crashing.stop().await;
    drop(doomed_clients);
    let took = converge(&mut watchers, &live).await.max(crashed.elapsed());
    for w in &mut watchers {
        w.drain(Duration::from_millis(4 * INTERVAL.as_millis() as u64))
            .await;
        let (ghosts, missed) = ghosts_and_missed(w, &live);
        assert!(
            doomed.iter().all(|id| w.leaves.get(id) == Some(&1)),
            "{}: each EU member leaves once",
            w.me.region
        );
        assert_eq!(
            w.leaves.len(),
            doomed.len(),
            "{}: only EU's members leave",
            w.me.region
        );
        assert_eq!(
            (ghosts, missed, w.inconsistent),
            (0, 0, 0),
            "{}",
            w.me.region
        );
        eprintln!(
            "presence, region crashed: {} watcher: members {}, leaves {}, ghosts {ghosts}, missed {missed}; all of EU's members gone {took:?} after the crash (bound: about 4 renewal intervals = {:?})",
            w.me.region,
            w.members.len(),
            w.leaves.len(),
            4 * INTERVAL
        );
    }
    drop(stay);
}

/// EU is cut off from the broker for 8 renewal intervals, then healed: its members leave
/// everywhere once when its lease runs out, and join again once after the heal.
async fn a_partitioned_region_leaves_then_joins_again(broker: SharedBroker) {
    let regions = Regions::start_with(&REGIONS, broker, quick_leases).await;
    let mut watchers = vec![Watcher::connect(regions.addr("as"), "watch-as", ROOM).await];
    let mut eu = Vec::new();
    for i in 0..4 {
        eu.push(member(&regions, "eu", &format!("eu-{i}")).await);
    }
    let eu_ids: BTreeSet<String> = eu.iter().map(|(_, id)| id.clone()).collect();
    let mut live = eu_ids.clone();
    live.insert(watchers[0].me.id.clone());
    converge(&mut watchers, &live).await;
    let cut = Instant::now();
    let link = regions.link("eu");
    link.set(LinkSettings {
        cut_off: true,
        ..LinkSettings::default()
    });
    let without: BTreeSet<String> = [watchers[0].me.id.clone()].into();
    let gone = converge(&mut watchers, &without).await.max(cut.elapsed());
    tokio::time::sleep((8 * INTERVAL).saturating_sub(cut.elapsed())).await;
    let healed = Instant::now();
    link.set(LinkSettings::default());
    let back = converge(&mut watchers, &live).await.max(healed.elapsed());
    let w = &mut watchers[0];
    w.drain(Duration::from_millis(4 * INTERVAL.as_millis() as u64))
        .await;
    let (ghosts, missed) = ghosts_and_missed(w, &live);
    assert!(
        eu_ids.iter().all(|id| w.leaves.get(id) == Some(&1)),
        "each leaves once: {:?}",
        w.leaves
    );
    assert!(
        eu_ids.iter().all(|id| w.joins.get(id) == Some(&2)),
        "each joins again once: {:?}",
        w.joins
    );
    assert_eq!((ghosts, missed, w.inconsistent), (0, 0, 0));
    eprintln!(
        "presence, region partitioned then healed: members {}, joins {}, leaves {}, ghosts {ghosts}, missed {missed}; EU's members gone {gone:?} after the cut, back {back:?} after the heal",
        w.members.len(),
        w.joins.values().sum::<usize>(),
        w.leaves.values().sum::<usize>()
    );
    drop(eu);
}

/// A name that is not one is refused with `invalid_name` before the upgrade; a client may
/// ask for presence with a `subscribe` frame too, and gets the list after `subscribed`.
async fn names_are_checked_and_presence_can_be_asked_later(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let (status, body) =
        common::http_get(regions.addr("us"), "/ws?name=%3Cscript%3E", &upgrade).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_name"), "{body}");
    let (_ana, ana) = member(&regions, "eu", "Ana").await;
    let mut late = Client::connect_query(regions.addr("as"), "?name=Bo").await;
    late.send_text(&format!(
        r#"{{"type":"subscribe","channel":"{ROOM}","presence":true}}"#
    ))
    .await;
    let (_, subscribed) = late.next_other().await;
    assert!(
        matches!(subscribed, ServerFrame::Subscribed { .. }),
        "{subscribed:?}"
    );
    let (_, list) = late.next_other().await;
    let ServerFrame::Presence { count, members, .. } = list else {
        panic!("a presence list follows subscribed: {list:?}");
    };
    assert_eq!(count, members.len());
    // The list is what AS knows now; Ana joined in EU, so AS may learn of her just after:
    // then a `join` follows the list.
    let mut names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let mut listed = members.iter().any(|m| m.id == ana);
    while !listed {
        let Some(frame) = late.try_next(testkit::PATIENCE).await else {
            panic!("Ana is listed or joins after the list: {names:?}");
        };
        if let ServerFrame::Join { member, .. } = frame {
            listed = member.id == ana;
            names.push(member.name);
        }
    }
}

with_both_brokers!(
    history = 1000;
    members_join_and_leave_in_one_order,
    a_crashed_region_s_members_leave_everywhere_once,
    a_partitioned_region_leaves_then_joins_again,
    names_are_checked_and_presence_can_be_asked_later,
);
