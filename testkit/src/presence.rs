//! A presence watcher for tests: a client that asked for the members of one channel and keeps
//! them up to date from its `presence`, `join` and `leave` frames, counting every change.

use crate::Client;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;
use wire::{Member, ServerFrame};

/// A client watching the members of one channel.
pub struct Watcher {
    /// Its connection.
    pub client: Client,
    /// Itself, as its welcome named it.
    pub me: Member,
    /// The members as it knows them now, by id.
    pub members: BTreeMap<String, Member>,
    /// The count of the last `presence` list.
    pub listed_count: usize,
    /// `join` frames per member id.
    pub joins: HashMap<String, usize>,
    /// `leave` frames per member id.
    pub leaves: HashMap<String, usize>,
    /// `join` frames of a member it already had, and `leave` frames of one it did not.
    pub inconsistent: usize,
    /// `presence` lists received (the first one, and fresh ones after the region lost track).
    pub lists: usize,
    /// Every change in the order it came: `(true for a join, member id)`.
    pub log: Vec<(bool, String)>,
    channel: String,
}

impl Watcher {
    /// Connect to `addr` as `name`, following `channel` with its presence, and read the
    /// welcome and the first list.
    pub async fn connect(addr: SocketAddr, name: &str, channel: &str) -> Watcher {
        let query = format!("?channels={channel}&presence=1&name={name}");
        let client = Client::connect_query(addr, &query).await;
        let ServerFrame::Welcome {
            member: Some(me), ..
        } = client.welcome.clone()
        else {
            panic!("the welcome names the member: {:?}", client.welcome);
        };
        let mut w = Watcher {
            client,
            me,
            members: BTreeMap::new(),
            listed_count: 0,
            joins: HashMap::new(),
            leaves: HashMap::new(),
            inconsistent: 0,
            lists: 0,
            log: Vec::new(),
            channel: channel.to_owned(),
        };
        let first = w.client.next().await;
        assert!(
            matches!(first, ServerFrame::Presence { .. }),
            "a presence list follows the welcome: {first:?}"
        );
        w.apply(&first);
        w
    }

    /// Take one frame into account (frames of other channels and events are ignored).
    pub fn apply(&mut self, frame: &ServerFrame) {
        match frame {
            ServerFrame::Presence {
                channel,
                count,
                members,
            } if *channel == self.channel => {
                self.lists += 1;
                self.listed_count = *count;
                self.members = members.iter().map(|m| (m.id.clone(), m.clone())).collect();
            }
            ServerFrame::Join { channel, member } if *channel == self.channel => {
                *self.joins.entry(member.id.clone()).or_default() += 1;
                self.log.push((true, member.id.clone()));
                if self
                    .members
                    .insert(member.id.clone(), member.clone())
                    .is_some()
                {
                    self.inconsistent += 1;
                }
            }
            ServerFrame::Leave { channel, member } if *channel == self.channel => {
                *self.leaves.entry(member.id.clone()).or_default() += 1;
                self.log.push((false, member.id.clone()));
                if self.members.remove(&member.id).is_none() {
                    self.inconsistent += 1;
                }
            }
            _ => {}
        }
    }

    /// Read frames until `holds` is true of the watcher, for at most `bound`; how long it
    /// took, or `None` (the socket closing ends it too).
    pub async fn until(
        &mut self,
        bound: Duration,
        holds: impl Fn(&Watcher) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if holds(self) {
                return Some(start.elapsed());
            }
            let left = bound.checked_sub(start.elapsed())?;
            let frame = self.client.try_next(left).await?;
            self.apply(&frame);
        }
    }

    /// Read whatever comes within `quiet` of the previous frame.
    pub async fn drain(&mut self, quiet: Duration) {
        while let Some(frame) = self.client.try_next(quiet).await {
            self.apply(&frame);
        }
    }

    /// The member ids it knows, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }
}
