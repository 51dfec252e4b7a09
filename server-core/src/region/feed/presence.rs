//! The presence half of a feed: the partition's presence changes fanned out to the clients
//! that asked for the presence of their channel.
//!
//! # Contract
//! - Every change is read once, in the partition's presence order (the same in every region,
//!   the broker's), and reaches the presence subscribers of its channel here in that order.
//! - Where the feed lost track of the stream (a new epoch of the partition, or a hole: it
//!   fell further behind than the stream keeps), every presence subscriber of the partition
//!   gets a fresh `presence` list, and changes continue after the position it was read at:
//!   a list replaces what the client knew, so it never keeps a member the broker dropped.

use super::Feed;
use crate::broker::presence::PresenceChange;
use crate::error::Result;
use crate::region::delivery::Notice;
use crate::region::hub::notify;
use wire::presence::MAX_LISTED;

impl Feed {
    /// Fan `changes` out in order, each to the presence subscribers of its channel. True
    /// when the stream had a hole (fresh lists are due: [`Self::restart_presence`]).
    pub(super) fn deliver_presence(&mut self, changes: Vec<PresenceChange>) -> bool {
        if changes.is_empty() {
            return false;
        }
        let region = self.region.clone();
        let mut hub = region.hub.partition(self.partition);
        let mut hole = false;
        for change in changes {
            if change.position <= self.cursor.presence {
                continue;
            }
            hole |= change.position > self.cursor.presence + 1;
            self.cursor.presence = change.position;
            region.metrics.presence_change();
            if let Some(channel) = hub.key(&change.channel) {
                notify(&mut hub, Notice::presence(channel, &change));
            }
        }
        hole
    }

    /// Find where the presence stream stands, continue from there, and send a fresh list of
    /// members to the presence subscribers of every channel of the partition.
    pub(super) async fn restart_presence(&mut self) -> Result<()> {
        let broker = self.region.broker().clone();
        let status = broker.status(self.partition).await?;
        if status.epoch != self.cursor.epoch {
            // Another epoch again: the next read adopts it, and this runs after it.
            return Ok(());
        }
        self.cursor.presence = status.presence;
        let watched = self.region.hub.partition(self.partition).watched();
        for channel in watched {
            // Read at or after `status.presence`: changes up to the list's position that the
            // next read brings are dropped by each client (the list has them).
            let members = broker.members(&channel, MAX_LISTED).await?;
            let mut hub = self.region.hub.partition(self.partition);
            notify(&mut hub, Notice::members(channel, members));
        }
        self.presence_unknown = false;
        Ok(())
    }
}
