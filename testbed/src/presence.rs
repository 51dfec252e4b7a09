//! What the presence test's connections recorded, the truly live members, and the counts a
//! presence test reports and asserts.
//!
//! Every connection of the [`crowd`](crate::crowd) is a [`Seat`]: a named member of the
//! channel, connected to one region, with the identity its `welcome` gave it. A watcher's
//! seat also has a [`View`]: the members as its `presence`, `join` and `leave` frames say.
//!
//! - **live**: the members of every seat whose socket is open now (watchers are members
//!   too), by id, with their name and region ([`Roll::live`]);
//! - **ghosts**: members a watcher lists that are not live (or listed under another name or
//!   region); **missed**: live members a watcher does not list;
//! - **wrong joins / leaves**: a watcher that stayed on one connection and got no fresh list
//!   during a phase must have seen each expected member join (or leave) exactly once, and
//!   nobody else; once a fresh `presence` list replaced what it knew, only ghosts and missed
//!   are counted for it (the protocol lets a list stand for the changes it covers);
//! - **inconsistent**: a `join` of a member the watcher already had, or a `leave` of one it
//!   did not have.

use crate::net::Host;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;
use wire::{Member, ServerFrame};

/// Members by id, with their name and region: what a watcher should list.
pub type Truth = BTreeMap<String, (String, String)>;

/// One connection of the crowd.
#[derive(Debug, Clone)]
pub struct Seat {
    /// The region it connects to.
    pub region: Host,
    /// Its display name.
    pub name: String,
    /// Its identity while its socket is open (from the `welcome`).
    pub me: Option<Member>,
    /// What it knows of the members, for a watcher.
    pub view: Option<View>,
    /// Closed for good by the test (it left, and does not come back).
    pub dismissed: bool,
    /// Its id when the phase began (to tell whether it stayed on one connection).
    marked: Option<String>,
}

impl Seat {
    pub(crate) fn new(region: Host, name: String, watcher: bool) -> Self {
        Seat {
            region,
            name,
            me: None,
            view: watcher.then(View::default),
            dismissed: false,
            marked: None,
        }
    }

    /// Its socket opened with `me`; a watcher forgets what it knew until its first list.
    pub(crate) fn connected(&mut self, me: Member) {
        self.me = Some(me);
        if let Some(v) = self.view.as_mut() {
            v.listed = false;
            v.members.clear();
        }
    }

    /// Its socket closed.
    pub(crate) fn disconnected(&mut self) {
        self.me = None;
    }

    /// A watcher's label: `as watcher`.
    fn label(&self) -> String {
        format!("{} watcher", self.region.name())
    }

    /// On the same connection since the phase began, with no fresh list.
    fn steady(&self) -> bool {
        let same = self.me.as_ref().map(|m| &m.id) == self.marked.as_ref();
        same && self.view.as_ref().is_some_and(|v| v.lists == 0)
    }
}

/// A watcher's members and the changes it saw in this phase.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The members it knows now, by id.
    pub members: BTreeMap<String, Member>,
    /// Whether it got a list on its current connection.
    pub listed: bool,
    /// `join` frames per member id.
    pub joins: HashMap<String, u32>,
    /// `leave` frames per member id.
    pub leaves: HashMap<String, u32>,
    /// `presence` lists received.
    pub lists: u32,
    /// Joins of a member it had, leaves of one it had not.
    pub inconsistent: u32,
}

impl View {
    /// Take one frame of `channel` into account (anything else is ignored).
    pub(crate) fn apply(&mut self, channel: &str, frame: ServerFrame) {
        match frame {
            ServerFrame::Presence {
                channel: c,
                members,
                ..
            } if c == channel => {
                self.lists += 1;
                self.listed = true;
                self.members = members.into_iter().map(|m| (m.id.clone(), m)).collect();
            }
            ServerFrame::Join { channel: c, member } if c == channel => {
                *self.joins.entry(member.id.clone()).or_default() += 1;
                if self.members.insert(member.id.clone(), member).is_some() {
                    self.inconsistent += 1;
                }
            }
            ServerFrame::Leave { channel: c, member } if c == channel => {
                *self.leaves.entry(member.id.clone()).or_default() += 1;
                if self.members.remove(&member.id).is_none() {
                    self.inconsistent += 1;
                }
            }
            _ => {}
        }
    }

