//! What a pane's frames do to the state, channel by channel.
//!
//! Each channel is a log of its own: its epoch, offsets, gaps and resets touch that channel's
//! rows and feeds only. A pane takes an event only of a channel it follows, whose log it is
//! on (a frame of a log it is leaving is dropped: that log's `epoch` frame follows).

use super::{error_notice, ChannelLog, Feed, Level, State};
use crate::channels::Channel;
use crate::presence::{Kind, Roster};
use im_rc::OrdSet;
use wire::{ChannelPosition, EventFrame, Member, Micros, Offset, ServerFrame, GLOBAL};

/// `text` about `channel`: as it always read for `global`, with the channel named otherwise.
fn about(channel: &str, text: String) -> String {
    if channel == GLOBAL {
        text
    } else {
        format!("{channel}: {text}")
    }
}

impl State {
    pub(super) fn frame(&mut self, p: usize, frame: ServerFrame, at: Micros) {
        match frame {
            ServerFrame::Welcome {
                offset,
                epoch,
                broker,
                mut channels,
                member,
                ..
            } => {
                self.panes[p].broker = Some(broker);
                if let Some(m) = &member {
                    self.own(p, &m.id);
                }
                self.panes[p].me = member;
                if channels.is_empty() {
                    // A server older than channels names none: its welcome is `global`'s.
                    let channel = GLOBAL.into();
                    channels.push(ChannelPosition {
                        channel,
                        offset,
                        epoch,
                    });
                }
                for c in channels {
                    self.subscribed(p, &c.channel, c.offset, c.epoch);
                }
            }
            ServerFrame::Subscribed {
                channel,
                offset,
                epoch,
            } => self.subscribed(p, &channel, offset, epoch),
            ServerFrame::Unsubscribed { channel } => self.panes[p].unsubscribed(&channel),
            ServerFrame::Epoch {
                channel,
                epoch,
                message,
                ..
            } => {
                if let Some(c) = self.panes[p].fed(&channel) {
                    let text = about(&channel, format!("log reset: {message}"));
                    self.reset(p, &c, epoch, Some(text));
                }
            }
            ServerFrame::Event(ev) => self.event(p, &ev, at),
            ServerFrame::Ack {
                channel, offset, ..
            } => {
                self.panes[p].acked += 1;
                if let Some(log) = self.current(p, &channel) {
                    log.newest = log.newest.max(offset);
                }
            }
            ServerFrame::CaughtUp { .. } => {}
            ServerFrame::Presence {
                channel,
                count,
                members,
            } => {
                // A fresh list replaces what the pane knew (no rows: the list says it all).
                if let Some(c) = self.panes[p].followed(&channel) {
                    let roster = Roster::listed(count, members);
                    self.presence.listed(&c, p, &roster, usize::MAX);
                    self.panes[p].presence.insert(c, roster);
                }
            }
            ServerFrame::Join { channel, member } => {
                self.presence_change(p, &channel, Kind::Join, member, at)
            }
            ServerFrame::Leave { channel, member } => {
                self.presence_change(p, &channel, Kind::Leave, member, at)
            }
            ServerFrame::Gap {
                channel,
                from,
                to,
                message,
            } => self.gap(p, &channel, (from, to), &message),
            ServerFrame::Error {
                code,
                message,
                id,
                temporary,
            } => {
                let text = error_notice(&code, &message, id.as_deref(), temporary);
                self.notify(p, Level::Error, text);
            }
        }
    }

    /// Pane `p` was told at `at` (the page's clock) that `member` joined or left `channel`:
    /// its roster changes (once: a repeat changes nothing), and the timeline gets the
    /// change's row (one per change, with every pane's receipt on its region's line).
    fn presence_change(&mut self, p: usize, channel: &str, kind: Kind, member: Member, at: Micros) {
        let Some(c) = self.panes[p].followed(channel) else {
            return; // Not (or no longer) followed: a frame sent before its `unsubscribed`.
        };
        let pane = &mut self.panes[p];
        let on_line = pane.clock.estimate().map_or(at, |o| o.to_region(at));
        let panes = self.panes.len();
        let own = (self.panes.iter()).position(|q| q.own.iter().any(|id| **id == member.id));
        if (self.presence).note(&c, kind, &member, (p, panes), on_line, own) {
            // A new row: panes whose list already says it are not waiting for its frame.
            for (q, pane) in self.panes.iter().enumerate().filter(|(q, _)| *q != p) {
                if let Some(roster) = pane.presence.get(&c) {
                    self.presence.listed(&c, q, roster, 1);
                }
            }
        }
        let roster = self.panes[p].presence.entry(c).or_default();
        match kind {
            Kind::Join => roster.join(member),
            Kind::Leave => roster.leave(&member),
        };
    }

    /// Member `id` is pane `p`'s own client (its welcome said so).
    fn own(&mut self, p: usize, id: &str) {
        let own = &mut self.panes[p].own;
        if !own.iter().any(|o| **o == *id) {
            own.push(id.into());
            let extra = own.len().saturating_sub(super::pane::OWN_KEPT);
            own.drain(..extra);
        }
        self.presence.own(id, p);
    }

