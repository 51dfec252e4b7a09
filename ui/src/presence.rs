//! Presence as a pane knows it (pure): per channel, who is online in every region
//! ([`Roster`]), and the joins and leaves the timeline lists ([`Changes`]).
//!
//! A pane's socket asks for presence on every channel it follows (`/ws?presence=1`, and
//! `"presence":true` on each `subscribe`). The region answers each with a `presence` frame
//! (every region's members, at most `wire::presence::MAX_LISTED` listed, `count` exact), then
//! a `join` or `leave` per change. The rules kept here (docs/protocol.md, "Presence"):
//! - **A fresh list replaces** what the pane knew (after a reconnect, a broker that lost its
//!   data, or a region that fell behind): members may appear or disappear with it, never
//!   silently, and no join or leave row is made for them.
//! - **Idempotent**: a `join` of a member listed already, or a `leave` of one not listed,
//!   changes nothing (a join may come after a list that has it, its own join in particular).
//! - **Exact count beyond the list**: members the region counted but did not list are kept as
//!   a number; a leave of an unlisted member takes one off it.

use crate::channels::Channel;
use im_rc::{OrdMap, Vector};
use std::collections::BTreeMap;
use std::rc::Rc;
use wire::{Member, Micros};

/// Joins and leaves kept for the timeline, all channels together; the oldest goes first.
pub const MAX_CHANGES: usize = 1_000;

/// The members of one channel, as one pane's socket was told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    /// Listed members, by connection id.
    members: OrdMap<Rc<str>, Member>,
    /// Members counted by the region but not listed (beyond its listing bound).
    unlisted: usize,
}

impl Roster {
    /// The roster a `presence` frame gives: `members` listed of `count`.
    pub fn listed(count: usize, members: Vec<Member>) -> Roster {
        let members: OrdMap<Rc<str>, Member> = (members.into_iter())
            .map(|m| (Rc::from(m.id.as_str()), m))
            .collect();
        Roster {
            unlisted: count.saturating_sub(members.len()),
            members,
        }
    }

    /// `member` joined; false (nothing changed) when it was listed already.
    pub fn join(&mut self, member: Member) -> bool {
        let id: Rc<str> = member.id.as_str().into();
        self.members.insert(id, member).is_none()
    }

    /// `member` left; false (nothing changed) when it was not listed and no unlisted member
    /// is counted.
    pub fn leave(&mut self, member: &Member) -> bool {
        if self.members.remove(member.id.as_str()).is_some() {
            return true;
        }
        // One of the unlisted ones (a region lists at most `MAX_LISTED`).
        let was = self.unlisted;
        self.unlisted = was.saturating_sub(1);
        was > 0
    }

    /// Members online, listed or not.
    pub fn count(&self) -> usize {
        self.members.len() + self.unlisted
    }

    /// Members counted but not listed.
    pub fn unlisted(&self) -> usize {
        self.unlisted
    }

    /// True when `id` is listed.
    pub fn has(&self, id: &str) -> bool {
        self.members.contains_key(id)
    }

    /// The listed members by region (by name), each region's oldest first (then by id).
    pub fn by_region(&self) -> BTreeMap<&str, Vec<&Member>> {
        let mut out: BTreeMap<&str, Vec<&Member>> = BTreeMap::new();
        for m in self.members.values() {
            out.entry(m.region.as_str()).or_default().push(m);
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| (a.since, &a.id).cmp(&(b.since, &b.id)));
        }
        out
    }
}

/// Which way a presence change went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The member joined the channel.
    Join,
    /// The member left it.
    Leave,
}

impl Kind {
    /// `"join"` or `"leave"` (the wire's frame types).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Join => "join",
            Kind::Leave => "leave",
        }
    }
}

/// One join or leave, as every pane that was told of it saw it: a row of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The channel.
    pub channel: Channel,
    /// Join or leave.
    pub kind: Kind,
    /// Who (its `since` is when it joined, its region's clock).
    pub member: Member,
    /// Per pane (same index as `State::panes`): when its socket got the frame, on its
    /// region's time line (the page's stamp moved by the clock offset measured then; the
    /// page's own stamp while none was known), µs.
    pub seen: Vec<Option<Micros>>,
    /// The pane whose own client this member is (was): that pane is not due a frame of it (a
    /// connection that left is not told of its leave; its own join may be in its list).
    pub own: Option<usize>,
    /// Panes that learnt of it from a `presence` list instead of its frame (their list already
    /// had the member, or no longer had it): not due its frame either.
    pub listed: Vec<usize>,
}

impl Change {
    /// What tells this change apart from every other: a connection joins a channel once per
    /// subscription (`since`), and leaves that subscription once.
    fn same(&self, channel: &str, kind: Kind, member: &Member) -> bool {
        (
            self.kind,
            &*self.channel,
            &self.member.id,
            self.member.since,
        ) == (kind, channel, &member.id, member.since)
    }

