//! The channels one client follows, and where each stands for it: the per-client half of
//! the fan-out, the same for WebSocket and Socket.IO clients.
//!
//! Bounded: at most [`wire::channel::MAX_SUBSCRIPTIONS`] channels (the subscribe that would
//! pass it is refused by the caller). Dropping a [`Follows`] takes the client off every
//! channel's subscribers in the region's hub, so a client that ends for any reason (closed,
//! dropped, slow, shut down) leaves nothing behind.

use super::delivery::{Delivery, NoticeKind};
use super::hub::{Joined, Subscriber};
use super::{roster, Region};
use crate::broker::presence::Members;
use crate::broker::Partition;
use crate::event::Offset;
use std::sync::Arc;
use tokio::sync::mpsc;
use wire::presence::MAX_LISTED;
use wire::ChannelPosition;

/// One channel a client follows.
#[derive(Debug, Clone)]
pub(crate) struct Following {
    /// The hub's key of the channel (deliveries carry the same `Arc`).
    pub(crate) channel: Arc<str>,
    pub(crate) partition: Partition,
    /// The newest offset of the channel this client was sent (live or replayed), or where
    /// it started: live events up to it are not for it.
    pub(crate) last_sent: Offset,
    /// True after the channel's log was recreated during this client's replay, until the
    /// feed's own `epoch` frame: items until then belong to the old log.
    pub(crate) old_log: bool,
    /// With presence: the presence position of the last change (or list) it was sent;
    /// changes up to it are not for it.
    pub(crate) presence_from: Option<Offset>,
    /// True while `last_sent` is not where the channel stood when the client joined: the
    /// region had delivered nothing of it yet and the broker did not say where it stands.
    /// A replay then reads the history to its end (live events up to there are dropped
    /// as already sent), not to `last_sent`.
    pub(crate) start_unknown: bool,
    /// The epoch a resume last replayed this channel in (to its end), when the client was
    /// told of it then: the feed's own `epoch` frame of that epoch, queued before the replay,
    /// is not for it (it would move the client back to what the region had kept, and the
    /// events it replayed after that would come again).
    pub(crate) replayed_epoch: Option<String>,
    /// The epoch the client's welcome (or `subscribed`) named for the channel.
    pub(crate) joined_epoch: String,
}

/// Who a client is as a member of its channels.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// Its member id (unique across regions and restarts).
    pub(crate) id: String,
    /// Its display name.
    pub(crate) name: String,
}

/// The channels of one client, and its end of the fan-out. The client is a member of every
/// channel it follows (in the region's roster) for as long as it follows it.
pub(crate) struct Follows {
    region: Arc<Region>,
    subscriber: Subscriber,
    identity: Identity,
    list: Vec<Following>,
}

impl Follows {
    /// None yet, for a client called `name` (an anonymous name when `None`); the client's
    /// queue (its receiving end returned) holds the region's `client_queue` items.
    pub(crate) fn new(
        region: Arc<Region>,
        name: Option<String>,
    ) -> (Follows, mpsc::Receiver<Delivery>) {
        let (subscriber, queue) = Subscriber::new(region.config.clients.client_queue);
        let id = region.roster.new_id();
        let name = name.unwrap_or_else(|| format!("anon-{}", &id[id.len().saturating_sub(4)..]));
        let follows = Follows {
            identity: Identity { id, name },
            region,
            subscriber,
            list: Vec::new(),
        };
        (follows, queue)
    }

    /// The client as a member, joining now.
    pub(crate) fn member(&self) -> wire::Member {
        roster::member(&self.region, &self.identity.id, &self.identity.name)
    }

    /// The client's end of the fan-out.
    pub(crate) fn subscriber(&self) -> &Subscriber {
        &self.subscriber
    }

    /// How many channels it follows.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Follow `channel` from where it stands here now (replacing an earlier following of
    /// it), as a member of it; with `presence`, also get its members. The seam: the hub
    /// registers the client and says where the channel stands under the lock the feed
    /// delivers with, so every later event (and presence change) reaches the client's queue.
    /// A channel the region has delivered nothing of yet starts at its newest offset in the
    /// broker (what the region delivers up to there is older than the subscription); while
    /// the broker is out of reach, at 0 (every live event follows). The members come with
    /// the presence position they were read at: changes up to it are dropped from the queue.
    pub(crate) async fn join(
        &mut self,
        channel: &str,
        presence: bool,
    ) -> (ChannelPosition, Option<Members>) {
        let region = self.region.clone();
        // Listed before the first await: a join cancelled there (its connection dropped)
        // still takes the client off the hub and the roster when the `Follows` drops.
        let (partition, joined) = self.enter(channel, presence);
        let (offset, epoch, start_unknown) = match joined.last {
            Some(last) => (last, joined.epoch, false),
            None => match region.broker().channel_status(channel).await {
                Ok(s) if joined.epoch.is_empty() => (s.latest, s.epoch, false),
                Ok(s) => (s.latest, joined.epoch, false),
                // Live delivery starts with whatever the feed brings next; a resume reads the
                // history to its end, so what the feed delivered before the join is not
                // skipped (found by the chaos run: a reconnect storm during a failover).
                Err(_) => (0, joined.epoch, true),
            },
        };
        let members = match presence {
            true => region.broker().members(channel, MAX_LISTED).await.ok(),
            false => None,
        };
        if presence && members.is_none() {
            // The broker did not answer: the feed sends the list once it does.
            region.hub.partition(partition).relist = true;
        }
        let f = self.list.last_mut().expect("pushed above");
        f.joined_epoch.clone_from(&epoch);
        f.last_sent = offset;
        f.start_unknown = start_unknown;
        f.presence_from = members
            .as_ref()
            .map(|m| m.position)
            .or(presence.then_some(0));
        let position = ChannelPosition {
            channel: channel.into(),
            offset,
            epoch,
        };
        (position, members)
    }

