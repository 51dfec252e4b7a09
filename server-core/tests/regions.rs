//! Regions end to end: real WebSockets, real regions, the embedded broker and a real
//! `redis-server` (each scenario runs against both).

#[macro_use]
mod common;

use common::{assert_dense_in_order, Client, RedisServer, Regions};
use server_core::broker::SharedBroker;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];

/// An event published in any region reaches every client of all three regions exactly
/// once, in offset order, and every client sees the same order.
async fn every_event_reaches_every_client_once_in_order(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut clients = Vec::new();
    for r in REGIONS {
        for _ in 0..2 {
            clients.push(Client::connect(regions.addr(r)).await);
        }
    }
    let mut publishers = Vec::new();
    for r in REGIONS {
        publishers.push(Client::connect(regions.addr(r)).await);
    }
    for i in 0..20 {
        for (p, r) in publishers.iter_mut().zip(REGIONS) {
            p.publish(&format!("{r}-{i}")).await;
        }
    }
    let mut orders = Vec::new();
    for c in clients.iter_mut() {
        let events = c.events(60).await;
        assert_dense_in_order(&events, 0);
        let ids: HashSet<_> = events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), 60, "no duplicates");
        for e in &events {
            let origin = e.id.split('-').next().unwrap();
            assert_eq!(e.origin, origin, "origin is the region it was published in");
            assert!(e.published_at <= e.received_at + 1_000_000);
        }
        orders.push(events.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
        c.assert_quiet(Duration::from_millis(200)).await;
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "every client sees the same order"
    );
}