    /// When it happened, as well as the UI knows, µs: a join when its member joined (its
    /// region's clock); a leave, which carries no time, when the first pane was told.
    pub fn at(&self) -> Micros {
        match self.kind {
            Kind::Join => self.member.since,
            Kind::Leave => self.first_seen().unwrap_or(self.member.since),
        }
    }

    /// True when pane `pane` is told of this change, if it follows the channel: every pane
    /// but the one whose own client the member is.
    pub fn due(&self, pane: usize) -> bool {
        self.own != Some(pane) && !self.listed.contains(&pane)
    }

    /// True when `roster` (pane `pane`'s list of the channel) already says what this change
    /// says, though the pane was not told of it: the member is listed after a join, or not
    /// after a leave.
    fn shown_by(&self, pane: usize, roster: &Roster) -> bool {
        let told = self.seen.get(pane).copied().flatten().is_some();
        let listed = roster.has(&self.member.id);
        !told && !self.listed.contains(&pane) && listed == (self.kind == Kind::Join)
    }

    /// The earliest pane's receipt.
    pub fn first_seen(&self) -> Option<Micros> {
        self.seen.iter().flatten().min().copied()
    }
}

/// The joins and leaves the panes were told of, oldest first, each once (with every pane's
/// receipt), at most [`MAX_CHANGES`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    list: Vector<Rc<Change>>,
    /// Changes dropped to stay under [`MAX_CHANGES`].
    pub dropped: u64,
}

impl Changes {
    /// Note that pane `pane` (of `panes`) was told of `kind` of `member` on `channel` at `at`
    /// (on its region's line); `own`: the pane whose own client `member` is, if one is. A
    /// change another pane was told of gets this pane's receipt; a pane told twice keeps its
    /// first. Returns whether a new row was made.
    pub fn note(
        &mut self,
        channel: &Channel,
        kind: Kind,
        member: &Member,
        (pane, panes): (usize, usize),
        at: Micros,
        own: Option<usize>,
    ) -> bool {
        // Changes come in near the end: look from the newest back.
        let found = (self.list.iter().enumerate().rev())
            .find(|(_, c)| c.same(channel, kind, member))
            .map(|(i, _)| i);
        if let Some(i) = found {
            let mut c = Change::clone(&self.list[i]);
            if c.seen.len() < panes {
                c.seen.resize(panes, None);
            }
            if c.seen[pane].is_none() {
                c.seen[pane] = Some(at);
                self.list.set(i, Rc::new(c));
            }
            return false;
        }
        let mut seen = vec![None; panes];
        seen[pane] = Some(at);
        self.list.push_back(Rc::new(Change {
            channel: channel.clone(),
            kind,
            member: member.clone(),
            seen,
            own,
            listed: Vec::new(),
        }));
        while self.list.len() > MAX_CHANGES {
            self.list.pop_front();
            self.dropped += 1;
        }
        true
    }

    /// The member `id` is pane `pane`'s own client (its welcome came after a change of it was
    /// noted).
    pub fn own(&mut self, id: &str, pane: usize) {
        let found: Vec<usize> = (self.list.iter().enumerate())
            .filter(|(_, c)| c.member.id == id && c.own.is_none())
            .map(|(i, _)| i)
            .collect();
        for i in found {
            let mut c = Change::clone(&self.list[i]);
            c.own = Some(pane);
            self.list.set(i, Rc::new(c));
        }
    }

    /// Pane `pane`'s list of `channel` is now `roster`: the changes of that channel it says
    /// already (and the pane was not told of) are the pane's by its list. Only the newest
    /// `last` changes are looked at (all of them: `usize::MAX`).
    pub fn listed(&mut self, channel: &str, pane: usize, roster: &Roster, last: usize) {
        let from = self.list.len().saturating_sub(last);
        let found: Vec<usize> = (self.list.iter().enumerate().skip(from))
            .filter(|(_, c)| *c.channel == *channel && c.shown_by(pane, roster))
            .map(|(i, _)| i)
            .collect();
        for i in found {
            let mut c = Change::clone(&self.list[i]);
            c.listed.push(pane);
            self.list.set(i, Rc::new(c));
        }
    }

    /// Put `change` in as it is (a recording read back).
    pub fn insert(&mut self, change: Change) {
        self.list.push_back(Rc::new(change));
    }

    /// Every change, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Rc<Change>> {
        self.list.iter()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The changes of `channel` (every channel: `None`), newest first (by [`Change::at`]).
    pub fn newest_first(&self, channel: Option<&str>) -> Vec<Rc<Change>> {
        let mut v: Vec<Rc<Change>> = (self.list.iter())
            .filter(|c| channel.is_none_or(|ch| *c.channel == *ch))
            .cloned()
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.at()));
        v
    }
}

#[cfg(test)]
mod tests;
