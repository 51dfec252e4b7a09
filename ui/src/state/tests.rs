//! Reducer tests: frames, notices, bounds, backlog, link settings, channels.

use super::*;
use crate::log::MAX_EVENTS;
use wire::EventFrame;

fn regions() -> Vec<RegionInfo> {
    wire::REGIONS
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
        broker: wire::BrokerKind::Redis,
        channels: vec![],
        member: None,
    }
}

fn event(offset: Offset) -> ServerFrame {
    ServerFrame::Event(EventFrame {
        channel: GLOBAL.into(),
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

fn epoch_frame(channel: &str, epoch: &str, message: &str) -> ServerFrame {
    ServerFrame::Epoch {
        channel: channel.into(),
        epoch: epoch.into(),
        offset: 0,
        lost_after: 0,
        message: message.into(),
    }
}

fn ack(channel: &str, offset: Offset) -> ServerFrame {
    ServerFrame::Ack {
        id: "a".into(),
        channel: channel.into(),
        offset,
        duplicate: false,
    }
}

/// The offsets pane `p` got of `global`.
fn received(p: &Pane) -> im_rc::OrdSet<Offset> {
    p.feeds
        .get(GLOBAL)
        .map(|f| f.received.clone())
        .unwrap_or_default()
}

/// What the render batcher dispatches for frames of one pane: [`Action::Batch`], as in production.
fn frames(p: usize, frames: Vec<(ServerFrame, Micros)>) -> Action {
    Action::Batch(frames.into_iter().map(|(f, at)| (p, f, at)).collect())
}

fn connected() -> State {
    let mut s = State::default();
    s.apply(Action::Regions(Ok(regions())));
    for p in 0..3 {
        s.apply(frames(p, vec![(welcome("e1"), 1)]));
    }
    s
}

#[test]
fn an_event_seen_by_every_pane_has_every_hop() {
    let mut s = connected();
    for p in 0..3 {
        s.apply(frames(p, vec![(event(1), 100 + p as u64)]));
    }
    let row = s.log.get(GLOBAL, 1).unwrap();
    assert!(row.delivered.iter().all(Option::is_some));
    assert_eq!(row.latency(2), Some(92));
    assert!(s.panes.iter().all(|p| received(p).contains(&1)));
}

#[test]
fn a_repeated_event_is_counted_as_a_duplicate_not_shown_twice() {
    let mut s = connected();
    s.apply(frames(0, vec![(event(1), 5), (event(1), 6)]));
    assert_eq!(s.panes[0].received(), 1);
    assert_eq!(s.panes[0].duplicates, 1);
}

#[test]
fn an_epoch_frame_clears_the_log_and_says_so() {
    let mut s = connected();
    s.apply(frames(0, vec![(event(1), 5)]));
    s.apply(frames(1, vec![(event(1), 5)]));
    let reset = epoch_frame(GLOBAL, "e2", "redis restarted");
    s.apply(frames(0, vec![(reset, 9)]));
    assert!(s.log.is_empty());
    assert!(s.panes.iter().all(|p| p.received() == 0));
    assert_eq!(s.global_epoch().as_deref(), Some("e2"));
    assert!(s.panes[0].notices[0].text.contains("redis restarted"));
    // A pane still on the old log drops its stale events until its own epoch frame.
    s.apply(frames(1, vec![(event(2), 10)]));
    assert!(s.log.is_empty());
    // A resume that lands on the new log: welcome (new epoch) then the epoch frame.
    let again = epoch_frame(GLOBAL, "e2", "new log");
    s.apply(frames(1, vec![(welcome("e2"), 11), (again, 11)]));
    s.apply(frames(1, vec![(event(1), 12)]));
    assert_eq!(s.log.len(), 1);
    assert_eq!(s.panes[1].notices.len(), 1);
}

#[test]
fn error_frames_become_dismissible_notices_capped_per_pane() {
    let mut s = connected();
    for i in 0..6 {
        let e = ServerFrame::Error {
            code: wire::ErrorCode::RateLimited,
            message: format!("slow down {i}"),
            id: Some("x".into()),
            temporary: true,
        };
        s.apply(frames(2, vec![(e, 1)]));
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
    s.apply(frames(0, batch));
    assert_eq!(s.log.len(), MAX_EVENTS);
    assert_eq!(s.panes[0].received(), MAX_EVENTS);
    assert_eq!(received(&s.panes[0]).get_min(), Some(&501));
}

#[test]
fn acks_and_sends_are_counted() {
    let mut s = connected();
    s.apply(Action::Sent(1, 3));
    let ack = ack(GLOBAL, 1);
    s.apply(frames(1, vec![(ack, 1)]));
    assert_eq!((s.panes[1].sent, s.panes[1].acked), (3, 1));
}

fn health(offset: Offset, epoch: &str) -> Health {
    Health {
        region: "eu".into(),
        broker: wire::BrokerKind::Redis,
        connected: true,
        clients: 1,
        offset,
        epoch: epoch.into(),
        now: 0,
    }
}

#[test]
fn a_region_that_misses_events_has_a_backlog_that_drains_when_they_arrive() {
    let mut s = connected();
    assert_eq!(s.backlog(2), Some(0));
    for o in 1..=5 {
        s.apply(frames(0, vec![(event(o), o)]));
        s.apply(frames(1, vec![(event(o), o)]));
    }
    assert_eq!((s.backlog(0), s.backlog(2)), (Some(0), Some(5)));
    // Another region's /health knows of more; an ack of a publish, too.
    s.apply(Action::Health(1, Ok(health(7, "e1"))));
    assert_eq!(s.backlog(2), Some(7));
    let ack = ack(GLOBAL, 8);
    s.apply(frames(0, vec![(ack, 9)]));
    assert_eq!((s.backlog(0), s.backlog(2)), (Some(3), Some(8)));
    // A /health of another log says nothing about this one.
    s.apply(Action::Health(1, Ok(health(99, "old"))));
    assert_eq!(s.backlog(2), Some(8));
    // Healed: the region catches up (its /health first, then the events themselves).
    s.apply(Action::Health(2, Ok(health(6, "e1"))));
    assert_eq!(s.backlog(2), Some(2));
    let late: Vec<_> = (1..=8).map(|o| (event(o), 100 + o)).collect();
    s.apply(frames(2, late));
    assert_eq!(s.backlog(2), Some(0));
    assert_eq!(s.panes[2].duplicates, 0);
    assert_eq!(
        received(&s.panes[2]).iter().copied().collect::<Vec<_>>(),
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
        broker: wire::BrokerKind::Redis,
        channels: vec![],
        member: None,
    };
    s.apply(frames(0, vec![(at(40), 1)]));
    s.apply(frames(1, vec![(at(42), 1)]));
    assert_eq!((s.backlog(0), s.backlog(1)), (Some(2), Some(0)));
    let reset = epoch_frame(GLOBAL, "e2", "lost");
    s.apply(frames(1, vec![(reset, 2)]));
    assert_eq!((s.channels[GLOBAL].newest, s.backlog(1)), (0, Some(0)));
    assert_eq!(s.backlog(0), None, "pane 0 is still on the old log");
}

#[test]
fn link_settings_reach_their_pane_and_name_the_preset() {
    use crate::sim::SimEvent;
    let mut s = connected();
    assert_eq!(s.preset(), None, "unknown until every region answered");
    for (p, r) in wire::REGIONS.iter().enumerate() {
        let g = wire::sim::presets::settings("global", r).unwrap();
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
    s.apply(Action::Scenario(ScenarioEvent::Start(
        &crate::scenario::PARTITION,
    )));
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

#[test]
fn a_batch_applies_frames_of_several_panes_in_arrival_order() {
    let mut s = State::default();
    s.apply(Action::Regions(Ok(regions())));
    // As the render batcher hands them over: pane 1's welcome, events interleaved, pane 0's welcome
    // after an event of pane 1 (so pane 0 follows the log from its welcome on).
    s.apply(Action::Batch(vec![
        (1, welcome("e1"), 1),
        (1, event(1), 2),
        (0, welcome("e1"), 3),
        (0, event(1), 4),
        (2, event(1), 5),
        (7, event(1), 6),
    ]));
    let row = s.log.get(GLOBAL, 1).unwrap();
    assert_eq!(row.delivered[1].map(|d| d.at), Some(2));
    assert_eq!(row.delivered[0].map(|d| d.at), Some(4));
    assert_eq!(row.delivered[2], None, "pane 2 follows no log yet");
    assert_eq!(s.panes[0].received(), 1);
}

#[test]
fn a_publish_refused_on_every_retry_shows_one_notice_and_its_pending_count() {
    use crate::outbox_counts::OutboxCounts;
    let mut s = connected();
    let refused = ServerFrame::Error {
        code: wire::ErrorCode::BrokerUnavailable,
        message: "retry with the same id".into(),
        id: Some("eu-1".into()),
        temporary: true,
    };
    for at in 1..=3 {
        s.apply(frames(2, vec![(refused.clone(), at)]));
    }
    let notices = &s.panes[2].notices;
    assert_eq!(
        notices.len(),
        1,
        "the same refusal is not listed three times"
    );
    assert!(notices[0].text.contains("· retrying"));
    let waiting = OutboxCounts {
        retrying: 1,
        retry_reason: Some("broker_unavailable".into()),
        ..OutboxCounts::default()
    };
    s.apply(Action::Publishes(2, waiting.clone()));
    assert_eq!(s.panes[2].publishes.total(), 1);
    s.apply(Action::Publishes(7, waiting));
    s.apply(Action::Publishes(2, OutboxCounts::default()));
    assert_eq!(s.panes[2].publishes.total(), 0);
}

#[test]
fn a_permanent_refusal_says_it_is_not_retried() {
    let mut s = connected();
    let refused = ServerFrame::Error {
        code: wire::ErrorCode::PayloadTooLarge,
        message: "too big".into(),
        id: Some("us-9".into()),
        temporary: false,
    };
    s.apply(frames(1, vec![(refused, 1)]));
    assert!(s.panes[1].notices[0].text.contains("· dropped"));
}

#[test]
fn a_refusal_for_the_token_is_held_until_the_socket_opens() {
    use crate::refusal::Refusal;
    let mut s = connected();
    s.apply(Action::Refused(0, Some(Refusal::Token)));
    assert_eq!(s.panes[0].refused, Some(Refusal::Token));
    assert_eq!(s.panes[1].refused, None);
    s.apply(Action::Refused(0, None));
    assert_eq!(s.panes[0].refused, None);
}

#[test]
fn each_pane_puts_its_deliveries_on_its_regions_time_line_and_paints_are_noted() {
    use crate::clock::Sample;
    let mut s = connected();
    s.apply(frames(0, vec![(event(1), 50)]));
    // EU's clock is 1 s ahead of the page's: a `/health` exchange of 40 µs says so.
    let sample = Sample {
        sent: 1_000,
        region: 1_001_020,
        received: 1_040,
    };
    s.apply(Action::Clock(2, sample));
    s.apply(Action::Clock(
        2,
        Sample {
            region: 0,
            ..sample
        },
    )); // an older server: ignored
    s.apply(frames(2, vec![(event(1), 60)]));
    let row = s.log.get(GLOBAL, 1).unwrap();
    assert_eq!(row.delivered[0].unwrap().clock, None, "AS not measured yet");
    let eu = row.delivered[2].unwrap();
    assert_eq!(eu.clock, Some(sample.offset()));
    assert_eq!(eu.on_region_line(), 1_000_060);
    let key = crate::log::RowKey {
        channel: GLOBAL.into(),
        offset: 1,
    };
    s.apply(Action::Painted(95, vec![(2, key.clone()), (1, key)]));
    let row = s.log.get(GLOBAL, 1).unwrap();
    assert_eq!(row.delivered[2].unwrap().render_time(), Some(35));
    assert_eq!(
        row.delivered[1], None,
        "a paint of a copy never received is ignored"
    );
    assert!(!s.show_render);
    s.apply(Action::ShowRender(true));
    s.apply(Action::Regions(Ok(regions())));
    assert!(s.show_render, "the choice outlives a new region list");
}

mod channels;
mod presence;