/// A client that reconnects with `since` gets exactly what it missed, then live events,
/// with no gap and no duplicate at the seam — even while publishing goes on.
async fn reconnect_with_since_gets_exactly_what_was_missed(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut publisher = Client::connect(regions.addr("as")).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    for i in 0..10 {
        publisher.publish(&format!("before-{i}")).await;
    }
    let seen = watcher.events(10).await;
    let last = seen.last().unwrap().offset;
    drop(watcher);
    for i in 0..15 {
        publisher.publish_and_wait(&format!("missed-{i}")).await;
    }
    // Keep publishing while the client resumes, so some events land at the seam.
    let addr = regions.addr("as");
    let background = tokio::spawn(async move {
        let mut p = Client::connect(addr).await;
        for i in 0..30 {
            p.publish(&format!("during-{i}")).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        p
    });
    // Resume in a different region than before.
    let mut resumed = Client::connect_since(regions.addr("us"), last).await;
    let mut got = Vec::new();
    let mut caught_up = false;
    while got.len() < 45 {
        match resumed.next().await {
            ServerFrame::Event(e) => got.push(e),
            ServerFrame::CaughtUp { offset, .. } => {
                caught_up = true;
                assert_eq!(offset, got.last().map_or(last, |e| e.offset));
            }
            _ => {}
        }
    }
    assert!(caught_up, "a caught_up frame separates replay from live");
    assert_dense_in_order(&got, last);
    let ids: Vec<_> = got.iter().map(|e| e.id.as_str()).collect();
    let expected: Vec<String> = (0..15)
        .map(|i| format!("missed-{i}"))
        .chain((0..30).map(|i| format!("during-{i}")))
        .collect();
    assert_eq!(ids, expected);
    let _p = background.await.unwrap();
    resumed.assert_quiet(Duration::from_millis(300)).await;
}

/// A publish retried with the same id is stored once and acked with the first offset.
async fn retried_publish_is_stored_once(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    let mut a = Client::connect(regions.addr("as")).await;
    let mut u = Client::connect(regions.addr("us")).await;
    let first = a.publish_and_wait("dup-1").await;
    let again = a.publish_and_wait("dup-1").await;
    let elsewhere = u.publish_and_wait("dup-1").await;
    let ServerFrame::Ack {
        offset,
        duplicate: false,
        ..
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(
        again,
        ServerFrame::Ack {
            id: "dup-1".into(),
            channel: "global".into(),
            offset,
            duplicate: true
        }
    );
    assert_eq!(
        elsewhere,
        ServerFrame::Ack {
            id: "dup-1".into(),
            channel: "global".into(),
            offset,
            duplicate: true
        }
    );
    let events = watcher.events(1).await;
    assert_eq!(events[0].id, "dup-1");
    watcher.assert_quiet(Duration::from_millis(300)).await;
}

/// The welcome frame and `/health` describe the region, its broker and its clients.
async fn welcome_and_health_describe_the_region(broker: SharedBroker) {
    let kind = broker.kind().as_str();
    let regions = Regions::start(&REGIONS, broker).await;
    let mut c = Client::connect(regions.addr("us")).await;
    let ServerFrame::Welcome {
        region,
        broker: b,
        epoch,
        offset,
        ..
    } = c.welcome.clone()
    else {
        unreachable!()
    };
    assert_eq!((region.as_str(), b.as_str(), offset), ("us", kind, 0));
    c.publish_and_wait("h1").await;
    c.events(1).await;
    let before = server_core::event::now_micros();
    let health: wire::Health = common::http_get_json(regions.addr("us"), "/health").await;
    let after = server_core::event::now_micros();
    assert!(
        (before..=after).contains(&health.now),
        "the region's clock when it answered: {} not in {before}..={after}",
        health.now
    );
    assert_eq!(health.region, "us");
    assert_eq!(health.broker.as_str(), kind);
    assert!(health.connected);
    assert_eq!(health.clients, 1);
    assert_eq!(health.offset, 1);
    assert_eq!(health.epoch, epoch);
    let list: Vec<wire::RegionInfo> = common::http_get_json(regions.addr("as"), "/regions").await;
    let names: Vec<_> = list.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, REGIONS);
    assert_eq!(list[2].url, format!("http://{}", regions.addr("eu")));
}

/// A resume from an offset older than the history is told about the gap, then replayed
/// from the oldest kept event.
async fn resume_older_than_history_reports_a_gap(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut p = Client::connect(regions.addr("as")).await;
    for i in 0..30 {
        p.publish_and_wait(&format!("g{i}")).await;
    }
    // The brokers in this file keep HISTORY = 20 events: offsets 11..=30 remain.
    let mut c = Client::connect_since(regions.addr("eu"), 3).await;
    assert_eq!(c.next().await.clone_kind(), "gap");
    let events = c.events(20).await;
    assert_dense_in_order(&events, 10);
}

trait Kind {
    fn clone_kind(&self) -> String;
}
impl Kind for ServerFrame {
    fn clone_kind(&self) -> String {
        serde_json::to_value(self).unwrap()["type"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

const HISTORY: usize = 20;

with_both_brokers!(
    history = 100;
    every_event_reaches_every_client_once_in_order,
    reconnect_with_since_gets_exactly_what_was_missed,
    retried_publish_is_stored_once,
    welcome_and_health_describe_the_region,
);

/// Gap reporting needs a small history on both brokers.
#[tokio::test]
async fn memory_resume_older_than_history_reports_a_gap() {
    resume_older_than_history_reports_a_gap(Arc::new(server_core::broker::MemoryBroker::new(
        HISTORY,
    )))
    .await;
}

/// Gap reporting needs a small history on both brokers.
#[tokio::test]
async fn redis_resume_older_than_history_reports_a_gap() {
    let server = RedisServer::start();
    let broker = common::redis_broker(&server, HISTORY).await;
    resume_older_than_history_reports_a_gap(Arc::new(broker)).await;
}

/// Regions in different processes (here: two clusters with their own brokers) that share
/// one Redis deliver each other's events: this is how regions live on different machines.
#[tokio::test]
async fn regions_on_separate_brokers_sharing_one_redis_sync() {
    let server = RedisServer::start();
    let prefix = common::unique_prefix();
    let one = common::redis_broker_with_prefix(&server, &prefix, 1000).await;
    let two = common::redis_broker_with_prefix(&server, &prefix, 1000).await;
    let a = Regions::start(&["as"], Arc::new(one)).await;
    let b = Regions::start(&["us", "eu"], Arc::new(two)).await;
    let mut in_eu = Client::connect(b.addr("eu")).await;
    let mut in_as = Client::connect(a.addr("as")).await;
    in_as.publish_and_wait("from-as").await;
    let mut in_us = Client::connect(b.addr("us")).await;
    in_us.publish_and_wait("from-us").await;
    let ids: Vec<_> = in_eu
        .events(2)
        .await
        .into_iter()
        .map(|e| (e.offset, e.id))
        .collect();
    assert_eq!(
        ids,
        [(1, "from-as".to_string()), (2, "from-us".to_string())]
    );
    let ids: Vec<_> = in_as.events(2).await.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["from-as", "from-us"]);
}
