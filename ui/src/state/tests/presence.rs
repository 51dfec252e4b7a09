//! Reducer tests of presence: each pane's members per channel, the timeline's join and leave
//! rows, and what a reconnect, a relist or a channel left does to them.

use super::*;
use crate::presence::Kind;
use wire::Member;

fn member(id: &str, name: &str, region: &str) -> Member {
    Member {
        id: id.into(),
        name: name.into(),
        region: region.into(),
        since: 50,
    }
}

fn list(channel: &str, members: &[&Member]) -> ServerFrame {
    ServerFrame::Presence {
        channel: channel.into(),
        count: members.len(),
        members: members.iter().map(|m| (*m).clone()).collect(),
    }
}

fn join(channel: &str, m: &Member) -> ServerFrame {
    ServerFrame::Join {
        channel: channel.into(),
        member: m.clone(),
    }
}

fn leave(channel: &str, m: &Member) -> ServerFrame {
    ServerFrame::Leave {
        channel: channel.into(),
        member: m.clone(),
    }
}

/// Pane `p`'s members of `channel`, by name, every region's (sorted).
fn online(s: &State, p: usize, channel: &str) -> Vec<String> {
    let Some(r) = s.panes[p].presence.get(channel) else {
        return vec![];
    };
    let mut v: Vec<String> = (r.by_region().values())
        .flatten()
        .map(|m| format!("{}@{}", m.name, m.region))
        .collect();
    v.sort();
    v
}

/// The list, then joins and leaves, each once however often it is told; each change is one
/// timeline row with every pane's receipt.
#[test]
fn every_pane_lists_the_members_of_every_region_and_each_change_is_one_row() {
    let mut s = connected();
    let (ana, ben, chen) = (
        member("us-1.1", "Ana", "us"),
        member("eu-1.1", "Ben", "eu"),
        member("as-1.1", "Chen", "as"),
    );
    for p in 0..3 {
        s.apply(frames(p, vec![(list(GLOBAL, &[&ana]), 10)]));
    }
    for p in 0..3 {
        let at = 100 + p as u64;
        // Ben's join twice (a duplicate), then Chen's.
        s.apply(frames(
            p,
            vec![(join(GLOBAL, &ben), at), (join(GLOBAL, &ben), at + 1)],
        ));
        s.apply(frames(p, vec![(join(GLOBAL, &chen), at + 10)]));
    }
    for p in 0..3 {
        assert_eq!(
            online(&s, p, GLOBAL),
            ["Ana@us", "Ben@eu", "Chen@as"],
            "pane {p}"
        );
        assert_eq!(s.panes[p].presence[GLOBAL].count(), 3);
    }
    assert_eq!(s.presence.len(), 2, "Ben's join and Chen's: one row each");
    let bens = s.presence.iter().next().unwrap();
    assert_eq!((bens.kind, bens.member.name.as_str()), (Kind::Join, "Ben"));
    assert_eq!(
        bens.seen,
        [Some(100), Some(101), Some(102)],
        "first receipts"
    );
    for p in 0..3 {
        s.apply(frames(
            p,
            vec![(leave(GLOBAL, &ben), 200), (leave(GLOBAL, &ben), 201)],
        ));
    }
    for p in 0..3 {
        assert_eq!(online(&s, p, GLOBAL), ["Ana@us", "Chen@as"]);
    }
    assert_eq!(s.presence.len(), 3);
    assert_eq!(s.presence.newest_first(None)[0].kind, Kind::Leave);
}

/// A fresh list after changes replaces them (a broker that lost its data, a reconnect); the
/// changes after it apply to it; the list itself makes no row.
#[test]
fn a_relist_replaces_what_the_pane_knew() {
    let mut s = connected();
    let (ana, ben, dee) = (
        member("us-1.1", "Ana", "us"),
        member("eu-1.1", "Ben", "eu"),
        member("eu-2.1", "Dee", "eu"),
    );
    s.apply(frames(
        0,
        vec![(list(GLOBAL, &[&ana]), 1), (join(GLOBAL, &ben), 2)],
    ));
    s.apply(frames(0, vec![(list(GLOBAL, &[&dee]), 3)]));
    assert_eq!(online(&s, 0, GLOBAL), ["Dee@eu"]);
    s.apply(frames(
        0,
        vec![(leave(GLOBAL, &ana), 4), (join(GLOBAL, &ben), 5)],
    ));
    assert_eq!(online(&s, 0, GLOBAL), ["Ben@eu", "Dee@eu"]);
    assert_eq!(
        s.presence.len(),
        2,
        "Ben's join (told twice) and Ana's leave; no list rows"
    );
}