    /// Listed members not in `truth` (or under another name or region), and members of
    /// `truth` not listed.
    fn ghosts_missed(&self, truth: &Truth) -> (usize, usize) {
        let listed = truth_of(&self.members.values().cloned().collect::<Vec<_>>());
        let ghosts = listed.iter().filter(|(k, v)| truth.get(*k) != Some(v));
        let missed = truth.iter().filter(|(k, v)| listed.get(*k) != Some(v));
        (ghosts.count(), missed.count())
    }
}

/// `members` as a [`Truth`] (a `presence` frame's list, or `GET /presence`'s).
pub fn truth_of(members: &[Member]) -> Truth {
    members
        .iter()
        .map(|m| (m.id.clone(), (m.name.clone(), m.region.clone())))
        .collect()
}

/// Every seat of the crowd.
#[derive(Debug, Default)]
pub struct Roll {
    /// Members first, then one watcher per region.
    pub seats: Vec<Seat>,
}

/// What a phase expects, for [`Roll::counts`].
#[derive(Debug, Clone)]
pub struct Expect {
    /// Who the watchers should list.
    pub truth: Truth,
    /// The regions whose watchers are compared with `truth`.
    pub watchers: Vec<Host>,
    /// The regions whose watchers must have stayed on one connection with no fresh list, so
    /// that their joins and leaves are counted exactly.
    pub steady: Vec<Host>,
    /// The ids each counted watcher must see join exactly once (and nobody else).
    pub joins: BTreeSet<String>,
    /// The ids each counted watcher must see leave exactly once (and nobody else).
    pub leaves: BTreeSet<String>,
}

impl Roll {
    /// The members of every open socket.
    pub fn live(&self) -> Truth {
        let open: Vec<Member> = self.seats.iter().filter_map(|s| s.me.clone()).collect();
        truth_of(&open)
    }

    /// Who joined and who left since the phase began, as the seats know it: the ids of open
    /// sockets not open then, and the ids open then that are not now.
    pub fn since_phase(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let now: BTreeSet<String> = self.live().into_keys().collect();
        let then: BTreeSet<String> = self.seats.iter().filter_map(|s| s.marked.clone()).collect();
        let joined = now.difference(&then).cloned().collect();
        let left = then.difference(&now).cloned().collect();
        (joined, left)
    }

    /// The ids of `region`'s open sockets.
    pub fn ids_of(&self, region: Host) -> BTreeSet<String> {
        self.seats
            .iter()
            .filter(|s| s.region == region)
            .filter_map(|s| s.me.as_ref().map(|m| m.id.clone()))
            .collect()
    }

    /// Every seat of `region` not dismissed is connected (and every watcher of it has its
    /// list).
    pub fn connected(&self, region: Host) -> bool {
        self.seats
            .iter()
            .filter(|s| s.region == region && !s.dismissed)
            .all(|s| s.me.is_some() && s.view.as_ref().is_none_or(|v| v.listed))
    }

    /// Every connected watcher of `regions` lists exactly `truth` (and has its list).
    pub fn exact(&self, regions: &[Host], truth: &Truth) -> bool {
        self.watchers(regions)
            .all(|(seat, v)| seat.me.is_none() || (v.listed && v.ghosts_missed(truth) == (0, 0)))
    }

    /// Every watcher of `regions` saw each of `ids` leave (`join` false) or join, at least
    /// once.
    pub fn saw(&self, regions: &[Host], join: bool, ids: &BTreeSet<String>) -> bool {
        self.watchers(regions).all(|(_, v)| {
            let seen = if join { &v.joins } else { &v.leaves };
            ids.iter().all(|id| seen.contains_key(id))
        })
    }

    /// A new phase: every watcher's changes and lists count from zero, and each seat's id now
    /// is what "stayed on one connection" is measured against.
    pub fn new_phase(&mut self) {
        for s in &mut self.seats {
            s.marked = s.me.as_ref().map(|m| m.id.clone());
            if let Some(v) = s.view.as_mut() {
                v.joins.clear();
                v.leaves.clear();
                v.lists = 0;
                v.inconsistent = 0;
            }
        }
    }

