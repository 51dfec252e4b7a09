//! The checker: pure functions over a [`History`], proving what docs/guarantees.md promises.
//!
//! - **(a) exactly once, or announced**: every acked event reached every subscriber that
//!   followed its channel across its offset (its first `welcome` of the channel was below it)
//!   exactly once, or that subscriber received an announcement covering it (a `gap` over its
//!   offset, an `epoch` whose `lost_after` is below it). With durable acks (`--acks
//!   replicas:1`) no acked event may be covered: each must arrive; an `epoch` announcement
//!   may still come (a failover lost events that were delivered but not yet replicated, so
//!   never acked), and an event got before it may come once more after it (docs/guarantees.md,
//!   row 15 and "Not promised"). A restore of an older snapshot is the exception: an event
//!   acked after the snapshot may be lost, covered by the announcement every subscriber
//!   concerned must get (`History::lost_to_restore`). In strict mode (`History::strict`, `chaos --strict`: the
//!   issue's rule) any announcement and any second delivery is a violation.
//! - **(b) nothing invented, stored once**: every delivered id was published on that channel;
//!   an id is acked at one offset, and delivered at one offset per epoch; an id is never acked
//!   as a duplicate of itself on its only send (it was in the log before it was published:
//!   the log is not this run's).
//! - **(c) one order**: all subscribers agree on the id at each (channel, epoch, offset), and
//!   each subscriber's offsets of a channel are dense (each the last + 1) apart from announced
//!   gaps and epochs.
//! - **(d) healed**: every publish (so every publisher's last) was acked; every subscriber has
//!   every event it is owed (the missing ones are (a)'s violations).
//!   Once every client has closed, no region lists a member of their channel (no ghosts; a
//!   killed region's members leave when its lease runs out).
//! - **(e) bounded**: per region process, its resident set and open file descriptors at the
//!   end of the run against its first sample: at most [`RSS_BOUND`] and [`FD_SLACK`] more.
//!
//! The first violation is what a failing run prints, with the frames around it.

use super::history::{Behaviour, History, Ms, Seen};
use std::collections::{HashMap, HashSet};

/// A region's resident set may end at most twice its first sample plus 64 MiB (allocator
/// slack and the bounded histories filling up are expected; a leak per event is not).
pub const RSS_BOUND: (u64, u64) = (2, 64 * 1024);
/// A region may end with at most this many more file descriptors than its first sample (the
/// same clients are connected at both; Redis connections and sockets closing are slack).
pub const FD_SLACK: u64 = 64;

/// One broken promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which property: `a`…`e`.
    pub property: char,
    /// What happened.
    pub what: String,
    /// The subscriber and the index in its record, when it is about one.
    pub at: Option<(usize, usize)>,
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Ids published.
    pub published: usize,
    /// Ids acked.
    pub acked: usize,
    /// Publish attempts (first sends and retries).
    pub attempts: u64,
    /// (acked event, subscriber owed it) pairs checked.
    pub deliveries_checked: u64,
    /// Events received by all subscribers together.
    pub received: u64,
    /// `gap` and `epoch` frames received.
    pub announcements: usize,
    /// (acked event, subscriber owed it) pairs it never got because a restore of an older
    /// snapshot lost the event, covered by an announcement it got (durable acks only).
    pub lost_to_restores: u64,
    /// Every violation, in the order found.
    pub violations: Vec<Violation>,
    /// The longest time from a heal until every subscriber (but the slow ones, which lag by
    /// design) had every event acked before it.
    pub heal_to_caught_up: Option<Ms>,
    /// Where that was: the heal's time, the subscriber that got its event last, the event.
    pub slowest: Option<(Ms, String, String)>,
    /// Per region: (first RSS KiB, first FDs, last RSS KiB, last FDs).
    pub resources: Vec<(u64, u64, u64, u64)>,
}

/// Per (channel, id): every delivery of it to one subscriber (epoch, offset, when).
type Received<'a> = HashMap<(&'a str, &'a str), Vec<(&'a str, u64, Ms)>>;

#[derive(Default)]
struct Follow {
    started: bool,
    start: u64,
    epoch: String,
    last: u64,
    gap_allow: Option<(u64, u64)>,
    after_epoch: bool,
    /// Offsets announced as possibly missing: gaps, and "after lost_after" of old epochs.
    gaps: Vec<(u64, u64)>,
    lost_after: Option<u64>,
    /// A resume's `welcome` named another epoch: an `epoch` frame must come before events.
    pending_epoch: Option<String>,
}

