//! The UI's state: a pure reducer over what the sockets, the health polls and the user did.
//!
//! Nothing here touches the DOM or the network, so it is unit-tested natively. Per event the
//! reducer does O(log n) work on persistent maps (see [`crate::log`]); sockets hand frames
//! over in batches ([`Action::Batch`]), so a burst re-renders a few times, not per event.

use crate::clock::Sample;
use crate::error::{HttpError, RegionsError};
use crate::export::{OpenError, Opened};
use crate::log::Log;
use crate::outbox_counts::OutboxCounts;
use crate::refusal::Refusal;
use crate::scenario::{Scenario, ScenarioEvent};
use crate::sim::SimEvent;
use im_rc::OrdSet;
use std::rc::Rc;
use wire::{
    BrokerKind, BrokerStatus, ErrorCode, EventFrame, Health, Micros, Offset, RegionInfo,
    ServerFrame,
};
use yew::Reducible;

/// Notices kept per pane; older ones are dropped when a new one comes.
pub const MAX_NOTICES: usize = 4;

/// State of one region's WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// First attempt in progress.
    Connecting,
    /// Open.
    Connected,
    /// Closed; the next attempt is `attempt` (1-based) in `retry_ms`.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Delay before it, ms.
        retry_ms: u32,
    },
}

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// Something the user may want to know (a log reset, a gap).
    Info,
    /// Something failed (an `error` frame).
    Error,
}

/// A dismissible message shown in a pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Unique within the session, for dismissing.
    pub id: u64,
    /// Severity.
    pub level: Level,
    /// Text shown.
    pub text: Rc<str>,
}

/// The whole UI state.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// `None` while the region list loads; `Err` if it could not be loaded.
    pub regions: Option<Result<(), RegionsError>>,
    /// One per region, in the order the region list gave.
    pub panes: Vec<Pane>,
    /// Every event seen by any pane.
    pub log: Log,
    /// Epoch of the events in `log`.
    pub epoch: Option<String>,
    /// Newest offset known to be in the log of `epoch` (from any pane's events, acks, welcome
    /// or `/health`): what every region should have read by now.
    pub newest: Offset,
    /// The scripted demo, once started.
    pub scenario: Option<Scenario>,
    /// Desktop only: which broker the app chose and why.
    pub broker_status: Option<BrokerStatus>,
    /// A timeline export opened to look at (shown instead of the live timeline), or why the
    /// file could not be opened.
    pub recording: Option<Result<Rc<Opened>, OpenError>>,
    /// The timeline shows render times (off by default: measuring costs a render per batch).
    pub show_render: bool,
    next_notice: u64,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum Action {
    /// The region list arrived (or failed): start over with one pane per region.
    Regions(Result<Vec<RegionInfo>, RegionsError>),
    /// Pane `pane`'s socket changed state.
    Link(usize, Link),
    /// Pane `pane`'s `/health` poll answered.
    Health(usize, Result<Health, HttpError>),
    /// Pane `pane`'s region answered a timed `/health` exchange: a measure of its clock.
    Clock(usize, Sample),
    /// Frames of several panes, in arrival order: `(pane, frame, receive time)`.
    Batch(Vec<(usize, ServerFrame, Micros)>),
    /// The rows of these `(pane, offset)` deliveries were painted at this time (the page's
    /// clock), µs: render times, measured while [`State::show_render`] is on.
    Painted(Micros, Vec<(usize, Offset)>),
    /// Show render times on the timeline (or stop).
    ShowRender(bool),
    /// Pane `pane` sent this many publish frames (retries included).
    Sent(usize, u64),
    /// Pane `pane`'s outbox now holds this (the render batcher hands the latest over with a batch).
    Publishes(usize, OutboxCounts),
    /// Pane `pane`'s region refused the page (`Some`, the socket could not open), or the
    /// socket opened (`None`).
    Refused(usize, Option<Refusal>),
    /// Show a notice in pane `pane`.
    Notify(usize, Level, String),
    /// Pane `pane`'s notice `id` was dismissed.
    Dismiss(usize, u64),
    /// Something happened to pane `pane`'s simulated link settings.
    Sim(usize, SimEvent),
    /// Something happened to the scripted demo.
    Scenario(ScenarioEvent),
    /// The desktop app said which broker it uses.
    BrokerStatus(BrokerStatus),
    /// A timeline export was opened (or could not be); `None`: back to the live timeline.
    Recording(Option<Result<Rc<Opened>, OpenError>>),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = State::clone(&self);
        s.apply(action);
        Rc::new(s)
    }
}