    fn watchers<'a>(&'a self, regions: &'a [Host]) -> impl Iterator<Item = (&'a Seat, &'a View)> {
        self.seats
            .iter()
            .filter(|s| regions.contains(&s.region))
            .filter_map(|s| s.view.as_ref().map(|v| (s, v)))
    }

    /// The counts of this phase against `expect`.
    pub fn counts(&self, expect: &Expect) -> Counts {
        let mut c = Counts {
            live: expect.truth.len(),
            ..Counts::default()
        };
        for (seat, v) in self.watchers(&expect.watchers) {
            let (ghosts, missed) = v.ghosts_missed(&expect.truth);
            let steady = seat.steady();
            if expect.steady.contains(&seat.region) && !steady {
                c.unsteady += 1;
            }
            let joins: u32 = v.joins.values().sum();
            let leaves: u32 = v.leaves.values().sum();
            let mut line = format!(
                "{}: lists {}, joins {joins}, leaves {leaves}, ghosts {ghosts}, missed {missed}",
                seat.label(),
                v.lists
            );
            if steady {
                c.wrong_joins += wrong(&v.joins, &expect.joins);
                c.wrong_leaves += wrong(&v.leaves, &expect.leaves);
                c.counted += 1;
                c.joins += joins;
                c.leaves += leaves;
            } else {
                line.push_str(" (listed afresh in this phase: its changes not counted)");
            }
            c.ghosts += ghosts;
            c.missed += missed;
            c.inconsistent += v.inconsistent;
            c.lists += v.lists;
            c.per_watcher.push(line);
        }
        c
    }
}

/// Changes that differ from "each of `expected` exactly once, nobody else".
fn wrong(seen: &HashMap<String, u32>, expected: &BTreeSet<String>) -> usize {
    let off = expected
        .iter()
        .filter(|id| seen.get(*id).copied().unwrap_or(0) != 1)
        .count();
    let extra: u32 = seen
        .iter()
        .filter(|(id, _)| !expected.contains(*id))
        .map(|(_, n)| n)
        .sum();
    off + extra as usize
}

/// The counts of one presence phase.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Members that should be listed.
    pub live: usize,
    /// Watchers whose joins and leaves were counted (steady ones).
    pub counted: usize,
    /// Joins those watchers saw, summed.
    pub joins: u32,
    /// Leaves those watchers saw, summed.
    pub leaves: u32,
    /// Expected joins not seen exactly once, plus unexpected joins, summed.
    pub wrong_joins: usize,
    /// Expected leaves not seen exactly once, plus unexpected leaves, summed.
    pub wrong_leaves: usize,
    /// Listed members that are not live, summed over watchers.
    pub ghosts: usize,
    /// Live members not listed, summed over watchers.
    pub missed: usize,
    /// Inconsistent changes, summed over watchers.
    pub inconsistent: u32,
    /// `presence` lists received, summed over watchers.
    pub lists: u32,
    /// Watchers that had to stay steady and did not (reconnected, or got a fresh list).
    pub unsteady: usize,
    /// One line per watcher.
    pub per_watcher: Vec<String>,
    /// From the fault (or the heal, or the restart) until the watchers were exact.
    pub converged: Option<Duration>,
    /// The documented bound it is reported against.
    pub bound: Duration,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| format!("{} ms", d.as_millis());
        writeln!(
            f,
            "members {}, joins {}, leaves {} (over {} counted watchers), wrong joins {}, \
             wrong leaves {}, ghosts {}, missed {}, inconsistent {}, lists {}, unsteady {}",
            self.live,
            self.joins,
            self.leaves,
            self.counted,
            self.wrong_joins,
            self.wrong_leaves,
            self.ghosts,
            self.missed,
            self.inconsistent,
            self.lists,
            self.unsteady
        )?;
        writeln!(
            f,
            "time to converge {} (documented bound about {})",
            self.converged.map_or("never".into(), ms),
            ms(self.bound)
        )?;
        for line in &self.per_watcher {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
