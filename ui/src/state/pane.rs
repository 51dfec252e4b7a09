//! One region's pane as the state holds it, and where each of its channels' feeds stands.

use super::{Link, Notice};
use crate::channels::{Channel, Follows};
use crate::clock::ClockSync;
use crate::error::HttpError;
use crate::outbox_counts::OutboxCounts;
use crate::presence::Roster;
use crate::refusal::Refusal;
use crate::sim::SimView;
use im_rc::{OrdMap, OrdSet};
use std::rc::Rc;
use wire::{BrokerKind, Health, Member, Offset, RegionInfo};

/// One channel as a pane's socket is subscribed to it: from its welcome or `subscribed`
/// frame until the person stops following it (then it is dropped, events and all: the pane
/// lists only the channels it follows).
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// Epoch of the channel's log this feed follows.
    pub epoch: String,
    /// Offset the first subscription named: older events were never this pane's to get.
    pub start: Offset,
    /// Newest offset this region is known to have read of the channel (its subscription, the
    /// events it sent, for `global` its `/health`), in `epoch`.
    pub head: Offset,
    /// Offsets this pane got (bounded with the log: trimmed with it).
    pub received: OrdSet<Offset>,
}

impl Feed {
    /// A feed of log `epoch` starting after `start`.
    pub fn new(epoch: String, start: Offset) -> Feed {
        Feed {
            epoch,
            start,
            head: 0,
            received: OrdSet::new(),
        }
    }
}

/// Everything one region's pane shows, except the events themselves (those are in [`Log`]).
///
/// [`Log`]: crate::log::Log
#[derive(Debug, Clone)]
pub struct Pane {
    /// Region name and base URL.
    pub region: RegionInfo,
    /// Socket state.
    pub link: Link,
    /// The broker the welcome frame named, until health says otherwise.
    pub broker: Option<BrokerKind>,
    /// Last `/health` answer, or why it failed.
    pub health: Option<Result<Health, HttpError>>,
    /// The channels the person chose for this pane's clients (its socket asks for these).
    pub follows: Follows,
    /// Per followed channel the socket is subscribed to: where its feed stands.
    pub feeds: OrdMap<Channel, Feed>,
    /// Events received a second time (should stay 0: resumes neither skip nor repeat).
    pub duplicates: u64,
    /// Publish frames sent from this pane (a retry counts again).
    pub sent: u64,
    /// Acks received.
    pub acked: u64,
    /// What the socket's outbox holds: queued, in flight, waiting to be retried.
    pub publishes: OutboxCounts,
    /// Why the region refused this page's last attempt to connect, while it does.
    pub refused: Option<Refusal>,
    /// Newest last, at most [`MAX_NOTICES`](super::MAX_NOTICES).
    pub notices: Vec<Notice>,
    /// This region's simulated link to the broker.
    pub sim: SimView,
    /// This region's clock against the page's ([`crate::clock`]): puts the page's
    /// "delivered" stamps on the region's time line.
    pub clock: ClockSync,
    /// The display name this pane's client connects with (the person's, or
    /// [`guest_name`] until they log in).
    pub name: Rc<str>,
    /// This pane's client as a member, as its region's latest `welcome` named it.
    pub me: Option<Member>,
    /// The member ids of this pane's connections, newest last, at most [`OWN_KEPT`]: the
    /// timeline does not wait for a pane to be told of its own client's join or leave.
    pub own: Vec<Rc<str>>,
    /// Per followed channel whose `presence` list came: who is online, in every region.
    /// Empty while the socket is not connected (what it knew may be stale by then).
    pub presence: OrdMap<Channel, Roster>,
}

/// Member ids of its own connections a pane keeps.
pub const OWN_KEPT: usize = 16;

/// The name a pane's client has until its person logs in: readable, and says the region.
pub fn guest_name(region: &str) -> Rc<str> {
    format!("guest {}", region.to_uppercase()).into()
}

/// Field by field, with the feeds compared by identity first: unchanged feeds are the same
/// persistent map, so comparing an unchanged pane (component props) does not walk them.
impl PartialEq for Pane {
    fn eq(&self, o: &Self) -> bool {
        let Pane {
            region,
            link,
            broker,
            health,
            follows,
            feeds,
            duplicates,
            sent,
            acked,
            publishes,
            refused,
            notices,
            sim,
            clock,
            name,
            me,
            own,
            presence,
        } = self;
        (feeds.ptr_eq(&o.feeds) || *feeds == o.feeds)
            && (region, link, broker, health, follows)
                == (&o.region, &o.link, &o.broker, &o.health, &o.follows)
            && (duplicates, sent, acked, notices, sim)
                == (&o.duplicates, &o.sent, &o.acked, &o.notices, &o.sim)
            && (publishes, refused, clock) == (&o.publishes, &o.refused, &o.clock)
            && (name, me, own) == (&o.name, &o.me, &o.own)
            && (presence.ptr_eq(&o.presence) || *presence == o.presence)
    }
}

impl Pane {
    pub(super) fn new(region: RegionInfo) -> Pane {
        Pane {
            name: guest_name(&region.name),
            me: None,
            own: Vec::new(),
            presence: OrdMap::new(),
            region,
            link: Link::Connecting,
            broker: None,
            health: None,
            follows: Follows::default(),
            feeds: OrdMap::new(),
            duplicates: 0,
            sent: 0,
            acked: 0,
            publishes: OutboxCounts::default(),
            refused: None,
            notices: Vec::new(),
            sim: SimView::default(),
            clock: ClockSync::default(),
        }
    }

    /// Follow these channels from now: the feeds of the others go at once (their frames
    /// still on the way are dropped), new ones start with their `subscribed` frame.
    pub(super) fn follow(&mut self, follows: Follows) {
        let gone: Vec<Channel> = (self.feeds.keys().chain(self.presence.keys()))
            .filter(|c| !follows.contains(c))
            .cloned()
            .collect();
        for c in gone {
            self.feeds.remove(&c);
            self.presence.remove(&c);
        }
        self.follows = follows;
    }

    /// The server confirmed `channel` is no longer followed.
    pub(super) fn unsubscribed(&mut self, channel: &str) {
        if !self.follows.contains(channel) {
            self.feeds.remove(channel);
            self.presence.remove(channel);
        }
    }

    /// `channel` as this pane follows it, if it does.
    pub(super) fn followed(&self, channel: &str) -> Option<Channel> {
        self.follows.iter().find(|c| &***c == channel).cloned()
    }

    /// `channel` as this pane's feeds hold it, if the socket is subscribed to it.
    pub(super) fn fed(&self, channel: &str) -> Option<Channel> {
        self.feeds.get_key_value(channel).map(|(c, _)| c.clone())
    }

    /// Events this pane got, all its channels together.
    pub fn received(&self) -> usize {
        self.feeds.values().map(|f| f.received.len()).sum()
    }

    /// Where each of its feeds started, by channel: which events were due to reach it.
    pub fn starts(&self) -> std::collections::BTreeMap<String, Offset> {
        (self.feeds.iter())
            .map(|(c, f)| (c.to_string(), f.start))
            .collect()
    }
}
