//! Presence in the broker: the members of each channel, held under the leases of the region
//! instances they are connected to, and the stream of their changes.
//!
//! # Contract (every broker)
//! - **One member per (channel, connection).** An [`Update::Join`] adds it (again: nothing
//!   changes), an [`Update::Leave`] removes it (absent: nothing changes); each real change is
//!   one [`PresenceChange`] in the channel's partition's presence stream, at the next
//!   presence position, which every reader sees in the same order. [`Broker::update`]
//!   applies a list in its order within each channel.
//! - **Leases.** Each region instance renews its lease in every partition
//!   ([`Broker::renew`]); a lease not renewed for its TTL runs out, and the next renewal of a
//!   reaper (a caller that has renewed without a failure for a whole TTL) removes every
//!   member of that instance, one `leave` each, once. A renewal that had to make the lease
//!   anew says so ([`Renewed::lost`]): that instance's members there were reaped (or the log
//!   lost), and it announces them again with [`Broker::resync`], which makes the instance's
//!   members of a partition exactly the given ones. [`Broker::in_sync`] tells cheaply
//!   whether they already are (by count and [`digest`]), so that an instance can check every
//!   partition in turn without rewriting it.
//! - **Bounded.** A partition's presence stream keeps about [`STREAM_BOUND`] changes; a
//!   reader further behind sees a hole (a presence position past the next one) and takes a
//!   fresh list ([`Broker::members`]), whose `position` says which changes come after it.
//! - **With the log.** Presence belongs to its partition's epoch: a log lost takes its members
//!   with it; a log that went back in time has its members go back too, and each live
//!   instance resyncs them.
//!
//! [`Broker::update`]: crate::broker::Broker::update
//! [`Broker::renew`]: crate::broker::Broker::renew
//! [`Broker::resync`]: crate::broker::Broker::resync
//! [`Broker::members`]: crate::broker::Broker::members
//! [`Broker::in_sync`]: crate::broker::Broker::in_sync

use crate::event::Offset;
use wire::Member;

/// About how many changes a partition's presence stream keeps.
pub const STREAM_BOUND: usize = 10_000;

/// A member as the broker keeps it: with the channel and the region instance that holds its
/// lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The channel.
    pub channel: String,
    /// The member.
    pub member: Member,
    /// The region instance it is connected to (its lease's holder).
    pub instance: String,
}

/// The digest of a set of memberships, as `presence.lua` keeps it per instance: the sum,
/// modulo 2^32, of the first 32 bits (big-endian) of the SHA-1 of each `"<channel>\n<id>"`.
/// A sum, so the broker updates it as members come and go, in any order.
pub fn digest(live: &[Membership]) -> u32 {
    live.iter().fold(0u32, |sum, m| {
        let entry = format!("{}\n{}", m.channel, m.member.id);
        let hash = sha1_smol::Sha1::from(entry.as_bytes()).digest().bytes();
        sum.wrapping_add(u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]))
    })
}

/// One change asked of the broker's presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Make the member a member of its channel.
    Join(Membership),
    /// Remove the member `id` from `channel`.
    Leave {
        /// The channel.
        channel: String,
        /// The member's id.
        id: String,
    },
}

impl Update {
    /// The channel it is about.
    pub fn channel(&self) -> &str {
        match self {
            Update::Join(m) => &m.channel,
            Update::Leave { channel, .. } => channel,
        }
    }
}

/// Joined or left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The member joined.
    Join,
    /// The member left.
    Leave,
}

/// One change of a partition's presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    /// Its position in the partition's presence stream (1, 2, 3, …).
    pub position: Offset,
    /// The channel.
    pub channel: String,
    /// Joined or left.
    pub change: Change,
    /// Who.
    pub member: Member,
}

/// A channel's members as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// The epoch of the channel's partition.
    pub epoch: String,
    /// The partition's presence position when read: every change after it is at a later
    /// position.
    pub position: Offset,
    /// How many members the channel has.
    pub count: usize,
    /// At most the number asked for, oldest first.
    pub members: Vec<Member>,
}

/// What a lease renewal found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renewed {
    /// The partitions where the lease had to be made anew: the instance's members there were
    /// reaped or lost, and must be announced again.
    pub lost: Vec<crate::broker::Partition>,
}

/// The JSON a member is stored as: the member and its instance.
pub(crate) fn to_json(m: &Membership) -> String {
    #[derive(serde::Serialize)]
    struct Stored<'a> {
        #[serde(flatten)]
        member: &'a Member,
        instance: &'a str,
    }
    serde_json::to_string(&Stored {
        member: &m.member,
        instance: &m.instance,
    })
    .expect("members always serialize")
}
