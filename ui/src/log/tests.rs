//! Unit tests of the log: deliveries, drawing order, gaps, bounds, percentiles, channels.

use super::*;
use wire::GLOBAL;

fn ev(offset: Offset) -> EventFrame {
    EventFrame {
        channel: GLOBAL.into(),
        offset,
        id: format!("e{offset}"),
        origin: "us".into(),
        kind: "click".into(),
        payload: serde_json::json!({"text": "hi"}),
        published_at: 1_000,
        stored_at: 1_100,
        received_at: 1_200,
        replay: false,
    }
}

#[test]
fn a_second_delivery_to_the_same_pane_is_refused() {
    let mut log = Log::default();
    assert!(log.deliver(&ev(1), 0, 3, 2_000, None));
    assert!(log.deliver(&ev(1), 1, 3, 2_500, None));
    assert!(!log.deliver(&ev(1), 0, 3, 9_000, None));
    let row = log.get(GLOBAL, 1).unwrap();
    assert_eq!(row.latency(0), Some(1_000));
    assert_eq!(row.latency(1), Some(1_500));
    assert_eq!(row.latency(2), None);
    assert_eq!(&*row.text, "hi");
}

#[test]
fn no_hop_is_drawn_before_the_one_it_depends_on() {
    let mut log = Log::default();
    let mut skewed = ev(1);
    skewed.stored_at = 900; // the broker's clock behind the origin's
    skewed.received_at = 800; // the region's clock further behind
    log.deliver(&skewed, 0, 2, 850, None); // the page's clock, behind too
    log.deliver(&ev(1), 1, 2, 5_000, None);
    let row = log.get(GLOBAL, 1).unwrap();
    let (stored, panes) = row.drawn();
    assert_eq!(stored, 1_000, "stored drawn at published");
    assert_eq!(panes[0], Some((1_000, 1_000)));
    assert_eq!(
        panes[1],
        Some((1_200, 5_000)),
        "consistent hops are drawn as they are"
    );
    assert_eq!(row.stored_at, 900, "the raw figures stay");
}

#[test]
fn holes_between_rows_are_listed_as_gaps_with_the_servers_reason() {
    let mut log = Log::default();
    for o in [1, 2, 6] {
        log.deliver(&ev(o), 0, 1, 5_000, None);
    }
    log.note_gap(&GLOBAL.into(), 3, 4, "too old");
    let items = log.items(None, 10);
    assert_eq!(items, log.items(Some(GLOBAL), 10), "one channel: all of it");
    assert!(matches!(&items[0], Item::Row(r) if r.offset == 6));
    assert_eq!(
        items[1],
        Item::Gap(Gap {
            channel: GLOBAL.into(),
            from: 3,
            to: 5,
            message: Some("too old".into())
        })
    );
    assert!(matches!(&items[2], Item::Row(r) if r.offset == 2));
    assert_eq!(items.len(), 4);
}

#[test]
fn the_log_keeps_only_the_newest_events() {
    let mut log = Log::default();
    for o in 1..=(MAX_EVENTS as u64 + 5) {
        log.deliver(&ev(o), 0, 1, 5_000, None);
        log.trim();
    }
    assert_eq!(log.len(), MAX_EVENTS);
    assert!(log.get(GLOBAL, 5).is_none() && log.get(GLOBAL, 6).is_some());
    assert_eq!(log.dropped, 5);
}

#[test]
fn percentiles_skip_replayed_events() {
    let mut log = Log::default();
    for o in 1..=100 {
        log.deliver(&ev(o), 0, 1, 1_000 + o * 10, None);
    }
    let mut replayed = ev(101);
    replayed.replay = true;
    log.deliver(&replayed, 0, 1, 1_000_000, None);
    let (p50, p99, n) = log.percentiles(0, 200).unwrap();
    assert_eq!(n, 100);
    assert_eq!(p50, 510);
    assert_eq!(p99, 990);
    assert_eq!(log.percentiles(0, 10).unwrap().2, 9);
}

#[test]
fn a_page_stamp_is_drawn_on_its_regions_time_line() {
    use crate::clock::ClockOffset;
    let mut log = Log::default();
    // The page's clock runs 10 ms behind the region's: raw, "delivered" (at 1_700) would
    // come before "received" (1_200 on the region's clock, 11_200 on the page's would be).
    let behind = ClockOffset {
        offset: -10_000,
        uncertainty: 50,
    };
    log.deliver(&ev(1), 0, 2, 11_500, Some(behind));
    log.deliver(&ev(1), 1, 2, 1_700, None);
    let row = log.get(GLOBAL, 1).unwrap();
    let (_, panes) = row.drawn();
    assert_eq!(
        panes[0],
        Some((1_200, 1_500)),
        "300 µs after the region read it"
    );
    assert_eq!(
        panes[1],
        Some((1_200, 1_700)),
        "no measure: the page's own stamp"
    );
    assert_eq!(row.latency(0), Some(500));
    assert_eq!(row.delivered[0].unwrap().at, 11_500, "the raw stamp stays");
    assert_eq!(row.last_hop(), 1_700);
}

#[test]
fn render_time_is_its_own_mark_and_the_first_paint_counts() {
    let mut log = Log::default();
    log.deliver(&ev(1), 0, 2, 2_000, None);
    let key = |offset| RowKey {
        channel: GLOBAL.into(),
        offset,
    };
    assert!(
        !log.painted(&key(1), 1, 9_000),
        "pane 1 has no copy to paint"
    );
    assert!(!log.painted(&key(2), 0, 9_000), "no such row");
    assert!(log.painted(&key(1), 0, 2_400));
    assert!(!log.painted(&key(1), 0, 3_000), "painted once");
    let row = log.get(GLOBAL, 1).unwrap();
    let d = row.delivered[0].unwrap();
    assert_eq!((d.at, d.render_time()), (2_000, Some(400)));
    assert_eq!(
        row.latency(0),
        Some(1_000),
        "render time is not delivery time"
    );
    assert_eq!(row.last_hop(), 2_400);
}

