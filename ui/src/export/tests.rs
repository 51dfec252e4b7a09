//! Export tests: JSON there and back, CSV lines and quoting, refusing what is not an export.

use super::*;
use wire::EventFrame;

fn ev(offset: Offset, text: &str) -> EventFrame {
    EventFrame {
        channel: wire::GLOBAL.into(),
        offset,
        id: format!("as-{offset}"),
        origin: "as".into(),
        kind: "click".into(),
        payload: serde_json::json!({ "text": text }),
        published_at: 1_000,
        stored_at: 1_150,
        received_at: 1_300 + offset,
        replay: false,
    }
}

fn log() -> Log {
    let mut log = Log::default();
    log.deliver(&ev(1, "hi, \"you\""), 0, 3, 2_000, None);
    log.deliver(&ev(1, "hi, \"you\""), 2, 3, 2_500, None);
    log.deliver(&ev(2, "plain"), 1, 3, 3_000, None);
    log
}

fn regions() -> Vec<String> {
    wire::REGIONS.map(String::from).to_vec()
}

#[test]
fn a_json_export_opens_as_the_same_timeline() {
    let rec = record(&log(), &regions(), None, 9_000);
    let back = from_json(&to_json(&rec)).unwrap();
    assert_eq!(back, rec);
    let opened = to_log(&back);
    assert_eq!(opened.len(), 2);
    let row = opened.get("global", 1).unwrap();
    assert_eq!(
        **row,
        **log().get("global", 1).unwrap(),
        "every hop of the row, in pane order"
    );
    assert_eq!(row.delivered[1], None, "US never got offset 1");
    assert_eq!(row.latency(2), Some(1_500));
}

#[test]
fn the_csv_has_a_line_per_event_and_region_with_text_quoted() {
    let csv = to_csv(&record(&log(), &regions(), None, 9_000));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("offset,id,origin,kind,text,published_at_us"));
    assert_eq!(lines.len(), 1 + 3);
    assert_eq!(
        lines[1],
        "1,as-1,as,click,\"hi, \"\"you\"\"\",1000,1150,as,1301,2000,false,global"
    );
    assert!(lines[2].starts_with("1,as-1,") && lines[2].contains(",eu,1301,2500,"));
    assert_eq!(
        lines[3],
        "2,as-2,as,click,plain,1000,1150,us,1302,3000,false,global"
    );
}

#[test]
fn what_is_not_an_export_is_refused_with_why() {
    assert!(from_json("{}")
        .unwrap_err()
        .to_string()
        .contains("not a timeline export"));
    let mut rec = record(&log(), &regions(), None, 1);
    rec.format = "something-else".into();
    let err = from_json(&to_json(&rec)).unwrap_err().to_string();
    assert!(err.contains("something-else"), "{err}");
}

/// Rows of two channels at the same offset stay two rows there and back, each with its
/// channel (also in the CSV); where the panes' feeds started comes back too, and an export
/// older than channels reads as `global`, every event due everywhere.
#[test]
fn channels_and_feeds_survive_the_round_trip_and_old_exports_are_global() {
    let mut log = log();
    let room = EventFrame {
        channel: "room-1".into(),
        id: "room-1".into(),
        ..ev(1, "in a room")
    };
    log.deliver(&room, 1, 3, 4_000, None);
    let feeds: Vec<Starts> = vec![
        [("global".to_owned(), 0)].into(),
        [("global".to_owned(), 0), ("room-1".to_owned(), 0)].into(),
        [("room-1".to_owned(), 3)].into(),
    ];
    let rec = record(&log, &regions(), Some(feeds.clone()), 9_000);
    let back = from_json(&to_json(&rec)).unwrap();
    assert_eq!(back.feeds, Some(feeds));
    let opened = to_log(&back);
    assert_eq!(opened.len(), 3);
    assert_eq!(&*opened.get("room-1", 1).unwrap().text, "in a room");
    assert_eq!(&*opened.get("global", 1).unwrap().id, "as-1");
    let csv = to_csv(&rec);
    assert!(csv
        .lines()
        .any(|l| l.starts_with("1,room-1,") && l.ends_with(",room-1")));
    let mut old: serde_json::Value = serde_json::from_str(&to_json(&rec)).unwrap();
    old.as_object_mut().unwrap().remove("feeds");
    for e in old["events"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("channel");
    }
    let old = from_json(&old.to_string()).unwrap();
    assert_eq!(old.feeds, None);
    assert!(old.events.iter().all(|e| e.channel == "global"));
}

/// Joins and leaves go into the JSON and come back as the same rows, in pane order; an
/// export without them (older) reads as none; the CSV leaves them out.
#[test]
fn joins_and_leaves_are_exported_and_read_back() {
    use crate::presence::{Changes, Kind};
    let mut changes = Changes::default();
    let ben = wire::Member {
        id: "eu-1.1".into(),
        name: "Ben".into(),
        region: "eu".into(),
        since: 500,
    };
    let global = crate::channels::Channel::from(wire::GLOBAL);
    changes.note(&global, Kind::Join, &ben, (2, 3), 600, None);
    changes.note(&global, Kind::Join, &ben, (0, 3), 640, None);
    changes.note(&global, Kind::Leave, &ben, (1, 3), 900, Some(2));
    let rec = record(&log(), &regions(), None, 9_000).with_presence(&changes);
    let json = to_json(&rec);
    assert!(json.contains("\"presence\""));
    let back = from_json(&json).unwrap();
    assert_eq!(to_changes(&back), changes);
    assert!(!to_csv(&rec).contains("Ben"), "the CSV lists events only");
    let older = record(&log(), &regions(), None, 9_000);
    assert!(!to_json(&older).contains("presence"));
    assert!(to_changes(&from_json(&to_json(&older)).unwrap()).is_empty());
}
