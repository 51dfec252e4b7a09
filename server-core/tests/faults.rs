//! Faults, counted end to end: Redis restarts, lost Redis data, a region cut off from the
//! broker, stalled subscriptions, concurrent duplicate publishes, slow clients, reconnect
//! storms. Every scenario counts what was published, acked and delivered.

#[macro_use]
mod common;

use common::{assert_dense_in_order, Client, RedisServer, Regions, PATIENCE};
use server_core::broker::SharedBroker;
use server_core::settings::Millis;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];

/// [`common::publish_until_acked`] as `(acked (id, offset) pairs, failed attempts)`.
async fn publish_until_acked(
    addr: SocketAddr,
    ids: Vec<String>,
    pace: Duration,
) -> (Vec<(String, u64)>, usize) {
    let published = common::publish_until_acked(addr, ids, pace).await;
    (published.pairs(), published.refused)
}

async fn health(addr: SocketAddr) -> wire::Health {
    common::http_get_json(addr, "/health").await
}

/// Wait until `/health` of `addr` satisfies `pred`.
async fn wait_health(addr: SocketAddr, pred: impl Fn(&wire::Health) -> bool) -> wire::Health {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let h = health(addr).await;
        if pred(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "health never matched: {h:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Collect events until `n` have arrived; fails on a duplicate offset or id.
async fn collect_unique(client: &mut Client, n: usize) -> Vec<wire::EventFrame> {
    let events = client.events(n).await;
    let ids: HashSet<_> = events.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), n, "a duplicate was delivered");
    events
}

/// Redis is killed while three regions publish at a steady rate and restarted with its
/// data: every acked event reaches every client of every region exactly once, in order;
/// publishes during the outage get a temporary error (and succeed when retried by id);
/// `/health` says the regions are cut off while Redis is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_events_survive_a_redis_restart_mid_stream() {
    let mut redis = RedisServer::start_persistent();
    let broker = common::redis_broker(&redis, 10_000).await;
    let regions = Regions::start(&REGIONS, Arc::new(broker)).await;
    let mut watchers = regions.clients(&REGIONS, 2).await;
    let per_region = 60;
    let publishers = common::spawn_publishers(
        &regions,
        &REGIONS,
        per_region,
        "",
        Duration::from_millis(15),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.kill();
    let down = wait_health(regions.addr("eu"), |h| !h.connected).await;
    assert!(!down.connected);
    // While it cannot reach the broker a region is not ready (503), and still healthy (200).
    let (ready, body) = common::http_get(regions.addr("eu"), "/ready", &[]).await;
    assert_eq!(ready, 503, "{body}");
    assert!(body.contains("\"ready\":false"), "{body}");
    assert_eq!(
        common::http_get(regions.addr("eu"), "/health", &[]).await.0,
        200
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.restart();
    let published = common::join_publishers(publishers).await;
    let (acked, failures) = (published.pairs(), published.refused);
    assert_eq!(acked.len(), 3 * per_region);
    // The outage was real (`/health` said so above), and publishes did not wait it out: a
    // publish caught in it failed at once with a temporary error and was retried by id
    // (`failures` counts those), which ends acked exactly once.
    assert!(
        failures > 0,
        "publishes during the outage get a temporary error (none did)"
    );
    let offsets: HashSet<u64> = acked.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        offsets.len(),
        acked.len(),
        "each acked id has its own offset"
    );
    let expected: HashSet<String> = acked.iter().map(|(id, _)| id.clone()).collect();
    for w in watchers.iter_mut() {
        let events = collect_unique(w, acked.len()).await;
        assert_dense_in_order(&events, 0);
        let got: HashSet<String> = events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(got, expected);
        w.assert_quiet(Duration::from_millis(200)).await;
    }
    wait_health(regions.addr("us"), |h| h.connected).await;
    let (ready, body) = common::http_get(regions.addr("us"), "/ready", &[]).await;
    assert_eq!(ready, 200, "{body}");
    eprintln!(
        "redis restart: published {} ids, acked {}, failed attempts {failures}, delivered {} to each of {} clients, lost 0, duplicated 0",
        acked.len(), acked.len(), acked.len(), watchers.len()
    );
}

