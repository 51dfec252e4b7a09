//! Reducer tests: frames, notices, bounds, backlog, link settings.

use super::*;
use crate::log::MAX_EVENTS;
use wire::EventFrame;

fn regions() -> Vec<RegionInfo> {
    ["as", "us", "eu"]
        .iter()
        .enumerate()
        .map(|(i, n)| RegionInfo {
            name: n.to_string(),
            url: format!("http://127.0.0.1:{}", 4000 + i),
        })
        .collect()
}

fn welcome(epoch: &str) -> ServerFrame {
    ServerFrame::Welcome {
        region: "as".into(),
        offset: 0,
        epoch: epoch.into(),
        broker: "redis".into(),
    }
}

fn event(offset: Offset) -> ServerFrame {
    ServerFrame::Event(EventFrame {
        offset,
        id: format!("id-{offset}"),
        origin: "us".into(),
        kind: "click".into(),
        payload: serde_json::json!({"text": "hello"}),
        published_at: 10,
        stored_at: 20,
        received_at: 30,
        replay: false,
    })
}

fn connected() -> State {
    let mut s = State::default();
    s.apply(Action::Regions(Ok(regions())));
    for p in 0..3 {
        s.apply(Action::Frames(p, vec![(welcome("e1"), 1)]));
    }
    s
}

#[test]
fn an_event_seen_by_every_pane_has_every_hop() {
    let mut s = connected();
    for p in 0..3 {
        s.apply(Action::Frames(p, vec![(event(1), 100 + p as u64)]));
    }
    let row = s.log.get(1).unwrap();
    assert!(row.delivered.iter().all(Option::is_some));
    assert_eq!(row.latency(2), Some(92));
    assert!(s.panes.iter().all(|p| p.offsets.contains(&1)));
}

#[test]
fn a_repeated_event_is_counted_as_a_duplicate_not_shown_twice() {
    let mut s = connected();
    s.apply(Action::Frames(0, vec![(event(1), 5), (event(1), 6)]));
    assert_eq!(s.panes[0].offsets.len(), 1);
    assert_eq!(s.panes[0].duplicates, 1);
}

#[test]
fn an_epoch_frame_clears_the_log_and_says_so() {
    let mut s = connected();
    s.apply(Action::Frames(0, vec![(event(1), 5)]));
    s.apply(Action::Frames(1, vec![(event(1), 5)]));
    let reset = ServerFrame::Epoch {
        epoch: "e2".into(),
        offset: 0,
        lost_after: 0,
        message: "redis restarted".into(),
    };
    s.apply(Action::Frames(0, vec![(reset, 9)]));
    assert!(s.log.is_empty());
    assert!(s.panes.iter().all(|p| p.offsets.is_empty()));
    assert_eq!(s.epoch.as_deref(), Some("e2"));
    assert!(s.panes[0].notices[0].text.contains("redis restarted"));
    // A pane still on the old log drops its stale events until its own epoch frame.
    s.apply(Action::Frames(1, vec![(event(2), 10)]));
    assert!(s.log.is_empty());
    // A resume that lands on the new log: welcome (new epoch) then the epoch frame.
    let again = ServerFrame::Epoch {
        epoch: "e2".into(),
        offset: 0,
        lost_after: 0,
        message: "new log".into(),
    };
    s.apply(Action::Frames(1, vec![(welcome("e2"), 11), (again, 11)]));
    s.apply(Action::Frames(1, vec![(event(1), 12)]));
    assert_eq!(s.log.len(), 1);
    assert_eq!(s.panes[1].notices.len(), 1);
}

#[test]
fn error_frames_become_dismissible_notices_capped_per_pane() {
    let mut s = connected();
    for i in 0..6 {
        let e = ServerFrame::Error {
            code: "rate_limited".into(),
            message: format!("slow down {i}"),
            id: Some("x".into()),
            temporary: true,
        };
        s.apply(Action::Frames(2, vec![(e, 1)]));
    }
    let notices = &s.panes[2].notices;
    assert_eq!(notices.len(), MAX_NOTICES);
    assert!(notices.last().unwrap().text.contains("slow down 5"));
    let id = notices[0].id;
    s.apply(Action::Dismiss(2, id));
    assert!(s.panes[2].notices.iter().all(|n| n.id != id));
}

#[test]
fn state_stays_bounded_over_a_long_run() {
    let mut s = connected();
    let n = MAX_EVENTS as u64 + 500;
    let batch: Vec<_> = (1..=n).map(|o| (event(o), o)).collect();
    s.apply(Action::Frames(0, batch));
    assert_eq!(s.log.len(), MAX_EVENTS);
    assert_eq!(s.panes[0].offsets.len(), MAX_EVENTS);
    assert_eq!(s.panes[0].offsets.get_min(), Some(&501));
}

