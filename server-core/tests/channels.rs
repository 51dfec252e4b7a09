//! Channels end to end: real regions, real WebSocket clients, both brokers. Each client gets
//! exactly the channels it follows, each exactly once and in one order that every client of
//! every region sees; it subscribes and unsubscribes on connect or at any time; it resumes
//! each channel after its own offset, in another region too; bad names and too many
//! subscriptions are refused and everything survives.

#[macro_use]
mod common;

use common::{Client, Regions};
use server_core::broker::SharedBroker;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use wire::{EventFrame, ServerFrame};

const REGIONS: [&str; 3] = ["as", "us", "eu"];

/// Read `n` events, skipping other frames; the events by channel, each `(offset, id)`.
async fn by_channel(c: &mut Client, n: usize) -> BTreeMap<String, Vec<(u64, String)>> {
    let mut out: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for e in c.events(n).await {
        out.entry(e.channel).or_default().push((e.offset, e.id));
    }
    out
}

/// Offsets of each channel dense from `from + 1`.
fn assert_dense(events: &[(u64, String)], from: u64, what: &str) {
    let offsets: Vec<u64> = events.iter().map(|(o, _)| *o).collect();
    let want: Vec<u64> = (from + 1..=from + events.len() as u64).collect();
    assert_eq!(offsets, want, "{what}");
}

