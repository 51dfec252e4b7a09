//! A resume whose join was held while the log went back in time (Redis restored from an
//! older snapshot): the join saw the old epoch, and the feed adopted the new one (queueing
//! its own `epoch` frame for the client) before the resume ran. Found by the chaos run
//! (`cargo xtask chaos --seed 4`, a snapshot restore during a reconnect): the resume replayed
//! the new log, then the feed's queued frame moved the client back to what the region had
//! kept, and the events replayed after that came a second time.

#[macro_use]
mod common;

use common::{event_on, Client, Hooked, RedisServer, Regions, PATIENCE};
use server_core::broker::Broker;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ServerFrame;

const ROOM: &str = "room";

async fn publish(broker: &Hooked, ids: &[&str]) {
    for id in ids {
        broker.publish(event_on(ROOM, id)).await.unwrap();
    }
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every event of the new log once, in order, after one `epoch` frame; then live events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_held_across_a_new_epoch_gets_each_event_once() {
    let mut redis = RedisServer::start();
    let inner = Arc::new(common::redis_broker(&redis, 1000).await);
    let broker = Arc::new(Hooked::new(inner));
    let regions = Regions::start(&["us"], broker.clone()).await;
    let addr = regions.addr("us");
    // The region delivers e1..e6 of the first epoch; the snapshot has e1..e3.
    let mut watcher = Client::connect_query(addr, &format!("?channels={ROOM}")).await;
    let ServerFrame::Welcome { channels, .. } = watcher.welcome.clone() else {
        unreachable!()
    };
    let old = channels[0].epoch.clone();
    publish(&broker, &["e1", "e2", "e3"]).await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut conn).await.unwrap();
    publish(&broker, &["e4", "e5", "e6"]).await;
    assert_eq!(watcher.events(6).await.len(), 6);

    // A client resumes after 6 of the old epoch; its join is held (asking for presence)
    // once it is on the channel's subscribers.
    broker.hold_members(1);
    let query = format!("?channels={ROOM}&since={ROOM}:6&epoch={ROOM}:{old}&presence=1");
    let resumer = tokio::spawn(async move { Client::connect_query(addr, &query).await });
    wait_until("the join to be held", || {
        broker.members_waiting.load(Ordering::SeqCst) == 1
    })
    .await;

    // Redis goes back to the snapshot: the feed adopts a new epoch keeping 1..=3, and the
    // new log goes on with e7, e8 at 4, 5, all queued for the held client too.
    redis.restart();
    publish(&broker, &["e7", "e8"]).await;
    let (_, frame) = watcher.next_other().await;
    let ServerFrame::Epoch { epoch: new, .. } = frame else {
        panic!("the watcher is told of the new epoch: {frame:?}")
    };
    let live: Vec<(u64, String)> = watcher
        .events(2)
        .await
        .into_iter()
        .map(|e| (e.offset, e.id))
        .collect();
    assert_eq!(live, [(4, "e7".into()), (5, "e8".into())]);

    broker.release_members();
    let mut resumer = resumer.await.unwrap();
    let mut epochs = Vec::new();
    let mut got = Vec::new();
    loop {
        match resumer.next().await {
            ServerFrame::Epoch { epoch, .. } => epochs.push(epoch),
            ServerFrame::Event(e) => got.push((e.offset, e.id)),
            ServerFrame::CaughtUp { .. } => break,
            _ => {}
        }
    }
    publish(&broker, &["e9"]).await;
    loop {
        match resumer.next().await {
            ServerFrame::Epoch { epoch, .. } => epochs.push(epoch),
            ServerFrame::Event(e) => {
                got.push((e.offset, e.id));
                break;
            }
            _ => {}
        }
    }
    resumer.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(epochs, [new], "one epoch frame");
    let want: Vec<(u64, String)> = [
        (1, "e1"),
        (2, "e2"),
        (3, "e3"),
        (4, "e7"),
        (5, "e8"),
        (6, "e9"),
    ]
    .into_iter()
    .map(|(o, id)| (o, id.to_owned()))
    .collect();
    assert_eq!(got, want, "the new log once, in order, then live");
}
