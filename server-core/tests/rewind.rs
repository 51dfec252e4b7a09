//! A log that goes back in time (Redis restarted from an older snapshot; the same happens on
//! a failover to a replica that lagged) is detected and announced, never silent: every client
//! gets an `epoch` frame saying what may be lost, then every new event exactly once.

#[macro_use]
mod common;

use common::{assert_dense_in_order, event, Client, RedisServer, Regions, PATIENCE};
use server_core::broker::Broker;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];

/// `SAVE` on the test's Redis: the snapshot it restarts from.
async fn snapshot(redis: &RedisServer) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut conn).await.unwrap();
}

/// Publish each id until it is acked (retrying the same id after a temporary error).
async fn publish_until_acked(addr: SocketAddr, ids: Vec<String>) -> Vec<(String, u64)> {
    common::publish_until_acked(addr, ids, Duration::ZERO)
        .await
        .pairs()
}

/// What one client saw: events by epoch, and the announcements `(new epoch, lost_after)`.
#[derive(Default)]
struct Seen {
    events: HashMap<String, Vec<(u64, String)>>,
    announcements: Vec<(String, u64)>,
}

/// Read frames from `client` (on `epoch`) until it has `n` events of the epoch it ends on.
async fn watch(client: &mut Client, mut epoch: String, n: usize) -> Seen {
    let mut seen = Seen::default();
    loop {
        if seen.events.get(&epoch).map_or(0, Vec::len) == n {
            return seen;
        }
        match client.next().await {
            ServerFrame::Event(e) => seen
                .events
                .entry(epoch.clone())
                .or_default()
                .push((e.offset, e.id)),
            ServerFrame::Epoch {
                epoch: new,
                lost_after,
                ..
            } => {
                seen.announcements.push((new.clone(), lost_after));
                epoch = new;
            }
            _ => {}
        }
    }
}

/// Every acked `(offset, id)` of `epoch` either reached the client in that epoch or is
/// covered by an announcement that left that epoch with `lost_after` below its offset.
fn assert_covered(seen: &Seen, epoch: &str, acked: &[(String, u64)], who: &str) {
    let got: HashSet<(u64, &str)> = seen
        .events
        .get(epoch)
        .map(|v| v.iter().map(|(o, id)| (*o, id.as_str())).collect())
        .unwrap_or_default();
    let covered_after = seen.announcements.first().map(|(_, lost)| *lost);
    for (id, offset) in acked {
        let delivered = got.contains(&(*offset, id.as_str()));
        let announced = covered_after.is_some_and(|lost| *offset > lost);
        assert!(
            delivered || announced,
            "{who}: acked {id} at {offset} neither delivered nor announced as lost"
        );
    }
}