#[test]
fn acks_and_sends_are_counted() {
    let mut s = connected();
    s.apply(Action::Sent(1, 3));
    let ack = ServerFrame::Ack {
        id: "a".into(),
        offset: 1,
        duplicate: false,
    };
    s.apply(Action::Frames(1, vec![(ack, 1)]));
    assert_eq!((s.panes[1].sent, s.panes[1].acked), (3, 1));
}

fn health(offset: Offset, epoch: &str) -> Health {
    Health {
        region: "eu".into(),
        broker: "redis".into(),
        connected: true,
        clients: 1,
        offset,
        epoch: epoch.into(),
    }
}

#[test]
fn a_region_that_misses_events_has_a_backlog_that_drains_when_they_arrive() {
    let mut s = connected();
    assert_eq!(s.backlog(2), Some(0));
    for o in 1..=5 {
        s.apply(Action::Frames(0, vec![(event(o), o)]));
        s.apply(Action::Frames(1, vec![(event(o), o)]));
    }
    assert_eq!((s.backlog(0), s.backlog(2)), (Some(0), Some(5)));
    // Another region's /health knows of more; an ack of a publish, too.
    s.apply(Action::Health(1, Ok(health(7, "e1"))));
    assert_eq!(s.backlog(2), Some(7));
    let ack = ServerFrame::Ack {
        id: "a".into(),
        offset: 8,
        duplicate: false,
    };
    s.apply(Action::Frames(0, vec![(ack, 9)]));
    assert_eq!((s.backlog(0), s.backlog(2)), (Some(3), Some(8)));
    // A /health of another log says nothing about this one.
    s.apply(Action::Health(1, Ok(health(99, "old"))));
    assert_eq!(s.backlog(2), Some(8));
    // Healed: the region catches up (its /health first, then the events themselves).
    s.apply(Action::Health(2, Ok(health(6, "e1"))));
    assert_eq!(s.backlog(2), Some(2));
    let late: Vec<_> = (1..=8).map(|o| (event(o), 100 + o)).collect();
    s.apply(Action::Frames(2, late));
    assert_eq!(s.backlog(2), Some(0));
    assert_eq!(s.panes[2].duplicates, 0);
    assert_eq!(
        s.panes[2].offsets.iter().copied().collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
}

#[test]
fn a_welcome_tells_where_the_region_is_and_a_new_log_starts_the_count_again() {
    let mut s = State::default();
    s.apply(Action::Regions(Ok(regions())));
    assert_eq!(s.backlog(0), None, "not following a log yet");
    let at = |offset| ServerFrame::Welcome {
        region: "as".into(),
        offset,
        epoch: "e1".into(),
        broker: "redis".into(),
    };
    s.apply(Action::Frames(0, vec![(at(40), 1)]));
    s.apply(Action::Frames(1, vec![(at(42), 1)]));
    assert_eq!((s.backlog(0), s.backlog(1)), (Some(2), Some(0)));
    let reset = ServerFrame::Epoch {
        epoch: "e2".into(),
        offset: 0,
        lost_after: 0,
        message: "lost".into(),
    };
    s.apply(Action::Frames(1, vec![(reset, 2)]));
    assert_eq!((s.newest, s.backlog(1)), (0, Some(0)));
    assert_eq!(s.backlog(0), None, "pane 0 is still on the old log");
}

#[test]
fn link_settings_reach_their_pane_and_name_the_preset() {
    use crate::sim::SimEvent;
    let mut s = connected();
    assert_eq!(s.preset(), None, "unknown until every region answered");
    for (p, r) in ["as", "us", "eu"].iter().enumerate() {
        let g = wire::presets::settings("global", r).unwrap();
        s.apply(Action::Sim(p, SimEvent::Loaded(Ok(g))));
    }
    assert_eq!(s.preset(), Some("global"));
    let mut cut = s.panes[2].sim.settings.clone().unwrap();
    cut.cut_off = true;
    s.apply(Action::Sim(2, SimEvent::Loaded(Ok(cut))));
    assert!(s.panes[2].sim.cut_off());
    assert_eq!(s.preset(), None);
}

#[test]
fn the_scenario_runs_through_the_reducer() {
    use crate::scenario::{Phase, ScenarioEvent};
    let mut s = connected();
    s.apply(Action::Scenario(ScenarioEvent::Start));
    assert_eq!(s.scenario.as_ref().unwrap().phase, Phase::Running(0));
    s.apply(Action::Scenario(ScenarioEvent::StepDone {
        run: 1,
        step: 0,
    }));
    assert_eq!(s.scenario.as_ref().unwrap().phase, Phase::Running(1));
    // A new region list keeps nothing of the old panes, the demo included.
    s.apply(Action::Regions(Ok(regions())));
    assert_eq!(s.scenario, None);
}