/// A client of `a` gets only `a`, a client of `a,b` both, a client that names nothing only
/// `global`; every event of a channel reaches each of its subscribers once, in the same
/// order in every region, whatever region published it.
async fn each_client_gets_exactly_its_channels(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut only_a = Client::connect_query(regions.addr("eu"), "?channels=a").await;
    let mut a_and_b = Client::connect_query(regions.addr("us"), "?channels=a,b").await;
    let mut global = Client::connect(regions.addr("as")).await;
    let ServerFrame::Welcome { channels, .. } = &a_and_b.welcome else {
        unreachable!()
    };
    let named: Vec<&str> = channels.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(named, ["a", "b"]);
    let mut publishers = regions.clients(&REGIONS, 1).await;
    for i in 0..10 {
        for (r, p) in publishers.iter_mut().enumerate() {
            p.publish_on("a", &format!("a-{r}-{i}")).await;
            p.publish_on("b", &format!("b-{r}-{i}")).await;
            p.publish_on("global", &format!("g-{r}-{i}")).await;
        }
    }
    let a = by_channel(&mut only_a, 30).await;
    let ab = by_channel(&mut a_and_b, 60).await;
    let g = by_channel(&mut global, 30).await;
    assert_eq!(a.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(ab.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(g.keys().collect::<Vec<_>>(), ["global"]);
    assert_eq!(a["a"], ab["a"], "one order of `a` in every region");
    for (name, events) in [("a", &a["a"]), ("b", &ab["b"]), ("global", &g["global"])] {
        assert_dense(events, 0, name);
        let mut ids: Vec<&String> = events.iter().map(|(_, id)| id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 30, "{name}: every event once");
    }
    for c in [&mut only_a, &mut a_and_b, &mut global] {
        c.assert_quiet(Duration::from_millis(300)).await;
    }
}

/// `subscribe` and `unsubscribe` are answered; events of a channel flow between them and
/// stop after; acks name their channel and its offset.
async fn subscribe_and_unsubscribe_are_answered(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut c = Client::connect(regions.addr("us")).await;
    let mut p = Client::connect(regions.addr("eu")).await;
    c.subscribe("room", None).await;
    let (_, answer) = c.next_other().await;
    assert!(
        matches!(&answer, ServerFrame::Subscribed { channel, offset: 0, .. } if channel == "room"),
        "{answer:?}"
    );
    let ack = p.publish_and_wait_on("room", "r1").await;
    assert!(
        matches!(&ack, ServerFrame::Ack { channel, offset: 1, .. } if channel == "room"),
        "{ack:?}"
    );
    let e: EventFrame = c.events(1).await.remove(0);
    assert_eq!(
        (e.channel.as_str(), e.offset, e.id.as_str()),
        ("room", 1, "r1")
    );
    c.unsubscribe("room").await;
    let (_, answer) = c.next_other().await;
    assert!(matches!(&answer, ServerFrame::Unsubscribed { channel } if channel == "room"));
    p.publish_and_wait_on("room", "r2").await;
    p.publish_and_wait_on("global", "g1").await;
    let e = c.events(1).await.remove(0);
    assert_eq!(
        (e.channel.as_str(), e.id.as_str()),
        ("global", "g1"),
        "room stopped"
    );
    c.assert_quiet(Duration::from_millis(300)).await;
}

/// A client resumes each channel after its own offset, in another region, with no gap and
/// no duplicate at the seam; a `subscribe` with `since` replays too.
async fn each_channel_resumes_after_its_own_offset(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let mut p = Client::connect(regions.addr("as")).await;
    let mut first = Client::connect_query(regions.addr("us"), "?channels=x,y").await;
    for i in 0..5 {
        p.publish_and_wait_on("x", &format!("x{i}")).await;
        p.publish_and_wait_on("y", &format!("y{i}")).await;
    }
    let seen = by_channel(&mut first, 10).await;
    let epoch = match &first.welcome {
        ServerFrame::Welcome { channels, .. } => channels[0].epoch.clone(),
        _ => unreachable!(),
    };
    drop(first);
    for i in 5..12 {
        p.publish_and_wait_on("x", &format!("x{i}")).await;
    }
    for i in 5..8 {
        p.publish_and_wait_on("y", &format!("y{i}")).await;
    }
    let query = format!(
        "?channels=x,y&since=x:3,y:{}&epoch=x:{epoch}",
        seen["y"].len()
    );
    let mut again = Client::connect_query(regions.addr("eu"), &query).await;
    let mut got: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    let mut caught_up = Vec::new();
    while caught_up.len() < 2 {
        match again.next().await {
            ServerFrame::Event(e) => got.entry(e.channel).or_default().push((e.offset, e.id)),
            ServerFrame::CaughtUp { channel, offset } => caught_up.push((channel, offset)),
            other => panic!("unexpected {other:?}"),
        }
    }
    caught_up.sort();
    assert_eq!(caught_up, [("x".into(), 12), ("y".into(), 8)]);
    assert_dense(&got["x"], 3, "x resumed after 3");
    assert_dense(&got["y"], 5, "y resumed after 5");
    p.publish_and_wait_on("x", "x-live").await;
    let live = again.events(1).await.remove(0);
    assert_eq!((live.channel.as_str(), live.offset), ("x", 13));
    again.subscribe("z", Some(0)).await;
    p.publish_and_wait_on("z", "z0").await;
    let (replayed, frame) = again.next_other().await;
    assert!(replayed.is_empty(), "{replayed:?}");
    assert!(matches!(frame, ServerFrame::Subscribed { .. }), "{frame:?}");
    let (replayed, frame) = again.next_other().await;
    let live = replayed.len();
    assert!(matches!(frame, ServerFrame::CaughtUp { .. }), "{frame:?}");
    let rest = if live == 0 {
        again.events(1).await
    } else {
        replayed
    };
    assert_eq!(rest[0].id, "z0", "once, replayed or live");
    again.assert_quiet(Duration::from_millis(300)).await;
}

/// Bad channel names and too many subscriptions get clear errors (HTTP 400 on connect, an
/// error frame after), and the connection, the server and the log are unaffected.
async fn bad_channels_are_refused_and_everything_survives(broker: SharedBroker) {
    let regions = Regions::start(&REGIONS, broker).await;
    let addr = regions.addr("us");
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let many: Vec<String> = (0..65).map(|i| format!("c{i}")).collect();
    for (query, code) in [
        ("?channels=a%20b".to_string(), "invalid_channel"),
        (format!("?channels={}", many.join(",")), "too_many_channels"),
        ("?channels=a,b&since=3".to_string(), "invalid_frame"),
    ] {
        let (status, body) = common::http_get(addr, &format!("/ws{query}"), &upgrade).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(code), "{query}: {body}");
    }
    let mut c = Client::connect(addr).await;
    c.subscribe("no spaces", None).await;
    let (_, e) = c.next_other().await;
    assert!(
        matches!(&e, ServerFrame::Error { code, .. } if *code == "invalid_channel"),
        "{e:?}"
    );
    for name in &many[..63] {
        c.subscribe(name, None).await;
        let (_, f) = c.next_other().await;
        assert!(matches!(f, ServerFrame::Subscribed { .. }), "{f:?}");
    }
    c.subscribe(&many[63], None).await;
    let (_, e) = c.next_other().await;
    assert!(
        matches!(&e, ServerFrame::Error { code, .. } if *code == "too_many_channels"),
        "{e:?}"
    );
    let bad = c.publish_and_wait_on("bad name", "p1").await;
    assert!(
        matches!(&bad, ServerFrame::Error { code, id: Some(_), .. } if *code == "invalid_channel"),
        "{bad:?}"
    );
    let ok = c.publish_and_wait_on("c0", "p2").await;
    assert!(
        matches!(ok, ServerFrame::Ack { offset: 1, .. }),
        "the connection survives: {ok:?}"
    );
    let status: wire::Health = common::http_get_json(addr, "/health").await;
    assert!(status.connected);
}

with_both_brokers!(
    history = 10_000;
    each_client_gets_exactly_its_channels,
    subscribe_and_unsubscribe_are_answered,
    each_channel_resumes_after_its_own_offset,
    bad_channels_are_refused_and_everything_survives,
);