/// Redis is restarted (SIGKILL) from a snapshot taken at offset 100 while 200 events were
/// acked and delivered: every client gets one `epoch` frame with `lost_after` = 100 (what the
/// new log still holds of what it had), then every event published afterwards exactly once,
/// in order, at offsets after 100; a client that had stopped at 150 and resumes is told it
/// may have lost what came after 150. No acked event disappears without an announcement
/// covering it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_restored_from_an_older_snapshot_is_announced_and_publishing_goes_on() {
    let mut redis = RedisServer::start();
    let broker = common::redis_broker(&redis, 10_000).await;
    let regions = Regions::start(&REGIONS, Arc::new(broker)).await;
    let mut watchers = regions.clients(&REGIONS, 2).await;
    let ServerFrame::Welcome { epoch: old, .. } = watchers[0].welcome.clone() else {
        unreachable!()
    };
    let as_addr = regions.addr("as");
    let mut before =
        publish_until_acked(as_addr, (0..100).map(|i| format!("old-{i}")).collect()).await;
    snapshot(&redis).await;
    before.extend(
        publish_until_acked(as_addr, (100..200).map(|i| format!("old-{i}")).collect()).await,
    );
    assert_eq!(before.last().unwrap().1, 200);
    for w in watchers.iter_mut() {
        assert_dense_in_order(&w.events(200).await, 0);
    }

    redis.restart();
    let per_region = 30;
    let publishers =
        common::spawn_publishers(&regions, &REGIONS, per_region, "new-", Duration::ZERO);
    let after = common::join_publishers(publishers).await.pairs();
    let n = after.len();
    let offsets: HashSet<u64> = after.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        offsets,
        (101..=100 + n as u64).collect(),
        "the new history keeps 1..=100 and goes on densely after it"
    );
    let expected: HashSet<&str> = after.iter().map(|(id, _)| id.as_str()).collect();

    let mut new_epoch = None;
    for (i, w) in watchers.iter_mut().enumerate() {
        let seen = watch(w, old.clone(), n).await;
        assert_eq!(seen.announcements.len(), 1, "watcher {i}: one announcement");
        let (epoch, lost_after) = seen.announcements[0].clone();
        assert_ne!(epoch, old);
        assert_eq!(lost_after, 100, "watcher {i}: the new log keeps up to 100");
        assert!(
            !seen.events.contains_key(&old),
            "watcher {i}: no old-epoch event after the restart"
        );
        let events = &seen.events[&epoch];
        let got: HashSet<&str> = events.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(got, expected, "watcher {i}: every new event, once");
        assert_eq!(events.len(), n, "watcher {i}: no duplicate");
        assert!(
            events.iter().map(|(o, _)| *o).eq(101..=100 + n as u64),
            "watcher {i}: in order, after what the new log kept"
        );
        assert_covered(&seen, &epoch, &after, &format!("watcher {i}"));
        w.assert_quiet(Duration::from_millis(200)).await;
        new_epoch.get_or_insert(epoch.clone());
        assert_eq!(
            new_epoch.as_deref(),
            Some(epoch.as_str()),
            "one new history for all"
        );
    }

    // A client that had read up to 150 of the old log comes back.
    let mut resumed =
        Client::connect_query(regions.addr("us"), &format!("?since=150&epoch={old}")).await;
    // It is replayed the new log from its start: the 100 events it keeps, then the new ones.
    let mut seen = watch(&mut resumed, old.clone(), 100 + n).await;
    assert_eq!(seen.announcements.len(), 1);
    assert_eq!(seen.announcements[0].1, 150);
    // It had 1..=150 of the old log; the rest of the old acks are covered by the announcement.
    let had: Vec<(u64, String)> = before[..150]
        .iter()
        .map(|(id, o)| (*o, id.clone()))
        .collect();
    seen.events.insert(old.clone(), had);
    assert_covered(&seen, &old, &before, "resumed");
    let new = seen.announcements[0].0.clone();
    let replayed: Vec<&str> = seen.events[&new]
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(
        replayed[..100],
        before[..100]
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(
        replayed[100..].iter().copied().collect::<HashSet<_>>(),
        expected
    );
    eprintln!(
        "rewind: acked 200 before (snapshot at 100), {n} after; each of {} clients got 1 announcement (lost_after 100) and {n} new events once; lost silently 0",
        watchers.len()
    );
}

/// Call `f` until it succeeds (as a client retries a publish by id), within the patience.
async fn retry<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = server_core::error::Result<T>>,
{
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "still failing: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A process that never saw the old log refills a rewound log past its old end (so the old
/// end offset exists again, holding another event): the next publish of a process that knew
/// the old log notices by id, starts a new history (keeping what the log holds) and stores
/// there; the other process follows it.
#[tokio::test]
async fn a_rewound_log_refilled_past_its_old_end_is_detected_by_id() {
    let mut redis = RedisServer::start();
    let prefix = common::unique_prefix();
    let a = common::redis_broker_with_prefix(&redis, &prefix, 1000).await;
    for i in 1..=20 {
        a.publish(event(&format!("a{i}"))).await.unwrap();
    }
    snapshot(&redis).await;
    for i in 21..=40 {
        a.publish(event(&format!("a{i}"))).await.unwrap();
    }
    let old = a.channel_status(wire::GLOBAL).await.unwrap().epoch;
    redis.restart();
    let b = common::redis_broker_with_prefix(&redis, &prefix, 1000).await;
    for i in 1..=30 {
        let p = b.publish(event(&format!("b{i}"))).await.unwrap();
        assert_eq!(p.offset, 20 + i, "b sees only the snapshot");
    }
    // Its first request meets the connection the restart broke; a client retries by id.
    let published = retry(|| a.publish(event("a-next"))).await;
    assert_eq!(
        published.offset, 51,
        "stored in a new history, after what the log holds"
    );
    let status = a.channel_status(wire::GLOBAL).await.unwrap();
    assert_ne!(status.epoch, old);
    assert_eq!(status.latest, 51);
    let followed = b.publish(event("b-next")).await.unwrap();
    assert_eq!(
        followed.offset, 52,
        "the other process follows the new history"
    );
    let batch = b.history(wire::GLOBAL, 49, 10).await.unwrap();
    assert_eq!(batch.epoch, status.epoch);
    let ids: Vec<&str> = batch.events.iter().map(|e| e.event.id.as_str()).collect();
    assert_eq!(ids, ["b30", "a-next", "b-next"]);
}
