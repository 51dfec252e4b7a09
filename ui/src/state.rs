//! The UI's state: a pure reducer over what the sockets, the health polls and the user did.
//!
//! Nothing here touches the DOM or the network, so it is unit-tested natively. Per event the
//! reducer does O(log n) work on persistent maps (see [`crate::log`]); sockets hand frames
//! over in batches ([`Action::Batch`]), so a burst re-renders a few times, not per event.
//!
//! Every channel is its own log, with its own epoch and offsets ([`ChannelLog`]); each pane
//! follows the channels its person chose ([`Pane::follows`]) and keeps, per channel its
//! socket is subscribed to, where that feed stands ([`Feed`]), and per channel who is online
//! ([`crate::presence::Roster`]); the joins and leaves every pane was told of are
//! [`State::presence`], the timeline's presence rows. What the frames do is in `frames.rs`.

use crate::channels::{Channel, Follows};
use crate::clock::Sample;
use crate::error::{HttpError, RegionsError};
use crate::export::{OpenError, Opened};
use crate::log::{Log, RowKey};
use crate::outbox_counts::OutboxCounts;
use crate::presence::Changes;
use crate::refusal::Refusal;
use crate::scenario::{Scenario, ScenarioEvent};
use crate::sim::SimEvent;
use im_rc::OrdMap;
use std::rc::Rc;
use wire::{BrokerStatus, ErrorCode, Health, Micros, Offset, RegionInfo, ServerFrame, GLOBAL};
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
    /// Every join and leave any pane was told of (bounded), each once.
    pub presence: Changes,
    /// Every channel a pane has followed: the epoch of its rows in `log`, its newest offset.
    pub channels: OrdMap<Channel, ChannelLog>,
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

/// What the state knows of one channel's log.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelLog {
    /// Epoch of the channel's rows in [`State::log`].
    pub epoch: String,
    /// Newest offset known to be in that log (from any pane's events, acks or subscriptions,
    /// or, for `global`, a region's `/health`): what every region should have read by now.
    pub newest: Offset,
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
    /// The rows of these `(pane, row)` deliveries were painted at this time (the page's
    /// clock), µs: render times, measured while [`State::show_render`] is on.
    Painted(Micros, Vec<(usize, RowKey)>),
    /// Show render times on the timeline (or stop).
    ShowRender(bool),
    /// Pane `pane`'s clients now follow these channels (its socket subscribes and
    /// unsubscribes to match).
    Follow(usize, Follows),
    /// Pane `pane`'s client goes by this display name from now (its socket connects again
    /// with it: the old member leaves, the new one joins).
    Name(usize, String),
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
            Action::Link(p, link) => self.on_pane(p, |pane| {
                // Closed: who is online is not known until the next connection's lists.
                if matches!(link, Link::Reconnecting { .. }) {
                    pane.presence = OrdMap::new();
                    pane.me = None;
                }
                pane.link = link;
            }),
            Action::Health(p, h) => self.health(p, h),
            Action::Clock(p, sample) => self.on_pane(p, |pane| {
                pane.clock.add(sample);
            }),
            Action::Painted(at, painted) => {
                for (p, key) in painted {
                    self.log.painted(&key, p, at);
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
            Action::Follow(p, follows) => self.on_pane(p, |pane| pane.follow(follows)),
            Action::Name(p, name) => self.on_pane(p, |pane| pane.name = name.into()),
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

    /// Pane `p`'s `/health` answered: its broker, and how far its region has read `global`
    /// (what `/health` reports; when it is about the log the timeline shows).
    fn health(&mut self, p: usize, h: Result<Health, HttpError>) {
        let Some(pane) = self.panes.get_mut(p) else {
            return;
        };
        if let Ok(h) = &h {
            pane.broker = Some(h.broker);
            if let Some(log) = (self.channels.get_mut(GLOBAL)).filter(|l| l.epoch == h.epoch) {
                log.newest = log.newest.max(h.offset);
                if let Some(feed) = pane.feeds.get_mut(GLOBAL).filter(|f| f.epoch == h.epoch) {
                    feed.head = feed.head.max(h.offset);
                }
            }
        }
        pane.health = Some(h);
    }

    /// Events of its channels the log has that pane `p`'s region has not read yet; `None`
    /// until the pane follows a channel's current log.
    pub fn backlog(&self, p: usize) -> Option<u64> {
        let pane = self.panes.get(p)?;
        let behind: Vec<u64> = (pane.feeds.iter())
            .filter_map(|(c, feed)| {
                let log = self.channels.get(c).filter(|l| l.epoch == feed.epoch)?;
                Some(log.newest.saturating_sub(feed.head))
            })
            .collect();
        (!behind.is_empty()).then(|| behind.iter().sum())
    }

    /// The epoch of `global`'s log, once a pane follows it.
    pub fn global_epoch(&self) -> Option<String> {
        self.channels.get(GLOBAL).map(|l| l.epoch.clone())
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

mod frames;
mod pane;

pub use pane::{guest_name, Feed, Pane};

#[cfg(test)]
mod tests;