/// Redis restarts without its data: the epoch changes, clients are told with an `epoch`
/// frame, and the new log's offsets are never mixed with the old ones.
#[tokio::test]
async fn lost_redis_data_starts_a_new_epoch_and_clients_are_told() {
    let mut redis = RedisServer::start();
    let broker = common::redis_broker(&redis, 10_000).await;
    let regions = Regions::start(&REGIONS, Arc::new(broker)).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    let ServerFrame::Welcome { epoch: old, .. } = watcher.welcome.clone() else {
        unreachable!()
    };
    let mut p = Client::connect(regions.addr("as")).await;
    for i in 0..5 {
        p.publish_and_wait(&format!("old-{i}")).await;
    }
    assert_eq!(watcher.events(5).await.last().unwrap().offset, 5);
    redis.restart();
    let new = loop {
        match watcher.next().await {
            ServerFrame::Epoch { epoch, .. } => break epoch,
            ServerFrame::Event(e) => panic!("event before the epoch frame: {e:?}"),
            _ => {}
        }
    };
    assert_ne!(new, old);
    let ack = loop {
        match p.publish_and_wait("new-0").await {
            ServerFrame::Ack { offset, .. } => break offset,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert_eq!(ack, 1, "offsets restart in the new log");
    let e = watcher.events(1).await.remove(0);
    assert_eq!((e.offset, e.id.as_str()), (1, "new-0"));
    // A client that resumes with an offset of the old epoch is told, and replayed the new log.
    let mut resumed =
        Client::connect_query(regions.addr("us"), &format!("?since=5&epoch={old}")).await;
    assert!(matches!(resumed.next().await, ServerFrame::Epoch { .. }));
    let e = resumed.events(1).await.remove(0);
    assert_eq!((e.offset, e.id.as_str()), (1, "new-0"));
    wait_health(regions.addr("as"), |h| h.epoch == new).await;
}

/// One region is cut off from the broker while the others go on, then healed: its clients
/// receive everything they missed, in order, with no duplicate; while cut off, its `/health`
/// says so and publishes there get a temporary error.
async fn cut_off_region_catches_up_on_heal(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut eu = Client::connect(regions.addr("eu")).await;
    let mut us = Client::connect(regions.addr("us")).await;
    let link = regions.cluster.as_ref().unwrap().link("eu").unwrap();
    link.set_cut_off(true);
    wait_health(regions.addr("eu"), |h| !h.connected).await;
    assert_eq!(
        common::http_get(regions.addr("eu"), "/ready", &[]).await.0,
        503
    );
    let (acked, _) = publish_until_acked(
        regions.addr("as"),
        (0..30).map(|i| format!("cut-{i}")).collect(),
        Duration::ZERO,
    )
    .await;
    assert!(matches!(
        eu.publish_and_wait("from-eu").await,
        ServerFrame::Error {
            temporary: true,
            ..
        }
    ));
    assert_eq!(
        collect_unique(&mut us, 30).await.len(),
        30,
        "the other regions go on"
    );
    eu.assert_quiet(Duration::from_millis(300)).await;
    link.set_cut_off(false);
    let events = collect_unique(&mut eu, 30).await;
    assert_dense_in_order(&events, 0);
    let ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        ids,
        acked.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
    );
    eu.assert_quiet(Duration::from_millis(300)).await;
    wait_health(regions.addr("eu"), |h| h.connected && h.offset == 30).await;
    assert_eq!(
        common::http_get(regions.addr("eu"), "/ready", &[]).await.0,
        200
    );
    eprintln!(
        "cut off: published 30, acked 30, delivered to eu after heal 30, lost 0, duplicated 0"
    );
}

/// A region whose live read silently stops answering notices (liveness timeout), reports
/// itself disconnected, and recovers without losing or repeating anything.
async fn stalled_subscription_is_detected_and_recovered(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut eu = Client::connect(regions.addr("eu")).await;
    let link = regions.cluster.as_ref().unwrap().link("eu").unwrap();
    let mut stalled = link.settings();
    stalled.stalled = true;
    link.set(stalled);
    // The current read finishes (its wait is 2 s); the next one hangs silently.
    let (acked, _) = publish_until_acked(
        regions.addr("us"),
        (0..10).map(|i| format!("st-{i}")).collect(),
        Duration::from_millis(300),
    )
    .await;
    wait_health(regions.addr("eu"), |h| !h.connected).await;
    link.set(Default::default());
    let events = collect_unique(&mut eu, acked.len()).await;
    assert_dense_in_order(&events, 0);
    eu.assert_quiet(Duration::from_millis(300)).await;
    wait_health(regions.addr("eu"), |h| h.connected).await;
}

/// The same id published concurrently from two regions is stored once and acked with the
/// same offset in both.
async fn concurrent_duplicates_from_two_regions_are_stored_once(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    let ids: Vec<String> = (0..40).map(|i| format!("twice-{i}")).collect();
    let a = tokio::spawn(publish_until_acked(
        regions.addr("as"),
        ids.clone(),
        Duration::ZERO,
    ));
    let b = tokio::spawn(publish_until_acked(
        regions.addr("us"),
        ids.clone(),
        Duration::ZERO,
    ));
    let (a, b) = (a.await.unwrap().0, b.await.unwrap().0);
    assert_eq!(a, b, "both regions got the same offset for each id");
    let events = collect_unique(&mut watcher, 40).await;
    assert_dense_in_order(&events, 0);
    watcher.assert_quiet(Duration::from_millis(300)).await;
    eprintln!(
        "duplicates: published 80 (40 ids twice), acked 80, stored 40, delivered 40, duplicated 0"
    );
}

/// A client that stops reading never holds up others; at its queue limit it is disconnected
/// with a `slow_consumer` reason it sees when it reads again, and it can resume.
async fn slow_client_is_cut_loose_with_a_reason_and_can_resume(broker: SharedBroker) {
    let regions = Regions::start_with(&REGIONS, broker, |c| {
        c.clients.client_queue = 64;
        c.clients.write_timeout = Millis(Duration::from_millis(500));
        // The slow client reads only after all 1,000 publishes: on a loaded machine that can
        // take longer than the default grace, after which its goodbye would be dropped.
        c.clients.slow_grace = Millis(Duration::from_secs(120));
    })
    .await;
    let mut slow = Client::connect(regions.addr("eu")).await;
    let mut fast = Client::connect(regions.addr("eu")).await;
    let mut p = Client::connect(regions.addr("as")).await;
    let big = "x".repeat(15_000);
    // ~15 MB: well past what loopback socket buffers hold, so the client really falls behind.
    let n = 1000;
    for i in 0..n {
        let frame =
            serde_json::json!({"type":"publish","id":format!("big-{i}"),"kind":"k","payload":big});
        p.send_text(&frame.to_string()).await;
        // The publisher reads too (its acks and the events), or it would be slow itself.
        while !matches!(p.next().await, ServerFrame::Ack { .. }) {}
        if i % 50 == 49 {
            // Let the fast client keep up (it is in this same task).
            let got = fast.events(50).await;
            assert_eq!(got.last().unwrap().offset, i as u64 + 1);
        }
    }
    // Now the slow one reads: what was buffered, then the reason, then the close.
    let mut last = 0;
    let mut reason = None;
    while let Some(f) = slow.try_next(PATIENCE).await {
        match f {
            ServerFrame::Event(e) => {
                assert_eq!(e.offset, last + 1);
                last = e.offset;
            }
            ServerFrame::Error { code, message, .. } => reason = Some((code, message)),
            _ => {}
        }
    }
    let (code, message) = reason.expect("the slow client is told why it was disconnected");
    assert_eq!(code, "slow_consumer");
    assert!(message.contains(&format!("since={last}")), "{message}");
    assert!(last < n as u64, "it was cut loose before the end");
    let mut resumed = Client::connect_since(regions.addr("eu"), last).await;
    let rest = collect_unique(&mut resumed, n - last as usize).await;
    assert_dense_in_order(&rest, last);
    eprintln!("slow client: published {n}, slow client got {last} then slow_consumer, resumed and got {} more, lost 0, duplicated 0", rest.len());
}

/// All clients of a region reconnect at once with `since`: each gets exactly what it missed.
async fn reconnect_storm_loses_and_repeats_nothing(broker: SharedBroker) {
    let regions = Regions::start_with(&REGIONS, broker, |c| c.clients.concurrent_replays = 4).await;
    let mut p = Client::connect(regions.addr("as")).await;
    for i in 0..50 {
        p.publish_and_wait(&format!("pre-{i}")).await;
    }
    let addr = regions.addr("us");
    let storm: Vec<_> = (0..100u64)
        .map(|i| {
            tokio::spawn(async move {
                let since = i % 50;
                let mut c = Client::connect_since(addr, since).await;
                let got = c.events((50 - since) as usize).await;
                assert_dense_in_order(&got, since);
                got.len()
            })
        })
        .collect();
    let mut delivered = 0;
    for t in storm {
        delivered += t.await.unwrap();
    }
    assert_eq!(
        delivered,
        (0..100u64).map(|i| 50 - i % 50).sum::<u64>() as usize
    );
    assert!(health(addr).await.connected);
}

with_both_brokers!(
    history = 10_000;
    cut_off_region_catches_up_on_heal,
    stalled_subscription_is_detected_and_recovered,
    concurrent_duplicates_from_two_regions_are_stored_once,
    slow_client_is_cut_loose_with_a_reason_and_can_resume,
    reconnect_storm_loses_and_repeats_nothing,
);

/// A region that starts while Redis is down begins at the log's end once Redis is back: it
/// neither replays old history to its clients as new events nor misses what comes next.
#[tokio::test]
async fn region_started_while_redis_is_down_begins_at_the_log_end() {
    let mut redis = RedisServer::start_persistent();
    let broker = common::redis_broker(&redis, 10_000).await;
    let early = Regions::start(&["as"], Arc::new(broker.clone())).await;
    let mut p = Client::connect(early.addr("as")).await;
    for i in 0..5 {
        p.publish_and_wait(&format!("old-{i}")).await;
    }
    redis.kill();
    let regions = Regions::start(&["eu"], Arc::new(broker)).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    redis.restart();
    wait_health(regions.addr("eu"), |h| h.connected && h.offset == 5).await;
    let ack = loop {
        match p.publish_and_wait("new-0").await {
            ServerFrame::Ack { offset, .. } => break offset,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert_eq!(ack, 6);
    let e = watcher.events(1).await.remove(0);
    assert_eq!((e.offset, e.id.as_str()), (6, "new-0"));
    watcher.assert_quiet(Duration::from_millis(300)).await;
}
