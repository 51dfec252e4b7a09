//! The log as the UI has seen it: one [`Row`] per offset, with the time of every hop.
//!
//! Rows live in a persistent ordered map (`im_rc::OrdMap`), so recording one delivery is
//! O(log n) and cloning the whole log for the next reducer state is O(1): a burst of
//! thousands of events never copies big vectors.

use crate::clock::ClockOffset;
use im_rc::OrdMap;
use std::rc::Rc;
use wire::{EventFrame, Micros, Offset};

/// Newest events kept. When a new offset would exceed it, the oldest rows are dropped
/// (and with them the panes' record of having received them); the UI says so in the
/// timeline header instead of growing without bound.
pub const MAX_EVENTS: usize = 10_000;

/// A pane's copy of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// When the browser got the frame (its own clock), µs.
    pub at: Micros,
    /// When that region's server read it from the broker (the region's clock), µs.
    pub received_at: Micros,
    /// Sent from history on a resume rather than live; left out of latency figures.
    pub replay: bool,
    /// The region's clock against the page's as measured when the frame arrived ([`crate::clock`]);
    /// `None` while no measure was known (or from a region that does not say its clock).
    pub clock: Option<ClockOffset>,
    /// When the row showing it was painted (the page's clock: the animation frame after the
    /// state took it in), µs; only measured while the timeline shows render times.
    pub painted: Option<Micros>,
}

impl Delivery {
    /// When the pane's socket got the frame, on its region's time line (the page's stamp
    /// moved by the offset measured then); the page's own stamp while no offset was known.
    pub fn on_region_line(&self) -> Micros {
        self.clock.map_or(self.at, |c| c.to_region(self.at))
    }

    /// From the socket receiving the frame to the row being painted, µs (both page stamps).
    pub fn render_time(&self) -> Option<Micros> {
        self.painted.map(|p| p.saturating_sub(self.at))
    }
}

/// One event of the log and every hop it made that the UI knows of.
/// Derives `Eq` so that `Rc<Row>` comparisons (component props) short-cut on the pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Position in the log.
    pub offset: Offset,
    /// Publisher's id.
    pub id: Rc<str>,
    /// Region it was published in.
    pub origin: Rc<str>,
    /// Event kind.
    pub kind: Rc<str>,
    /// `payload.text` (with `payload.burst`, e.g. `3/100`) if there is one, else the payload
    /// as JSON (shortened).
    pub text: Rc<str>,
    /// The origin accepted it (origin's clock), µs.
    pub published_at: Micros,
    /// The broker stored it, µs.
    pub stored_at: Micros,
    /// Per pane (same index as `State::panes`): the pane's copy, if it has one.
    pub delivered: Vec<Option<Delivery>>,
}

impl Row {
    /// A row for `ev`, not yet delivered anywhere, for `panes` panes.
    pub fn new(ev: &EventFrame, panes: usize) -> Row {
        let burst = ev.payload.get("burst").and_then(|b| b.as_str());
        let text = match ev.payload.get("text").and_then(|t| t.as_str()) {
            Some(t) if burst.is_some() => format!("{t} · {}", burst.unwrap_or_default()),
            Some(t) => t.to_owned(),
            None if ev.payload.is_null() => String::new(),
            None => ev.payload.to_string(),
        };
        Row {
            offset: ev.offset,
            id: ev.id.as_str().into(),
            origin: ev.origin.as_str().into(),
            kind: ev.kind.as_str().into(),
            text: shorten(&text, 120).into(),
            published_at: ev.published_at,
            stored_at: ev.stored_at,
            delivered: vec![None; panes],
        }
    }

    /// Time of the latest hop known (any clock), µs.
    pub fn last_hop(&self) -> Micros {
        self.delivered
            .iter()
            .flatten()
            .flat_map(|d| {
                let delivered = d.on_region_line();
                let painted = delivered + d.render_time().unwrap_or(0);
                [delivered, d.received_at, painted]
            })
            .chain([self.published_at, self.stored_at])
            .max()
            .unwrap_or(self.published_at)
    }

    /// Where the timeline draws each hop, µs: never before the hop it depends on (stored
    /// after published, a region's receipt after stored, a pane's delivery after its region's
    /// receipt). The hops are stamped by different clocks (origin, broker, each region, the
    /// page), so a raw time can fall before its predecessor by up to the clocks' offset;
    /// drawing it there would show an impossible order. A delivery is drawn on its region's
    /// time line ([`Delivery::on_region_line`]). Returns the stored time and, per
    /// pane, `(received, delivered)` as drawn; the raw figures stay in the row.
    pub fn drawn(&self) -> (Micros, Vec<Option<(Micros, Micros)>>) {
        let stored = self.stored_at.max(self.published_at);
        let panes = (self.delivered.iter())
            .map(|d| {
                d.map(|d| {
                    let received = d.received_at.max(stored);
                    (received, d.on_region_line().max(received))
                })
            })
            .collect();
        (stored, panes)
    }

