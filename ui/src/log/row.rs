//! One event of the log ([`Row`]), where it is ([`RowKey`]) and a pane's copy of it
//! ([`Delivery`]).

use crate::channels::Channel;
use crate::clock::ClockOffset;
use std::rc::Rc;
use wire::{EventFrame, Micros, Offset};

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
    /// The channel it belongs to.
    pub channel: Channel,
    /// Position in its channel.
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
            channel: ev.channel.as_str().into(),
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

    /// Where it is in the log.
    pub fn key(&self) -> RowKey {
        RowKey {
            channel: self.channel.clone(),
            offset: self.offset,
        }
    }

    /// What interleaves rows of different channels, newest last: when the broker stored it
    /// (then when it was published). Only between channels: a channel's own rows keep their
    /// offset order whatever the clocks say.
    pub(super) fn order(&self) -> (Micros, Micros) {
        (self.stored_at, self.published_at)
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

/// Where a row is: its channel and its offset there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    /// The channel.
    pub channel: Channel,
    /// The offset in it.
    pub offset: Offset,
}