/// A pane that loses its connection knows nobody until the next list; a channel it stops
/// following takes its members with it, and a change of a channel it does not follow is
/// dropped.
#[test]
fn a_closed_socket_or_a_channel_left_forgets_its_members() {
    let mut s = connected();
    let ana = member("us-1.1", "Ana", "us");
    s.apply(frames(1, vec![(list(GLOBAL, &[&ana]), 1)]));
    s.apply(Action::Link(
        1,
        Link::Reconnecting {
            attempt: 1,
            retry_ms: 250,
        },
    ));
    assert!(s.panes[1].presence.is_empty());
    s.apply(frames(1, vec![(list(GLOBAL, &[&ana]), 2)]));
    s.apply(Action::Follow(1, Follows::of(["room-1"]).unwrap()));
    assert!(
        s.panes[1].presence.is_empty(),
        "global is no longer followed"
    );
    s.apply(frames(1, vec![(join(GLOBAL, &ana), 3)]));
    assert!(s.panes[1].presence.is_empty() && s.presence.is_empty());
    s.apply(frames(1, vec![(list("room-1", &[&ana]), 4)]));
    assert_eq!(online(&s, 1, "room-1"), ["Ana@us"]);
}

/// The welcome names the pane's own member; a new name is the pane's until it reconnects.
#[test]
fn the_welcome_says_who_the_pane_is() {
    let mut s = State::default();
    s.apply(Action::Regions(Ok(regions())));
    assert_eq!(&*s.panes[1].name, "guest US");
    let ana = member("us-1.1", "Ana", "us");
    let ServerFrame::Welcome {
        region,
        offset,
        epoch,
        broker,
        channels,
        ..
    } = welcome("e1")
    else {
        unreachable!()
    };
    let hello = ServerFrame::Welcome {
        region,
        offset,
        epoch,
        broker,
        channels,
        member: Some(ana.clone()),
    };
    s.apply(Action::Name(1, "Ana".into()));
    s.apply(frames(1, vec![(hello, 1)]));
    assert_eq!(&*s.panes[1].name, "Ana");
    assert_eq!(s.panes[1].me, Some(ana.clone()));
    // Ana's connection is US's own: the timeline does not wait for US to be told of her.
    s.apply(frames(0, vec![(leave(GLOBAL, &ana), 2)]));
    let row = s.presence.iter().next().unwrap();
    assert_eq!(row.own, Some(1));
    assert!(row.due(0) && !row.due(1));
}

/// A pane that learnt of a join from its list (it connected after it) is not waiting for the
/// join's frame, whichever came first: its list, or another pane's frame.
#[test]
fn a_pane_whose_list_says_it_already_is_not_waiting_for_the_frame() {
    let mut s = connected();
    let (guest, ben) = (
        member("us-1.1", "guest US", "us"),
        member("eu-1.1", "Ben", "eu"),
    );
    // AS lists the US guest before US is told of its own join.
    s.apply(frames(0, vec![(list(GLOBAL, &[&guest]), 1)]));
    s.apply(frames(1, vec![(join(GLOBAL, &guest), 2)]));
    assert!(!s.presence.iter().next().unwrap().due(0));
    assert!(
        s.presence.iter().next().unwrap().due(2),
        "EU neither told nor listed yet"
    );
    // Ben's join reaches AS; EU's list, taken after, has him (and the guest).
    s.apply(frames(0, vec![(join(GLOBAL, &ben), 3)]));
    s.apply(frames(2, vec![(list(GLOBAL, &[&guest, &ben]), 4)]));
    let rows: Vec<_> = s.presence.iter().collect();
    assert_eq!(rows[0].listed, [0, 2]);
    assert_eq!(rows[1].listed, [2]);
    assert!(rows[1].due(1), "US neither told nor listed Ben yet");
}