/// Check the whole history.
pub fn check(h: &History) -> Verdict {
    let mut v = Verdict {
        published: h.publishes.len(),
        ..Verdict::default()
    };
    // Publishes: one offset per id, every id acked.
    let mut acked: HashMap<(&str, &str), (u64, Ms)> = HashMap::new();
    let mut at_offset: HashMap<(&str, u64), &str> = HashMap::new();
    let published: HashSet<(&str, &str)> = h
        .publishes
        .iter()
        .map(|p| (p.channel.as_str(), p.id.as_str()))
        .collect();
    for p in &h.publishes {
        v.attempts += u64::from(p.attempts);
        let offsets: HashSet<u64> = p.acks.iter().map(|a| a.0).collect();
        if offsets.len() > 1 {
            let what = format!(
                "(b) id {} of {} acked at offsets {offsets:?}",
                p.id, p.channel
            );
            bad(&mut v, 'b', what, None);
        }
        if p.attempts == 1 && p.acks.iter().any(|a| a.1) {
            let what = format!(
                "(b) {} of {} acked as already stored on its only send: stored before it was published",
                p.id, p.channel
            );
            bad(&mut v, 'b', what, None);
        }
        let Some(&(offset, _, ms)) = p.acks.first() else {
            let why = p
                .refused
                .as_deref()
                .unwrap_or("no ack by the end of the quiet period");
            let what = format!(
                "(d) publish {} ({}, {}) never acked: {why}",
                p.id, p.channel, p.region
            );
            bad(&mut v, 'd', what, None);
            continue;
        };
        v.acked += 1;
        acked.insert((&p.channel, &p.id), (offset, ms));
        if let Some(other) = at_offset.insert((&p.channel, offset), &p.id) {
            // After a restore the log reuses the offsets of what it lost, in a new epoch.
            let restored = |id: &str| {
                acked
                    .get(&(p.channel.as_str(), id))
                    .is_some_and(|a| h.lost_to_restore(a.1))
            };
            if h.durable && !restored(&p.id) && !restored(other) {
                let what = format!(
                    "(c) {} and {other} both acked at {}:{offset}",
                    p.id, p.channel
                );
                bad(&mut v, 'c', what, None);
            }
        }
    }
    // Subscribers: density, agreement, announcements, what each received.
    let mut agreed: HashMap<(&str, &str, u64), (&str, usize, usize)> = HashMap::new();
    let mut stored_at: HashMap<(&str, &str, &str), u64> = HashMap::new();
    // Per subscriber: (channel, id) -> (times delivered, first ms).
    let mut got: Vec<Received<'_>> = Vec::new();
    let mut follows: Vec<HashMap<&str, Follow>> = Vec::new();
    for (si, s) in h.subscribers.iter().enumerate() {
        let mut follow: HashMap<&str, Follow> = s
            .channels
            .iter()
            .map(|c| (c.as_str(), Follow::default()))
            .collect();
        let mut mine: Received<'_> = HashMap::new();
        for (i, (ms, seen)) in s.seen.iter().enumerate() {
            match seen {
                Seen::Welcome { channels, .. } => {
                    for (c, offset, epoch) in channels {
                        match follow.get_mut(c.as_str()) {
                            Some(f) if !f.started => {
                                (f.started, f.start, f.last) = (true, *offset, *offset);
                                f.epoch.clone_from(epoch);
                            }
                            // Each connection's welcome: what an earlier one left pending (it
                            // closed before its `epoch` frame, delivering nothing) is replaced.
                            Some(f) => {
                                f.pending_epoch = (f.epoch != *epoch).then(|| epoch.clone());
                            }
                            None => {}
                        }
                    }
                }
                Seen::Event {
                    channel,
                    epoch,
                    offset,
                    id,
                } => {
                    v.received += 1;
                    let Some(f) = follow.get_mut(channel.as_str()).filter(|f| f.started) else {
                        let what = format!(
                            "(c) {} got {id} at {channel}:{offset} of a channel it does not follow",
                            s.name
                        );
                        bad(&mut v, 'c', what, Some((si, i)));
                        continue;
                    };
                    let gap_ok = f
                        .gap_allow
                        .is_some_and(|(from, to)| from <= f.last + 1 && *offset == to + 1);
                    if *offset != f.last + 1 && !gap_ok && !f.after_epoch {
                        let what = if *offset <= f.last {
                            format!("(c) {} got {channel}:{offset} ({id}) after {channel}:{}: repeated or out of order", s.name, f.last)
                        } else {
                            format!("(c) {} got {channel}:{offset} ({id}) after {channel}:{}: a hole with no announcement", s.name, f.last)
                        };
                        bad(&mut v, 'c', what, Some((si, i)));
                    }
                    if let Some(new) = f.pending_epoch.take() {
                        let what = format!(
                            "(a) {} resumed {channel} of epoch {} into epoch {new} with no epoch frame before {channel}:{offset}",
                            s.name, f.epoch
                        );
                        bad(&mut v, 'a', what, Some((si, i)));
                    }
                    (f.last, f.gap_allow, f.after_epoch) = (*offset, None, false);
                    if !published.contains(&(channel.as_str(), id.as_str())) {
                        let what = format!(
                            "(b) {} got {id} at {channel}:{offset}, never published on {channel}",
                            s.name
                        );
                        bad(&mut v, 'b', what, Some((si, i)));
                    }
                    let key = (channel.as_str(), epoch.as_str(), *offset);
                    match agreed.get(&key) {
                        Some((other, sj, _)) if *other != id.as_str() => {
                            let what = format!(
                                "(c) at {channel}:{offset} (epoch {epoch}) {} got {id} but {} got {other}",
                                s.name, h.subscribers[*sj].name
                            );
                            bad(&mut v, 'c', what, Some((si, i)));
                        }
                        Some(_) => {}
                        None => {
                            agreed.insert(key, (id, si, i));
                        }
                    }
                    let first = *stored_at
                        .entry((channel.as_str(), epoch.as_str(), id.as_str()))
                        .or_insert(*offset);
                    if first != *offset {
                        let what = format!("(b) {id} delivered at {channel}:{first} and at {channel}:{offset} in one epoch");
                        bad(&mut v, 'b', what, Some((si, i)));
                    }
                    let e = mine.entry((channel.as_str(), id.as_str())).or_default();
                    e.push((epoch.as_str(), *offset, *ms));
                }
                Seen::Gap { channel, from, to } => {
                    v.announcements += 1;
                    if h.strict {
                        let what = format!(
                            "(a) {} got gap {channel}:{from}..={to} under durable acks",
                            s.name
                        );
                        bad(&mut v, 'a', what, Some((si, i)));
                    }
                    if let Some(f) = follow.get_mut(channel.as_str()) {
                        f.gap_allow = Some((*from, *to));
                        f.gaps.push((*from, *to));
                    }
                }
                Seen::Epoch {
                    channel,
                    epoch,
                    lost_after,
                } => {
                    v.announcements += 1;
                    if h.strict {
                        let what = format!("(a) {} got epoch {epoch} of {channel} (lost after {lost_after}) under durable acks", s.name);
                        bad(&mut v, 'a', what, Some((si, i)));
                    }
                    if let Some(f) = follow.get_mut(channel.as_str()) {
                        f.pending_epoch = None;
                        if f.epoch == *epoch {
                            // Its own log: nothing is forgotten, nothing announced lost.
                            continue;
                        }
                        f.epoch.clone_from(epoch);
                        (f.last, f.after_epoch) = (0, true);
                        f.lost_after =
                            Some(f.lost_after.map_or(*lost_after, |l| l.min(*lost_after)));
                    }
                }
                Seen::CaughtUp { .. } | Seen::Closed => {}
            }
        }
        for (c, f) in &follow {
            if !f.started {
                let what = format!("(d) {} never got a welcome for {c}", s.name);
                bad(&mut v, 'd', what, None);
            }
        }
        got.push(mine);
        follows.push(follow);
    }
    // Exactly once per owed subscriber, and when the last owed one got each event.
    let mut latest: Vec<(Ms, Ms, usize, &str)> = Vec::new();
    let mut owed: Vec<(&str, &str, u64, Ms)> = acked
        .iter()
        .map(|(&(c, i), &(o, ms))| (c, i, o, ms))
        .collect();
    owed.sort_unstable_by(|a, b| (a.2, a.0, a.1).cmp(&(b.2, b.0, b.1)));
    for (channel, id, offset, acked_ms) in owed {
        let (channel, id, offset, acked_ms) = (&channel, &id, &offset, &acked_ms);
        let mut last_got: Option<(Ms, usize)> = Some((0, 0));
        for (si, s) in h.subscribers.iter().enumerate() {
            let Some(f) = follows[si]
                .get(channel)
                .filter(|f| f.started && f.start < *offset)
            else {
                continue;
            };
            v.deliveries_checked += 1;
            match got[si].get(&(*channel, *id)).map(Vec::as_slice) {
                Some(all @ [(_, _, ms), ..]) => {
                    let epochs: HashSet<&str> = all.iter().map(|d| d.0).collect();
                    // Once per epoch; again in a new epoch only as documented (an event got
                    // before an `epoch` frame may come again after it), never in strict mode.
                    if epochs.len() < all.len() || (all.len() > 1 && h.strict) {
                        let n = all.len();
                        let what =
                            format!("(a) {} got {id} ({channel}:{offset}) {n} times", s.name);
                        bad(&mut v, 'a', what, find(h, si, channel, id));
                    }
                    if h.durable && !all.iter().any(|d| d.1 == *offset) {
                        let what = format!(
                            "(b) {} got {id} at {channel}:{:?}, acked at {channel}:{offset}",
                            s.name,
                            all.iter().map(|d| d.1).collect::<Vec<_>>()
                        );
                        bad(&mut v, 'b', what, find(h, si, channel, id));
                    }
                    // A slow subscriber lags by design: not a measure of healing.
                    if s.behaviour != Behaviour::Slow {
                        last_got = last_got.map(|l| l.max((*ms, si)));
                    }
                }
                Some([]) | None => {
                    last_got = None;
                    let covered = f.gaps.iter().any(|(a, b)| (a..=b).contains(&offset))
                        || f.lost_after.is_some_and(|l| l < *offset);
                    if !covered || (h.durable && !h.lost_to_restore(*acked_ms)) {
                        let what = format!(
                            "(a) {} never got acked {id} ({channel}:{offset}, acked at {acked_ms} ms); its last of {channel}: {}",
                            s.name, f.last
                        );
                        bad(&mut v, 'a', what, near(h, si, channel, *offset));
                    } else if h.durable {
                        v.lost_to_restores += 1;
                    }
                }
            }
        }
        if let Some((l, si)) = last_got {
            latest.push((*acked_ms, l, si, id));
        }
    }
    if let Some((wait, heal, si, id)) = heal_to_caught_up(&latest, &h.heals) {
        v.heal_to_caught_up = Some(wait);
        v.slowest = Some((heal, h.subscribers[si].name.clone(), id.to_owned()));
    }
    for (region, count) in &h.presence_after {
        match count {
            Ok((0, _)) => {}
            Ok((n, body)) => bad(
                &mut v,
                'd',
                format!(
                    "(d) {region} lists {n} members after every client closed (ghosts): {body}"
                ),
                None,
            ),
            Err(e) => bad(
                &mut v,
                'd',
                format!("(d) {region}'s presence could not be read after the run: {e}"),
                None,
            ),
        }
    }
    for (region, channel, diff) in &h.presence_connected {
        match diff {
            Ok((ghosts, missed)) if ghosts.is_empty() && missed.is_empty() => {}
            Ok((ghosts, missed)) => bad(
                &mut v,
                'd',
                format!("(d) {region} lists {channel} wrongly while every subscriber is connected: ghosts {ghosts:?}, missed {missed:?}"),
                None,
            ),
            Err(e) => bad(
                &mut v,
                'd',
                format!("(d) {region}'s presence of {channel} could not be read while connected: {e}"),
                None,
            ),
        }
    }
    resources(h, &mut v);
    v
}

/// Record a violation.
fn bad(v: &mut Verdict, property: char, what: String, at: Option<(usize, usize)>) {
    v.violations.push(Violation { property, what, at });
}

mod bounds;
mod context;
#[cfg(test)]
mod tests;

use bounds::{heal_to_caught_up, resources};
pub use context::around;
use context::{find, near};
