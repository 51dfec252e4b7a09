//! The log as the UI has seen it: one [`Row`] per event, with the time of every hop.
//!
//! Every channel is a stream of its own, with its own offsets: two channels may both have an
//! offset 7, so a row is found by its [`RowKey`] (channel and offset), never by its offset
//! alone. Within a channel rows are in offset order; between channels there is no order (the
//! protocol promises none), so a view over several (the timeline's "all channels", a pane
//! that follows several) interleaves them by when the broker stored each event, newest first,
//! and never reorders a channel's own rows to do so ([`newest_first`]).
//!
//! Rows live in persistent ordered maps (`im_rc::OrdMap`), so recording one delivery is
//! O(log n) and cloning the whole log for the next reducer state is O(1): a burst of
//! thousands of events never copies big vectors.

use crate::channels::Channel;
use crate::clock::ClockOffset;
use im_rc::{OrdMap, OrdSet};
use std::rc::Rc;
use wire::{EventFrame, Micros, Offset};

mod merge;
mod row;

use merge::interleave;
pub use merge::newest_first;
pub use row::{Delivery, Row, RowKey};

/// Newest events kept, all channels together. When a new row would exceed it, the oldest
/// rows are dropped (each the oldest of its channel, so no channel gets a hole; and with them
/// the panes' record of having received them); the UI says so in the timeline header instead
/// of growing without bound.
pub const MAX_EVENTS: usize = 10_000;

/// Offsets `from..=to` of `channel` that no pane has (or that a server said it cannot replay).
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// The channel.
    pub channel: Channel,
    /// First missing offset.
    pub from: Offset,
    /// Last missing offset.
    pub to: Offset,
    /// The server's explanation, when a `gap` frame announced it.
    pub message: Option<Rc<str>>,
}

/// An item of the timeline, newest first.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An event.
    Row(Rc<Row>),
    /// Missing offsets.
    Gap(Gap),
}

/// One channel's rows, by offset, and the gaps its servers announced.
#[derive(Debug, Clone, Default)]
struct Stream {
    rows: OrdMap<Offset, Rc<Row>>,
    /// Server `gap` frames, by first missing offset.
    gaps: OrdMap<Offset, Gap>,
}

/// Every event the UI holds, by channel and offset, plus the gaps servers announced.
#[derive(Debug, Clone, Default)]
pub struct Log {
    streams: OrdMap<Channel, Stream>,
    /// Rows held, all channels together.
    len: usize,
    /// Rows dropped to stay under [`MAX_EVENTS`].
    pub dropped: u64,
}

/// Identity, not content: two logs are equal when they share their maps. Every change makes
/// new maps, so for the states one reducer produces this is exact, and O(1): component props
/// holding a log compare without walking it (two logs built apart compare unequal, which
/// costs at most a render).
impl PartialEq for Log {
    fn eq(&self, other: &Self) -> bool {
        self.streams.ptr_eq(&other.streams)
            && (self.len, self.dropped) == (other.len, other.dropped)
    }
}

