//! Presence in the embedded broker: one partition's members, leases and presence stream, kept
//! under the partition's lock (see the contract in `broker::presence`).

use crate::broker::presence::{Change, Membership, PresenceChange, STREAM_BOUND};
use crate::event::Offset;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;
use wire::Member;

/// One partition's presence.
#[derive(Default)]
pub(super) struct Presence {
    /// Channel → member id → membership.
    members: HashMap<String, BTreeMap<String, Membership>>,
    /// Instance → its `(channel, member id)`s.
    by_instance: HashMap<String, HashSet<(String, String)>>,
    /// Instance → when its lease runs out.
    leases: HashMap<String, Instant>,
    /// The latest changes, about [`STREAM_BOUND`].
    pub(super) stream: VecDeque<PresenceChange>,
    /// Newest presence position.
    pub(super) position: Offset,
}

impl Presence {
    /// Add `m` (a change only if it was not there as it is).
    pub(super) fn join(&mut self, m: &Membership) {
        let channel = self.members.entry(m.channel.clone()).or_default();
        if channel.get(&m.member.id) == Some(m) {
            return;
        }
        channel.insert(m.member.id.clone(), m.clone());
        self.by_instance
            .entry(m.instance.clone())
            .or_default()
            .insert((m.channel.clone(), m.member.id.clone()));
        self.note(&m.channel, Change::Join, m.member.clone());
    }

    /// [`Self::join`] if `m`'s instance holds a lease here (true), or nothing (false).
    pub(super) fn join_leased(&mut self, m: &Membership) -> bool {
        let leased = self.leases.contains_key(&m.instance);
        if leased {
            self.join(m);
        }
        leased
    }

    /// Remove the member `id` of `channel` (a change only if it was there).
    pub(super) fn leave(&mut self, channel: &str, id: &str) {
        let Some(members) = self.members.get_mut(channel) else {
            return;
        };
        let Some(m) = members.remove(id) else {
            return;
        };
        if members.is_empty() {
            self.members.remove(channel);
        }
        if let Some(own) = self.by_instance.get_mut(&m.instance) {
            own.remove(&(m.channel.clone(), id.to_owned()));
        }
        self.note(channel, Change::Leave, m.member);
    }

    /// The members of `channel`: their count, and up to `max`, oldest first.
    pub(super) fn list(&self, channel: &str, max: usize) -> (usize, Vec<Member>) {
        let Some(members) = self.members.get(channel) else {
            return (0, Vec::new());
        };
        let mut listed: Vec<Member> = members.values().map(|m| m.member.clone()).collect();
        listed.sort_by(|a, b| (a.since, &a.id).cmp(&(b.since, &b.id)));
        listed.truncate(max);
        (members.len(), listed)
    }

    /// Renew `instance`'s lease for `ttl` (true when it had to be made anew), reaping the
    /// instances whose lease ran out when `reap`.
    pub(super) fn renew(&mut self, instance: &str, ttl: Duration, reap: bool) -> bool {
        let now = Instant::now();
        let made = self.leases.insert(instance.to_owned(), now + ttl).is_none();
        if reap {
            let expired: Vec<String> = self
                .leases
                .iter()
                .filter(|(_, until)| **until < now)
                .map(|(i, _)| i.clone())
                .collect();
            for i in expired {
                self.release(&i);
            }
        }
        made
    }

    /// Make `instance`'s members exactly `live`.
    pub(super) fn resync(&mut self, instance: &str, live: &[Membership]) {
        for m in live {
            self.join(m);
        }
        let keep: HashSet<(String, String)> = live
            .iter()
            .map(|m| (m.channel.clone(), m.member.id.clone()))
            .collect();
        let gone: Vec<(String, String)> = self
            .by_instance
            .get(instance)
            .map(|own| own.difference(&keep).cloned().collect())
            .unwrap_or_default();
        for (channel, id) in gone {
            self.leave(&channel, &id);
        }
    }

    /// Remove every member of `instance`, and its lease.
    pub(super) fn release(&mut self, instance: &str) {
        let own: Vec<(String, String)> = self
            .by_instance
            .remove(instance)
            .map(|own| own.into_iter().collect())
            .unwrap_or_default();
        for (channel, id) in own {
            self.leave(&channel, &id);
        }
        self.leases.remove(instance);
    }

    /// The changes after `after`, at most `max`.
    pub(super) fn after(&self, after: Offset, max: usize) -> Vec<PresenceChange> {
        let first = self
            .stream
            .front()
            .map_or(self.position + 1, |c| c.position);
        let skip = (after + 1).saturating_sub(first) as usize;
        self.stream.iter().skip(skip).take(max).cloned().collect()
    }

    fn note(&mut self, channel: &str, change: Change, member: Member) {
        self.position += 1;
        self.stream.push_back(PresenceChange {
            position: self.position,
            channel: channel.to_owned(),
            change,
            member,
        });
        while self.stream.len() > STREAM_BOUND {
            self.stream.pop_front();
        }
    }
}