    /// A server said offsets `from..=to` of `channel` cannot be replayed to pane `p`.
    fn gap(&mut self, p: usize, channel: &str, (from, to): (Offset, Offset), message: &str) {
        let Some(c) = self.panes[p].fed(channel) else {
            return;
        };
        self.log.note_gap(&c, from, to, message);
        let text = about(&c, format!("offsets {from}–{to} missing: {message}"));
        self.notify(p, Level::Info, text);
    }

    /// The log of `channel`, when pane `p` follows it on that log (the one the timeline
    /// shows).
    fn current(&mut self, p: usize, channel: &str) -> Option<&mut ChannelLog> {
        let feed = self.panes[p].feeds.get(channel)?;
        (self.channels.get_mut(channel)).filter(|l| l.epoch == feed.epoch)
    }

    /// Pane `p`'s socket is subscribed to `channel` (its welcome, or a `subscribed` frame),
    /// whose log `epoch` its region has read up to `offset`.
    fn subscribed(&mut self, p: usize, channel: &str, offset: Offset, epoch: String) {
        // A channel the person stopped following meanwhile: its `unsubscribed` follows.
        let Some(c) = self.panes[p].followed(channel) else {
            return;
        };
        let pane = &mut self.panes[p];
        // `offset` is where this feed starts on its first subscription; a reconnect's welcome
        // keeps the feed (and its start).
        let was = pane.feeds.get(&c).map(|f| f.epoch.clone());
        if was.is_none() {
            pane.feeds
                .insert(c.clone(), Feed::new(epoch.clone(), offset));
        }
        match was {
            // A resume names the old epoch, so the server's `epoch` frame follows with the
            // explanation; clear now, say it once then.
            Some(was) if was != epoch => self.reset(p, &c, epoch.clone(), None),
            _ => self.adopt(p, &c, epoch.clone()),
        }
        // The region has read up to `offset` (the log may already be further on).
        if let Some(feed) = self.panes[p].feeds.get_mut(&c) {
            feed.head = feed.head.max(offset);
        }
        if let Some(log) = self.channels.get_mut(&c) {
            log.newest = log.newest.max(offset);
        }
    }

    /// Pane `p` got `ev` at `at`: into the log (once per pane), with the log's bound kept.
    fn event(&mut self, p: usize, ev: &EventFrame, at: Micros) {
        let Some(c) = self.panes[p].fed(&ev.channel) else {
            return; // Not (or no longer) subscribed: a frame sent before its `unsubscribed`.
        };
        let Some(log) = self.current(p, &c) else {
            return; // A frame of a log this pane is leaving; its epoch frame follows.
        };
        log.newest = log.newest.max(ev.offset);
        let pane = &mut self.panes[p];
        let clock = pane.clock.estimate();
        if let Some(feed) = pane.feeds.get_mut(&c) {
            feed.head = feed.head.max(ev.offset);
        }
        let panes = self.panes.len();
        if !self.log.deliver(ev, p, panes, at, clock) {
            self.panes[p].duplicates += 1;
            return;
        }
        if let Some(feed) = self.panes[p].feeds.get_mut(&c) {
            feed.received.insert(ev.offset);
        }
        for key in self.log.trim() {
            for pane in &mut self.panes {
                if let Some(feed) = pane.feeds.get_mut(&key.channel) {
                    feed.received.remove(&key.offset);
                }
            }
        }
    }

    /// Pane `p`'s feed of `channel` follows log `epoch`; the first pane to see a new epoch of
    /// a channel clears that channel's rows (and every pane's record of them).
    fn adopt(&mut self, p: usize, channel: &Channel, epoch: String) {
        let known = self.channels.get(channel).map(|l| &l.epoch);
        if known != Some(&epoch) {
            if known.is_some() {
                self.log.clear(channel);
                for pane in &mut self.panes {
                    if let Some(feed) = pane.feeds.get_mut(channel) {
                        feed.received = OrdSet::new();
                        feed.head = 0;
                    }
                }
            }
            let log = ChannelLog {
                epoch: epoch.clone(),
                newest: 0,
            };
            self.channels.insert(channel.clone(), log);
        }
        if let Some(feed) = self.panes[p].feeds.get_mut(channel) {
            feed.epoch = epoch;
        }
    }

    /// Pane `p`'s feed of `channel` was reset: forget its offsets and say so.
    fn reset(&mut self, p: usize, channel: &Channel, epoch: String, text: Option<String>) {
        if let Some(feed) = self.panes[p].feeds.get_mut(channel) {
            // The server replays the new log from its start, so all of it is this feed's.
            *feed = Feed::new(feed.epoch.clone(), 0);
        }
        self.adopt(p, channel, epoch);
        if let Some(text) = text {
            self.notify(p, Level::Info, text);
        }
    }
}