impl Log {
    /// Number of rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The channels that have rows (or announced gaps), by name.
    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.streams.keys()
    }

    /// True when a row (or gap) of another channel than `global` is held: the views then say
    /// which channel each row is of.
    pub fn has_channels(&self) -> bool {
        self.streams.keys().any(|c| &**c != wire::GLOBAL)
    }

    /// Rows held of `channel`.
    pub fn len_of(&self, channel: &str) -> usize {
        self.streams.get(channel).map_or(0, |s| s.rows.len())
    }

    /// The row at `offset` of `channel`.
    pub fn get(&self, channel: &str, offset: Offset) -> Option<&Rc<Row>> {
        self.streams.get(channel)?.rows.get(&offset)
    }

    /// Every row, channel by channel (by name), each channel's oldest first.
    pub fn rows(&self) -> impl Iterator<Item = &Rc<Row>> {
        self.streams.values().flat_map(|s| s.rows.values())
    }

    /// Put `row` in at its key (replacing one there): for a recording read back.
    pub fn insert(&mut self, row: Row) {
        let stream = self.stream(&row.channel);
        if stream.rows.insert(row.offset, Rc::new(row)).is_none() {
            self.len += 1;
        }
    }

    /// The stream of `channel`, made when it has none.
    fn stream(&mut self, channel: &Channel) -> &mut Stream {
        self.streams.entry(channel.clone()).or_default()
    }

    /// Record that pane `pane` (of `panes`) got `ev` at `at` (the page's clock), its region's
    /// clock being `clock` from the page's. Returns false, changing nothing, when that pane
    /// already had this event (a duplicate delivery).
    pub fn deliver(
        &mut self,
        ev: &EventFrame,
        pane: usize,
        panes: usize,
        at: Micros,
        clock: Option<ClockOffset>,
    ) -> bool {
        let mut row = match self.get(&ev.channel, ev.offset) {
            Some(r) if r.delivered.get(pane).copied().flatten().is_some() => return false,
            Some(r) => Row::clone(r),
            None => Row::new(ev, panes),
        };
        if row.delivered.len() < panes {
            row.delivered.resize(panes, None);
        }
        row.delivered[pane] = Some(Delivery {
            at,
            received_at: ev.received_at,
            replay: ev.replay,
            clock,
            painted: None,
        });
        let channel = row.channel.clone();
        if self
            .stream(&channel)
            .rows
            .insert(ev.offset, Rc::new(row))
            .is_none()
        {
            self.len += 1;
        }
        true
    }

    /// Note that pane `pane`'s copy of the row at `key` was painted at `at` (the page's
    /// clock); the first paint counts. Returns whether anything changed.
    pub fn painted(&mut self, key: &RowKey, pane: usize, at: Micros) -> bool {
        let Some(row) = self.get(&key.channel, key.offset) else {
            return false;
        };
        match row.delivered.get(pane).copied().flatten() {
            Some(d) if d.painted.is_none() => {
                let mut row = Row::clone(row);
                row.delivered[pane] = Some(Delivery {
                    painted: Some(at),
                    ..d
                });
                self.stream(&key.channel)
                    .rows
                    .insert(key.offset, Rc::new(row));
                true
            }
            _ => false,
        }
    }

    /// Drop the oldest rows beyond [`MAX_EVENTS`], each time the oldest row of the channel
    /// whose oldest row is oldest (so no channel gets a hole), and the gap notes wholly below
    /// what a channel still shows; returns the keys dropped.
    pub fn trim(&mut self) -> Vec<RowKey> {
        let mut dropped = Vec::new();
        while self.len > MAX_EVENTS {
            let Some(channel) = (self.streams.iter())
                .filter_map(|(c, s)| Some((s.rows.get_min()?.1.order(), c)))
                .min()
                .map(|(_, c)| c.clone())
            else {
                break;
            };
            let stream = self.stream(&channel);
            let Some(offset) = stream.rows.get_min().map(|(o, _)| *o) else {
                break;
            };
            stream.rows.remove(&offset);
            let first = stream.rows.get_min().map_or(Offset::MAX, |(o, _)| *o);
            // Gap notes wholly below the oldest kept row describe history no longer shown.
            while let Some(from) = (stream.gaps.get_min())
                .filter(|(_, g)| g.to < first)
                .map(|(k, _)| *k)
            {
                stream.gaps.remove(&from);
            }
            if stream.rows.is_empty() {
                self.streams.remove(&channel);
            }
            self.len -= 1;
            self.dropped += 1;
            dropped.push(RowKey { channel, offset });
        }
        dropped
    }

    /// Forget every row and gap of `channel` (its log was reset).
    pub fn clear(&mut self, channel: &str) {
        if let Some(stream) = self.streams.remove(channel) {
            self.len -= stream.rows.len();
        }
    }

    /// Note a server `gap` frame of `channel`.
    pub fn note_gap(&mut self, channel: &Channel, from: Offset, to: Offset, message: &str) {
        let gap = Gap {
            channel: channel.clone(),
            from,
            to,
            message: Some(message.into()),
        };
        self.stream(channel).gaps.insert(from, gap);
    }

    /// The newest `limit` rows of `channel` (of every channel: `None`), newest first, with
    /// every hole between a channel's rows (and every announced gap below them once its
    /// oldest row is shown) as a [`Item::Gap`] just above the row below it.
    pub fn items(&self, channel: Option<&str>, limit: usize) -> Vec<Item> {
        let lists: Vec<Vec<Item>> = match channel {
            Some(c) => self
                .streams
                .get(c)
                .map(|s| s.items(c, limit))
                .into_iter()
                .collect(),
            None => (self.streams.iter())
                .map(|(c, s)| s.items(c, limit))
                .collect(),
        };
        if lists.len() == 1 {
            return lists.into_iter().flatten().collect();
        }
        interleave(lists, limit)
    }

    /// The newest `limit` rows of the offsets `received` holds per channel (a pane's), newest
    /// first, channels interleaved.
    pub fn received<'a>(
        &'a self,
        received: impl Iterator<Item = (&'a Channel, &'a OrdSet<Offset>)>,
        limit: usize,
    ) -> Vec<Rc<Row>> {
        let lists = received
            .map(|(c, offsets)| {
                let rows = self.streams.get(c).map(|s| &s.rows);
                offsets.iter().rev().filter_map(move |o| rows?.get(o))
            })
            .collect();
        newest_first(lists).take(limit).cloned().collect()
    }

    /// p50 and p99 delivery latency (µs) of pane `pane` over the newest `last` rows, counting
    /// only those it got live, and how many that was.
    pub fn percentiles(&self, pane: usize, last: usize) -> Option<(Micros, Micros, usize)> {
        let lists = self
            .streams
            .values()
            .map(|s| s.rows.values().rev())
            .collect();
        let mut v: Vec<Micros> = newest_first(lists)
            .take(last)
            .filter_map(|r| r.latency(pane))
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = |q: f64| v[(((v.len() - 1) as f64) * q).round() as usize];
        Some((at(0.5), at(0.99), v.len()))
    }
}

impl Stream {
    /// The newest `limit` rows of this stream (of `channel`), newest first, with its holes and
    /// announced gaps ([`Log::items`]).
    fn items(&self, channel: &str, limit: usize) -> Vec<Item> {
        let mut out = Vec::with_capacity(limit.min(self.rows.len()) + 8);
        let mut above: Option<Offset> = None;
        for (shown, (offset, row)) in self.rows.iter().rev().enumerate() {
            if shown == limit {
                return out;
            }
            if let Some(prev) = above {
                if prev > offset + 1 {
                    out.push(Item::Gap(self.hole(channel, offset + 1, prev - 1)));
                }
            }
            out.push(Item::Row(row.clone()));
            above = Some(*offset);
        }
        let floor = above.unwrap_or(Offset::MAX);
        for (_, gap) in self.gaps.iter().rev() {
            if gap.to < floor {
                out.push(Item::Gap(gap.clone()));
            }
        }
        out
    }

    /// A hole `from..=to`, with the message of an announced gap that overlaps it.
    fn hole(&self, channel: &str, from: Offset, to: Offset) -> Gap {
        let message = self
            .gaps
            .range(..=to)
            .rev()
            .find(|(_, g)| g.to >= from)
            .and_then(|(_, g)| g.message.clone());
        Gap {
            channel: channel.into(),
            from,
            to,
            message,
        }
    }
}

#[cfg(test)]
mod tests;