    /// [`Self::join`] without asking the broker: from where the channel stands here, or 0
    /// when the region has delivered nothing of it (every live event follows). For joins
    /// that cannot wait (a Socket.IO connect) on a channel that is always followed
    /// (`global`).
    pub(crate) fn join_known(&mut self, channel: &str) {
        self.enter(channel, false);
    }

    /// Register on `channel` in the hub (with its presence when `presence`) and in the
    /// roster, and list it (replacing an earlier following of it) from where the hub says
    /// it stands; its partition, and what the hub said.
    fn enter(&mut self, channel: &str, presence: bool) -> (Partition, Joined) {
        let region = self.region.clone();
        let partition = region.broker().partition_of(channel);
        let joined = region
            .hub
            .subscribe(partition, channel, &self.subscriber, presence);
        region.roster.join(channel, self.member());
        self.list.retain(|f| f.channel != joined.channel);
        self.list.push(Following {
            channel: joined.channel.clone(),
            partition,
            last_sent: joined.last.unwrap_or(0),
            old_log: false,
            presence_from: None,
            start_unknown: false,
            replayed_epoch: None,
            joined_epoch: joined.epoch.clone(),
        });
        (partition, joined)
    }

    /// The channel called `name`, if followed.
    pub(crate) fn by_name(&mut self, name: &str) -> Option<&mut Following> {
        self.list.iter_mut().find(|f| &*f.channel == name)
    }

    /// Stop following `name` here and in the hub.
    pub(crate) fn remove(&mut self, name: &str) {
        if let Some(at) = self.list.iter().position(|f| &*f.channel == name) {
            let f = self.list.remove(at);
            self.region
                .hub
                .unsubscribe(f.partition, &f.channel, self.subscriber.id);
            self.region.roster.leave(&f.channel, &self.identity.id);
        }
    }

    /// Whether `item` is for the client, and if so, move where its channel stands: not for
    /// it when of a channel it does not follow (any more), or what it already has.
    pub(crate) fn take(&mut self, item: &Delivery) -> bool {
        let Some(f) = self.get_mut(item.channel()) else {
            return false;
        };
        match item {
            Delivery::Event(_) if f.old_log => false,
            Delivery::Event(e) => {
                let fresh = e.event.offset > f.last_sent;
                if fresh {
                    f.last_sent = e.event.offset;
                }
                fresh
            }
            Delivery::Notice(n) => match n.kind {
                NoticeKind::Gap { to } => {
                    let fresh = !f.old_log && to > f.last_sent;
                    if fresh {
                        f.last_sent = to;
                    }
                    fresh
                }
                NoticeKind::Epoch { offset } => {
                    // The feed has moved to the new log: what it carries next belongs to it.
                    f.old_log = false;
                    let replayed = f.replayed_epoch.take();
                    let wire::ServerFrame::Epoch { epoch, .. } = &n.frame else {
                        return false;
                    };
                    if replayed.as_ref() == Some(epoch) {
                        // The client's resume announced this log and replayed it.
                        return false;
                    }
                    f.last_sent = offset;
                    true
                }
                NoticeKind::Presence { position } => match f.presence_from {
                    Some(from) if position > from => {
                        f.presence_from = Some(position);
                        true
                    }
                    _ => false,
                },
                // A fresh list replaces what the client knew; changes after it follow.
                NoticeKind::Members { position } => match f.presence_from {
                    Some(_) => {
                        f.presence_from = Some(position);
                        true
                    }
                    None => false,
                },
            },
        }
    }

    /// The channel a delivery is of, if followed: by pointer first (deliveries share the
    /// hub's key), by name otherwise.
    fn get_mut(&mut self, channel: &Arc<str>) -> Option<&mut Following> {
        let at = self
            .list
            .iter()
            .position(|f| Arc::ptr_eq(&f.channel, channel))
            .or_else(|| self.list.iter().position(|f| f.channel == *channel))?;
        Some(&mut self.list[at])
    }

    /// Where the client stands in every channel: the `since` query value to resume with
    /// (`N` for one channel, `CHANNEL:N,…` for several).
    pub(crate) fn since(&self) -> String {
        match self.list.as_slice() {
            [one] => one.last_sent.to_string(),
            all => all
                .iter()
                .map(|f| format!("{}:{}", f.channel, f.last_sent))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

impl Drop for Follows {
    fn drop(&mut self) {
        for f in &self.list {
            self.region
                .hub
                .unsubscribe(f.partition, &f.channel, self.subscriber.id);
            self.region.roster.leave(&f.channel, &self.identity.id);
        }
    }
}