/// An event of `channel` at `offset`, stored at `stored` µs.
fn on(channel: &str, offset: Offset, stored: Micros) -> EventFrame {
    EventFrame {
        channel: channel.into(),
        id: format!("{channel}-{offset}"),
        stored_at: stored,
        ..ev(offset)
    }
}

/// `(channel, offset)` of each item (`(channel, from)` for a gap, with `to` as a negative).
fn keys(items: &[Item]) -> Vec<(String, i64)> {
    (items.iter())
        .map(|i| match i {
            Item::Row(r) => (r.channel.to_string(), r.offset as i64),
            Item::Gap(g) => (g.channel.to_string(), -(g.to as i64)),
        })
        .collect()
}

#[test]
fn two_channels_may_both_have_an_offset_7_each_its_own_row() {
    let mut log = Log::default();
    assert!(log.deliver(&on("room-a", 7, 10), 0, 2, 100, None));
    assert!(log.deliver(&on("room-b", 7, 20), 0, 2, 110, None));
    assert!(
        !log.deliver(&on("room-a", 7, 10), 0, 2, 120, None),
        "a's 7 again"
    );
    assert!(log.deliver(&on("room-b", 7, 20), 1, 2, 130, None));
    assert_eq!(log.len(), 2);
    assert_eq!(&*log.get("room-a", 7).unwrap().id, "room-a-7");
    assert_eq!(&*log.get("room-b", 7).unwrap().id, "room-b-7");
    assert_eq!(
        log.get("room-b", 7).unwrap().key().channel.as_ref(),
        "room-b"
    );
    assert!(log.has_channels());
    let names: Vec<&str> = log.channels().map(|c| &**c).collect();
    assert_eq!(names, ["room-a", "room-b"]);
}

/// "All channels" interleaves by when each event was stored, yet a channel whose stamps run
/// backwards (another broker shard's clock) keeps its offset order; a hole stays in its
/// channel, just above the row below it.
#[test]
fn all_channels_interleave_by_store_time_and_each_keeps_its_own_order() {
    let mut log = Log::default();
    for (c, o, stored) in [
        ("a", 1, 10),
        ("b", 1, 15),
        ("a", 2, 20),
        ("b", 2, 12),
        ("a", 4, 30),
    ] {
        log.deliver(&on(c, o, stored), 0, 1, 0, None);
    }
    let all = keys(&log.items(None, 10));
    assert_eq!(
        all,
        [("a", 4), ("a", -3), ("a", 2), ("b", 2), ("b", 1), ("a", 1)]
            .map(|(c, o)| (c.to_owned(), o))
    );
    // b's 2 was stamped before its 1 (12 < 15) and still comes above it.
    let only_b = keys(&log.items(Some("b"), 10));
    assert_eq!(only_b, [("b".to_owned(), 2), ("b".to_owned(), 1)]);
    assert!(log.items(Some("nothing"), 10).is_empty());
    // The limit counts rows, all channels together.
    let newest3 = keys(&log.items(None, 3));
    assert_eq!(
        newest3,
        [("a", 4), ("a", -3), ("a", 2), ("b", 2)].map(|(c, o)| (c.to_owned(), o))
    );
}

#[test]
fn a_panes_list_is_its_channels_newest_first() {
    let mut log = Log::default();
    for (c, o, stored) in [("a", 1, 10), ("b", 1, 15), ("a", 2, 20), ("c", 1, 25)] {
        log.deliver(&on(c, o, stored), 0, 1, 0, None);
    }
    let a: OrdSet<Offset> = [1u64, 2].into_iter().collect();
    let b: OrdSet<Offset> = [1u64].into_iter().collect();
    let (ca, cb): (Channel, Channel) = ("a".into(), "b".into());
    let rows = log.received([(&ca, &a), (&cb, &b)].into_iter(), 10);
    let got: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(got, ["a-2", "b-1", "a-1"], "c is not this pane's");
    assert_eq!(log.received([(&ca, &a)].into_iter(), 1).len(), 1);
}

/// The bound drops, all channels together, the oldest row of the channel whose oldest row is
/// oldest: never one from the middle of a channel. A reset channel goes, the others stay.
#[test]
fn the_bound_drops_each_channels_oldest_and_a_reset_clears_one_channel() {
    let mut log = Log::default();
    let half = MAX_EVENTS as u64 / 2;
    for o in 1..=half {
        log.deliver(&on("a", o, o * 2), 0, 1, 0, None);
        log.deliver(&on("b", o, o * 2 + 1), 0, 1, 0, None);
    }
    assert!(log.trim().is_empty());
    log.deliver(&on("a", half + 1, u64::MAX), 0, 1, 0, None);
    log.deliver(&on("b", half + 1, u64::MAX), 0, 1, 0, None);
    let dropped = log.trim();
    let key = |c: &str, offset| RowKey {
        channel: c.into(),
        offset,
    };
    assert_eq!(
        dropped,
        [key("a", 1), key("b", 1)],
        "stored at 2, then at 3"
    );
    assert_eq!((log.len(), log.dropped), (MAX_EVENTS, 2));
    log.clear("a");
    assert_eq!(log.len(), MAX_EVENTS / 2);
    assert_eq!(log.len_of("a"), 0);
    assert!(log.get("b", 2).is_some());
}
