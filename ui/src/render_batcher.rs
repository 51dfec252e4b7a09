//! The render batcher: every socket drops the frames it receives here, so that the reducer
//! (and the render after it) runs once per [`FLUSH_MS`] (or [`FLOOD_FLUSH_MS`] during a
//! flood) for all regions together, not once per frame.
//!
//! Each frame is stamped with the browser's clock when it arrives, so batching does not
//! change the delivery times shown. The sockets' outbox counts ride along: only the latest
//! per pane is kept, handed over with the next batch.
//!
//! While render times are measured ([`RenderBatcher::measure_paint`]), each batch's events are noted
//! once more in the animation frame after the batch ([`Action::Painted`]): a second, cheap
//! update per batch, none while the measure is off.

use crate::log::RowKey;
use crate::outbox_counts::OutboxCounts;
use crate::platform::next_frame;
use crate::state::Action;
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use wire::{Micros, ServerFrame};
use yew::Callback;

/// How long arriving frames are gathered before the reducer sees them.
pub const FLUSH_MS: u32 = 100;

/// During a flood (the last batch, handed over less than this long ago, had more than
/// [`FLOOD`] frames) batches are gathered for this long instead: rendering is what costs, and
/// every render re-creates the rows that scrolled into the newest-N windows, so fewer renders
/// keep the page responsive. Once a flood is over (no batch for this long), the next frames
/// wait only [`FLUSH_MS`] again: the render time of the first event after a burst showed
/// a whole second otherwise.
pub const FLOOD_FLUSH_MS: u32 = 1_000;

/// Frames per batch above which the batcher switches to [`FLOOD_FLUSH_MS`].
pub const FLOOD: usize = 300;

struct Inner {
    frames: Vec<(usize, ServerFrame, Micros)>,
    /// Latest outbox counts per pane, and whether they changed since the last hand-over
    /// (one entry per pane).
    pending: BTreeMap<usize, (OutboxCounts, bool)>,
    timer: Option<Timeout>,
    dispatch: Callback<Action>,
    /// Size of the last batch handed over.
    last: usize,
    /// When it was handed over (`Date.now()`, ms).
    last_at: f64,
    /// Note when each batch's rows are painted.
    measure_paint: bool,
}

/// Gathers the frames of every pane's socket into one [`Action::Batch`] per tick; shared by
/// the sockets of all panes.
#[derive(Clone)]
pub struct RenderBatcher(Rc<RefCell<Inner>>);

impl PartialEq for RenderBatcher {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl RenderBatcher {
    /// An empty batcher that hands batches to `dispatch`.
    pub fn new(dispatch: Callback<Action>) -> RenderBatcher {
        RenderBatcher(Rc::new(RefCell::new(Inner {
            frames: Vec::new(),
            pending: BTreeMap::new(),
            timer: None,
            dispatch,
            last: 0,
            last_at: 0.0,
            measure_paint: false,
        })))
    }

    /// Add a frame pane `pane` received at `at`; it reaches the reducer within [`FLUSH_MS`].
    pub fn push(&self, pane: usize, frame: ServerFrame, at: Micros) {
        self.0.borrow_mut().frames.push((pane, frame, at));
        self.arm();
    }

    /// Pane `pane`'s outbox now holds `counts`; reaches the reducer with the next batch
    /// (unchanged counts are not sent again).
    pub fn publishes(&self, pane: usize, counts: OutboxCounts) {
        {
            let mut i = self.0.borrow_mut();
            if i.pending.get(&pane).is_some_and(|(c, _)| *c == counts) {
                return;
            }
            i.pending.insert(pane, (counts, true));
        }
        self.arm();
    }

    /// Measure render times from the next batch on (or stop).
    pub fn measure_paint(&self, on: bool) {
        self.0.borrow_mut().measure_paint = on;
    }

    /// Start the flush timer unless it runs.
    fn arm(&self) {
        let mut i = self.0.borrow_mut();
        if i.timer.is_none() {
            let weak: Weak<RefCell<Inner>> = Rc::downgrade(&self.0);
            let flooding =
                i.last > FLOOD && js_sys::Date::now() - i.last_at < f64::from(FLOOD_FLUSH_MS);
            let wait = if flooding { FLOOD_FLUSH_MS } else { FLUSH_MS };
            i.timer = Some(Timeout::new(wait, move || {
                if let Some(rc) = weak.upgrade() {
                    RenderBatcher(rc).flush();
                }
            }));
        }
    }

    /// Hand everything gathered to the reducer now.
    pub fn flush(&self) {
        let (frames, pending, dispatch, measure) = {
            let mut i = self.0.borrow_mut();
            i.timer = None;
            i.last = i.frames.len();
            i.last_at = js_sys::Date::now();
            let pending: Vec<(usize, OutboxCounts)> = (i.pending.iter_mut())
                .filter(|(_, (_, dirty))| *dirty)
                .map(|(pane, (counts, dirty))| {
                    *dirty = false;
                    (*pane, counts.clone())
                })
                .collect();
            let measure = i.measure_paint;
            (
                std::mem::take(&mut i.frames),
                pending,
                i.dispatch.clone(),
                measure,
            )
        };
        if !frames.is_empty() {
            let events: Vec<(usize, RowKey)> = (frames.iter())
                .filter(|_| measure)
                .filter_map(|(p, f, _)| match f {
                    ServerFrame::Event(ev) => Some((
                        *p,
                        RowKey {
                            channel: ev.channel.as_str().into(),
                            offset: ev.offset,
                        },
                    )),
                    _ => None,
                })
                .collect();
            dispatch.emit(Action::Batch(frames));
            if !events.is_empty() {
                let dispatch = dispatch.clone();
                next_frame(move |at| dispatch.emit(Action::Painted(at, events)));
            }
        }
        for (pane, counts) in pending {
            dispatch.emit(Action::Publishes(pane, counts));
        }
    }
}
