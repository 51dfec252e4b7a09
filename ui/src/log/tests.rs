//! Unit tests of the log: deliveries, drawing order, gaps, bounds, percentiles.

use super::*;

fn ev(offset: Offset) -> EventFrame {
    EventFrame {
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
    let row = log.get(1).unwrap();
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
    let row = log.get(1).unwrap();
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
    log.note_gap(3, 4, "too old");
    let items = log.items(10);
    assert!(matches!(&items[0], Item::Row(r) if r.offset == 6));
    assert_eq!(
        items[1],
        Item::Gap(Gap {
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
    assert_eq!(log.first(), Some(6));
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
    let row = log.get(1).unwrap();
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
    assert!(!log.painted(1, 1, 9_000), "pane 1 has no copy to paint");
    assert!(!log.painted(2, 0, 9_000), "no such row");
    assert!(log.painted(1, 0, 2_400));
    assert!(!log.painted(1, 0, 3_000), "painted once");
    let row = log.get(1).unwrap();
    let d = row.delivered[0].unwrap();
    assert_eq!((d.at, d.render_time()), (2_000, Some(400)));
    assert_eq!(
        row.latency(0),
        Some(1_000),
        "render time is not delivery time"
    );
    assert_eq!(row.last_hop(), 2_400);
}