impl State {
    /// Apply one action in place (the reducer clones first; every field clones in O(1)
    /// or is small).
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Regions(Ok(list)) => self.start_over(list),
            Action::Regions(Err(e)) => self.regions = Some(Err(e)),
            Action::Link(p, link) => self.on_pane(p, |pane| pane.link = link),
            Action::Health(p, h) => self.health(p, h),
            Action::Clock(p, sample) => self.on_pane(p, |pane| {
                pane.clock.add(sample);
            }),
            Action::Painted(at, painted) => {
                for (p, offset) in painted {
                    self.log.painted(offset, p, at);
                }
            }
            Action::ShowRender(on) => self.show_render = on,
            Action::Batch(frames) => {
                for (p, frame, at) in frames {
                    if p < self.panes.len() {
                        self.frame(p, frame, at);
                    }
                }
            }
            Action::Sent(p, n) => self.on_pane(p, |pane| pane.sent += n),
            Action::Publishes(p, counts) => self.on_pane(p, |pane| pane.publishes = counts),
            Action::Refused(p, refusal) => self.on_pane(p, |pane| pane.refused = refusal),
            Action::Notify(p, level, text) => self.notify(p, level, text),
            Action::Dismiss(p, id) => self.on_pane(p, |pane| pane.notices.retain(|n| n.id != id)),
            Action::Sim(p, event) => self.on_pane(p, |pane| pane.sim.apply(event)),
            Action::Scenario(event) => {
                self.scenario = Scenario::apply(self.scenario.as_ref(), event);
            }
            Action::BrokerStatus(status) => self.broker_status = Some(status),
            Action::Recording(r) => self.recording = r,
        }
    }

    /// Apply `f` to pane `p`, if there is one (an action may outlive its pane).
    fn on_pane(&mut self, p: usize, f: impl FnOnce(&mut Pane)) {
        if let Some(pane) = self.panes.get_mut(p) {
            f(pane);
        }
    }

    /// A new region list: one fresh pane per region; what is not about the regions (the
    /// desktop app's broker, an opened recording, the render-time switch) is kept.
    fn start_over(&mut self, list: Vec<RegionInfo>) {
        *self = State {
            regions: Some(Ok(())),
            panes: list.into_iter().map(Pane::new).collect(),
            next_notice: self.next_notice,
            broker_status: self.broker_status.take(),
            recording: self.recording.take(),
            show_render: self.show_render,
            ..State::default()
        };
    }

    /// Pane `p`'s `/health` answered: its broker, and how far its region has read (when it
    /// is about the log the timeline shows).
    fn health(&mut self, p: usize, h: Result<Health, HttpError>) {
        let Some(pane) = self.panes.get_mut(p) else {
            return;
        };
        if let Ok(h) = &h {
            pane.broker = Some(h.broker);
            if self.epoch.as_ref() == Some(&h.epoch) {
                pane.head = pane.head.max(h.offset);
                self.newest = self.newest.max(h.offset);
            }
        }
        pane.health = Some(h);
    }

    fn frame(&mut self, p: usize, frame: ServerFrame, at: Micros) {
        match frame {
            ServerFrame::Welcome {
                offset,
                epoch,
                broker,
                ..
            } => self.welcome(p, offset, epoch, broker),
            ServerFrame::Epoch { epoch, message, .. } => {
                self.reset(p, epoch, Some(format!("log reset: {message}")))
            }
            ServerFrame::Event(ev) => self.event(p, &ev, at),
            ServerFrame::Ack { offset, .. } => {
                self.panes[p].acked += 1;
                if self.panes[p].epoch == self.epoch {
                    self.newest = self.newest.max(offset);
                }
            }
            ServerFrame::CaughtUp { .. } => {}
            ServerFrame::Gap { from, to, message } => {
                self.log.note_gap(from, to, &message);
                self.notify(
                    p,
                    Level::Info,
                    format!("offsets {from}–{to} missing: {message}"),
                );
            }
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

    /// Pane `p`'s socket (re)connected to a region on `broker` that has read up to `offset`
    /// of log `epoch`.
    fn welcome(&mut self, p: usize, offset: Offset, epoch: String, broker: BrokerKind) {
        // `offset` is where this pane's live feed starts on its first connection.
        let pane = &mut self.panes[p];
        pane.broker = Some(broker);
        pane.start.get_or_insert(offset);
        if pane.epoch.as_ref().is_some_and(|e| *e != epoch) {
            // A resume names the old epoch, so the server's `epoch` frame follows with
            // the explanation; clear now, say it once then.
            self.reset(p, epoch, None);
        } else {
            self.adopt(p, epoch);
        }
        // The region has read up to `offset` (the log may already be further on).
        let pane = &mut self.panes[p];
        pane.head = pane.head.max(offset);
        self.newest = self.newest.max(offset);
    }

    /// Pane `p` got `ev` at `at`: into the log (once per pane), with the log's bound kept.
    fn event(&mut self, p: usize, ev: &EventFrame, at: Micros) {
        if self.panes[p].epoch != self.epoch {
            return; // A frame of a log this pane is leaving; its epoch frame follows.
        }
        self.newest = self.newest.max(ev.offset);
        let pane = &mut self.panes[p];
        pane.head = pane.head.max(ev.offset);
        let clock = pane.clock.estimate();
        let panes = self.panes.len();
        if !self.log.deliver(ev, p, panes, at, clock) {
            self.panes[p].duplicates += 1;
            return;
        }
        self.panes[p].offsets.insert(ev.offset);
        if let Some(first) = self.log.trim() {
            for pane in &mut self.panes {
                let had_first = pane.offsets.contains(&first);
                pane.offsets = pane.offsets.clone().split(&first).1;
                if had_first {
                    pane.offsets.insert(first); // `split` keeps neither side's pivot
                }
            }
        }
    }

    /// Pane `p` follows log `epoch`; the first pane to see a new epoch clears the timeline.
    fn adopt(&mut self, p: usize, epoch: String) {
        if self.epoch.as_ref() != Some(&epoch) {
            if self.epoch.is_some() {
                self.log = Log::default();
                self.newest = 0;
                for pane in &mut self.panes {
                    pane.offsets = OrdSet::new();
                    pane.head = 0;
                }
            }
            self.epoch = Some(epoch.clone());
        }
        self.panes[p].epoch = Some(epoch);
    }

    /// Pane `p`'s log was reset: forget its offsets and say so.
    fn reset(&mut self, p: usize, epoch: String, text: Option<String>) {
        let pane = &mut self.panes[p];
        pane.offsets = OrdSet::new();
        pane.head = 0;
        // The server replays the new log from its start, so all of it is this pane's.
        pane.start = Some(0);
        self.adopt(p, epoch);
        if let Some(text) = text {
            self.notify(p, Level::Info, text);
        }
    }

    /// Events the log has that pane `p`'s region has not read yet; `None` until the pane
    /// follows the current log.
    pub fn backlog(&self, p: usize) -> Option<u64> {
        let pane = self.panes.get(p)?;
        (pane.epoch.is_some() && pane.epoch == self.epoch)
            .then(|| self.newest.saturating_sub(pane.head))
    }

    /// The preset every region is on, if they all match one exactly.
    pub fn preset(&self) -> Option<&'static str> {
        crate::sim::preset_of(
            self.panes
                .iter()
                .map(|p| (p.region.name.as_str(), p.sim.settings.as_ref())),
        )
    }

    /// Show `text` in pane `p`; a notice saying the same thing as one shown moves to the
    /// front instead of being shown twice (a publish refused on every retry, say).
    fn notify(&mut self, p: usize, level: Level, text: String) {
        self.next_notice += 1;
        let id = self.next_notice;
        if let Some(pane) = self.panes.get_mut(p) {
            pane.notices.retain(|n| *n.text != *text);
            pane.notices.push(Notice {
                id,
                level,
                text: text.into(),
            });
            let extra = pane.notices.len().saturating_sub(MAX_NOTICES);
            pane.notices.drain(..extra);
        }
    }
}

/// The notice an `error` frame becomes: the code, which publish it is about, the server's
/// words, and what the outbox does with that publish.
fn error_notice(code: &ErrorCode, message: &str, id: Option<&str>, temporary: bool) -> String {
    let about = id.map(|i| format!(" (publish {i})")).unwrap_or_default();
    // The socket's outbox sends such a publish again with its id (see `socket`).
    let then = if temporary && id.is_some() {
        " · retrying"
    } else if id.is_some() {
        " · dropped"
    } else {
        ""
    };
    format!("{code}{about}: {message}{then}")
}

mod pane;

pub use pane::Pane;

#[cfg(test)]
mod tests;