    /// Delivery latency of pane `pane` (delivered, on its region's time line, minus
    /// published), µs, if live.
    pub fn latency(&self, pane: usize) -> Option<Micros> {
        match self.delivered.get(pane).copied().flatten() {
            Some(d) if !d.replay => Some(d.on_region_line().saturating_sub(self.published_at)),
            _ => None,
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Offsets `from..=to` that no pane has (or that a server said it cannot replay).
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
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

/// Every event the UI holds, by offset, plus the gaps servers announced.
#[derive(Debug, Clone, Default)]
pub struct Log {
    rows: OrdMap<Offset, Rc<Row>>,
    /// Server `gap` frames, by first missing offset.
    gaps: OrdMap<Offset, Gap>,
    /// Rows dropped to stay under [`MAX_EVENTS`].
    pub dropped: u64,
}

/// Identity, not content: two logs are equal when they share their maps. Every change makes
/// new maps, so for the states one reducer produces this is exact, and O(1): component props
/// holding a log compare without walking it (two logs built apart compare unequal, which
/// costs at most a render).
impl PartialEq for Log {
    fn eq(&self, other: &Self) -> bool {
        self.rows.ptr_eq(&other.rows)
            && self.gaps.ptr_eq(&other.gaps)
            && self.dropped == other.dropped
    }
}

impl Log {
    /// Number of rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row at `offset`.
    pub fn get(&self, offset: Offset) -> Option<&Rc<Row>> {
        self.rows.get(&offset)
    }

    /// Every row, oldest first.
    pub fn rows(&self) -> impl Iterator<Item = &Rc<Row>> {
        self.rows.values()
    }

    /// Put `row` in at its offset (replacing one there): for a recording read back.
    pub fn insert(&mut self, row: Row) {
        self.rows.insert(row.offset, Rc::new(row));
    }

    /// Lowest offset held.
    pub fn first(&self) -> Option<Offset> {
        self.rows.get_min().map(|(o, _)| *o)
    }

    /// Record that pane `pane` (of `panes`) got `ev` at `at` (the page's clock), its region's
    /// clock being `clock` from the page's. Returns false, changing nothing, when that pane
    /// already had this offset (a duplicate delivery).
    pub fn deliver(
        &mut self,
        ev: &EventFrame,
        pane: usize,
        panes: usize,
        at: Micros,
        clock: Option<ClockOffset>,
    ) -> bool {
        let mut row = match self.rows.get(&ev.offset) {
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
        self.rows.insert(ev.offset, Rc::new(row));
        true
    }

    /// Note that pane `pane`'s copy of `offset` was painted at `at` (the page's clock); the
    /// first paint counts. Returns whether anything changed.
    pub fn painted(&mut self, offset: Offset, pane: usize, at: Micros) -> bool {
        let Some(row) = self.rows.get(&offset) else {
            return false;
        };
        match row.delivered.get(pane).copied().flatten() {
            Some(d) if d.painted.is_none() => {
                let mut row = Row::clone(row);
                row.delivered[pane] = Some(Delivery {
                    painted: Some(at),
                    ..d
                });
                self.rows.insert(offset, Rc::new(row));
                true
            }
            _ => false,
        }
    }

    /// Drop the oldest rows (and gap notes) beyond [`MAX_EVENTS`]; returns the new lowest
    /// offset when something was dropped.
    pub fn trim(&mut self) -> Option<Offset> {
        if self.rows.len() <= MAX_EVENTS {
            return None;
        }
        while self.rows.len() > MAX_EVENTS {
            let min = self.first()?;
            self.rows.remove(&min);
            self.dropped += 1;
        }
        let first = self.first()?;
        // Gap notes wholly below the oldest kept row describe history no longer shown.
        while let Some(from) = self
            .gaps
            .get_min()
            .filter(|(_, g)| g.to < first)
            .map(|(k, _)| *k)
        {
            self.gaps.remove(&from);
        }
        Some(first)
    }

    /// Note a server `gap` frame.
    pub fn note_gap(&mut self, from: Offset, to: Offset, message: &str) {
        self.gaps.insert(
            from,
            Gap {
                from,
                to,
                message: Some(message.into()),
            },
        );
    }

    /// The newest `limit` rows, newest first, with every hole between them (and every
    /// announced gap below them once the oldest row is shown) as a [`Item::Gap`].
    pub fn items(&self, limit: usize) -> Vec<Item> {
        let mut out = Vec::with_capacity(limit + 8);
        let mut above: Option<Offset> = None;
        for (shown, (offset, row)) in self.rows.iter().rev().enumerate() {
            if shown == limit {
                return out;
            }
            if let Some(prev) = above {
                if prev > offset + 1 {
                    out.push(Item::Gap(self.hole(offset + 1, prev - 1)));
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
    fn hole(&self, from: Offset, to: Offset) -> Gap {
        let message = self
            .gaps
            .range(..=to)
            .rev()
            .find(|(_, g)| g.to >= from)
            .and_then(|(_, g)| g.message.clone());
        Gap { from, to, message }
    }

    /// p50 and p99 delivery latency (µs) of pane `pane` over the newest `last` rows, counting
    /// only those it got live, and how many that was.
    pub fn percentiles(&self, pane: usize, last: usize) -> Option<(Micros, Micros, usize)> {
        let mut v: Vec<Micros> = self
            .rows
            .values()
            .rev()
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

#[cfg(test)]
mod tests;
