//! Reducer tests of channels: what a pane follows, per-channel feeds, resets and backlogs.

use super::*;

/// An event of `channel` at `offset`.
fn on(channel: &str, offset: Offset) -> ServerFrame {
    let ServerFrame::Event(ev) = event(offset) else {
        unreachable!()
    };
    ServerFrame::Event(EventFrame {
        channel: channel.into(),
        id: format!("{channel}-{offset}"),
        ..ev
    })
}

/// A welcome naming where each of `channels` stands, `(channel, offset, epoch)`.
fn welcome_on(channels: &[(&str, Offset, &str)]) -> ServerFrame {
    ServerFrame::Welcome {
        region: "as".into(),
        offset: channels[0].1,
        epoch: channels[0].2.into(),
        broker: wire::BrokerKind::Redis,
        channels: (channels.iter())
            .map(|(c, offset, epoch)| wire::ChannelPosition {
                channel: (*c).into(),
                offset: *offset,
                epoch: (*epoch).into(),
            })
            .collect(),
        member: None,
    }
}

fn follows(names: &[&str]) -> Follows {
    Follows::of(names.iter().copied()).unwrap()
}

/// Panes following rooms: AS in a and b, US in b. Each pane takes only its channels' events
/// (US drops a's), and a's 1 and b's 1 are two rows.
fn rooms() -> State {
    let mut s = State::default();
    s.apply(Action::Regions(Ok(regions())));
    s.apply(Action::Follow(0, follows(&["a", "b"])));
    s.apply(Action::Follow(1, follows(&["b"])));
    s.apply(frames(
        0,
        vec![(welcome_on(&[("a", 0, "Ea"), ("b", 3, "Eb")]), 1)],
    ));
    s.apply(frames(1, vec![(welcome_on(&[("b", 3, "Eb")]), 1)]));
    s
}

fn got(s: &State, p: usize, channel: &str) -> Vec<Offset> {
    (s.panes[p].feeds.get(channel))
        .map(|f| f.received.iter().copied().collect())
        .unwrap_or_default()
}

#[test]
fn a_pane_takes_only_the_channels_it_follows_and_channels_share_offsets() {
    let mut s = rooms();
    for p in 0..2 {
        s.apply(frames(
            p,
            vec![(on("a", 1), 5), (on("b", 4), 6), (on("c", 1), 7)],
        ));
    }
    assert_eq!((got(&s, 0, "a"), got(&s, 0, "b")), (vec![1], vec![4]));
    assert_eq!((got(&s, 1, "a"), got(&s, 1, "b")), (vec![], vec![4]));
    assert_eq!(
        s.log.len(),
        2,
        "c is nobody's; US's copy of a was not taken"
    );
    assert!(s.log.get("a", 1).unwrap().delivered[1].is_none());
    assert_eq!(
        s.log
            .get("b", 4)
            .unwrap()
            .delivered
            .iter()
            .flatten()
            .count(),
        2
    );
    assert_eq!(s.panes[1].duplicates, 0);
    // Where each feed started: what the timeline counts as due.
    let starts = s.panes[0].starts();
    assert_eq!((starts["a"], starts["b"]), (0, 3));
    assert!(!s.panes[1].starts().contains_key("a"));
}

/// Following fewer channels drops their feeds at once (their late frames too); a channel
/// followed later starts with its `subscribed` frame, where the region then stood.
#[test]
fn following_changes_drop_feeds_at_once_and_new_ones_start_when_subscribed() {
    let mut s = rooms();
    s.apply(frames(0, vec![(on("a", 1), 5)]));
    s.apply(Action::Follow(0, follows(&["b", "late"])));
    assert!(s.panes[0].feeds.get("a").is_none());
    s.apply(frames(0, vec![(on("a", 2), 6)]));
    assert_eq!(
        got(&s, 0, "a"),
        Vec::<Offset>::new(),
        "sent before its unsubscribed"
    );
    s.apply(frames(0, vec![(on("late", 1), 7)]));
    assert!(got(&s, 0, "late").is_empty(), "not subscribed yet");
    let subscribed = |channel: &str, offset| ServerFrame::Subscribed {
        channel: channel.into(),
        offset,
        epoch: "El".into(),
    };
    s.apply(frames(
        0,
        vec![(subscribed("late", 7), 8), (on("late", 8), 9)],
    ));
    assert_eq!(got(&s, 0, "late"), [8]);
    assert_eq!(s.panes[0].starts()["late"], 7);
    // A `subscribed` of a channel no longer followed (a quick change of mind) is ignored.
    s.apply(frames(0, vec![(subscribed("gone", 1), 10)]));
    assert!(s.panes[0].feeds.get("gone").is_none());
    s.apply(frames(
        0,
        vec![(
            ServerFrame::Unsubscribed {
                channel: "a".into(),
            },
            11,
        )],
    ));
    assert_eq!(s.panes[0].feeds.len(), 2);
}

/// A reset is per channel: a's log starts over (its rows and every pane's record of them go,
/// the notice names it), b is untouched; a reconnect's welcome resumes each on its own.
#[test]
fn an_epoch_frame_resets_only_its_channel() {
    let mut s = rooms();
    s.apply(frames(0, vec![(on("a", 1), 5), (on("b", 4), 6)]));
    s.apply(frames(1, vec![(on("b", 4), 6)]));
    s.apply(frames(
        0,
        vec![(epoch_frame("a", "Ea2", "redis restarted"), 7)],
    ));
    assert!(s.log.get("a", 1).is_none());
    assert!(s.log.get("b", 4).is_some());
    assert_eq!((got(&s, 0, "a"), got(&s, 0, "b")), (vec![], vec![4]));
    assert_eq!(s.channels["a"].epoch, "Ea2");
    assert_eq!(s.channels["b"].epoch, "Eb");
    assert_eq!(
        &*s.panes[0].notices[0].text,
        "a: log reset: redis restarted"
    );
    s.apply(frames(0, vec![(on("a", 1), 8)]));
    assert_eq!(got(&s, 0, "a"), [1], "the new log's 1");
    // A reconnect: the welcome's live ends do not move where each feed started.
    s.apply(frames(
        0,
        vec![(welcome_on(&[("a", 9, "Ea2"), ("b", 9, "Eb")]), 9)],
    ));
    assert_eq!((s.panes[0].starts()["a"], s.panes[0].starts()["b"]), (0, 3));
    let gap = ServerFrame::Gap {
        channel: "b".into(),
        from: 5,
        to: 6,
        message: "too old".into(),
    };
    s.apply(frames(0, vec![(gap, 10)]));
    assert_eq!(
        &*s.panes[0].notices[1].text,
        "b: offsets 5–6 missing: too old"
    );
}

#[test]
fn the_backlog_counts_every_channel_of_the_pane_and_acks_name_theirs() {
    let mut s = rooms();
    assert_eq!((s.backlog(0), s.backlog(1)), (Some(0), Some(0)));
    s.apply(frames(2, vec![(ack("a", 4), 1), (ack("b", 5), 1)]));
    assert_eq!(s.panes[2].acked, 2);
    assert_eq!(
        s.backlog(0),
        Some(0),
        "EU follows neither: its acks say nothing"
    );
    s.apply(frames(
        0,
        vec![(ack("a", 4), 1), (on("b", 4), 2), (on("b", 5), 3)],
    ));
    assert_eq!(s.channels["a"].newest, 4);
    assert_eq!(s.backlog(0), Some(4), "a: 4 not read");
    assert_eq!(s.backlog(1), Some(2), "b: 4 and 5 not read");
    assert_eq!(s.backlog(2), None, "EU follows no channel's log yet");
}
