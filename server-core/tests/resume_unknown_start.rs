//! A resume whose join could not learn where the channel stands: the region had delivered
//! nothing of the channel (nobody here followed it) and the broker did not answer the join's
//! question, but answers the replay. Found by the chaos run (`cargo xtask chaos --seed 7`): a
//! reconnect storm during a Redis failover; the resumers skipped the events the feed had
//! passed before they joined, and nothing announced it.

#[macro_use]
mod common;

use common::{Client, Hooked, Regions};
use server_core::broker::{Broker, MemoryBroker};
use server_core::event::{NewEvent, Offset};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use wire::ServerFrame;

const ROOM: &str = "room";

fn event(id: &str) -> NewEvent {
    NewEvent {
        id: id.into(),
        channel: ROOM.into(),
        origin: "test".into(),
        kind: "test".into(),
        payload: server_core::event::payload(&serde_json::Value::Null),
        published_at: 0,
        after: None,
    }
}

/// The resumer gets every event after its `since` (replayed), then `caught_up`, then live
/// events once each: none is skipped because the join could not say where the channel was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_whose_join_got_no_answer_still_replays_what_it_missed() {
    let broker = Arc::new(Hooked::new(Arc::new(MemoryBroker::new(1000))));
    let regions = Regions::start(&["us"], broker.clone()).await;
    // A watcher sees the feed pass the room's events, then leaves: nobody here follows the
    // room any more, so the region no longer knows where it stands.
    let mut watcher = Client::connect_query(regions.addr("us"), &format!("?channels={ROOM}")).await;
    for i in 1..=5 {
        broker.publish(event(&format!("e{i}"))).await.unwrap();
    }
    assert_eq!(watcher.events(5).await.len(), 5);
    watcher
        .send_text(&format!(r#"{{"type":"unsubscribe","channel":"{ROOM}"}}"#))
        .await;
    let (_, left) = watcher.next_other().await;
    assert!(matches!(left, ServerFrame::Unsubscribed { .. }), "{left:?}");
    broker.status_failures.store(1, Ordering::SeqCst);
    let query = format!("?channels={ROOM}&since={ROOM}:2");
    let mut client = Client::connect_query(regions.addr("us"), &query).await;
    assert_eq!(
        broker.status_failures.load(Ordering::SeqCst),
        0,
        "the join asked"
    );
    let (replayed, frame) = client.next_other().await;
    let replayed: Vec<Offset> = replayed.iter().map(|e| e.offset).collect();
    assert!(
        matches!(&frame, ServerFrame::CaughtUp { offset: 5, .. }),
        "{frame:?}"
    );
    assert_eq!(
        replayed,
        [3, 4, 5],
        "every event after since, once, in order"
    );
    broker.publish(event("e6")).await.unwrap();
    let live = client.events(1).await;
    assert_eq!((live[0].offset, live[0].id.as_str()), (6, "e6"));
    client.assert_quiet(Duration::from_millis(200)).await;
}
