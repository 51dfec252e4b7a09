//! One region's pane as the state holds it.

use super::{Link, Notice};
use crate::clock::ClockSync;
use crate::error::HttpError;
use crate::outbox_counts::OutboxCounts;
use crate::refusal::Refusal;
use crate::sim::SimView;
use im_rc::OrdSet;
use wire::{BrokerKind, Health, Offset, RegionInfo};

/// Everything one region's pane shows, except the events themselves (those are in [`Log`]).
#[derive(Debug, Clone)]
pub struct Pane {
    /// Region name and base URL.
    pub region: RegionInfo,
    /// Socket state.
    pub link: Link,
    /// The broker the welcome frame named, until health says otherwise.
    pub broker: Option<BrokerKind>,
    /// Last `/health` answer, or why it failed.
    pub health: Option<Result<Health, HttpError>>,
    /// Epoch of the log this pane follows.
    pub epoch: Option<String>,
    /// Offset the pane's first welcome named: older events were never this pane's to get.
    pub start: Option<Offset>,
    /// Offsets this pane got (bounded with the log: trimmed with it).
    pub offsets: OrdSet<Offset>,
    /// Events received a second time (should stay 0: resumes neither skip nor repeat).
    pub duplicates: u64,
    /// Publish frames sent from this pane (a retry counts again).
    pub sent: u64,
    /// Acks received.
    pub acked: u64,
    /// What the socket's outbox holds: queued, in flight, waiting to be retried.
    pub publishes: OutboxCounts,
    /// Why the region refused this page's last attempt to connect, while it does.
    pub refused: Option<Refusal>,
    /// Newest last, at most [`MAX_NOTICES`].
    pub notices: Vec<Notice>,
    /// This region's simulated link to the broker.
    pub sim: SimView,
    /// Newest offset this region is known to have read from the log (its welcome, the events
    /// it sent, its `/health`), in the current epoch.
    pub head: Offset,
    /// This region's clock against the page's ([`crate::clock`]): puts the page's
    /// "delivered" stamps on the region's time line.
    pub clock: ClockSync,
}

/// Field by field, with the offsets compared by identity first: an unchanged set is the same
/// persistent set, so comparing an unchanged pane (component props) does not walk it.
impl PartialEq for Pane {
    fn eq(&self, o: &Self) -> bool {
        let Pane {
            region,
            link,
            broker,
            health,
            epoch,
            start,
            offsets,
            duplicates,
            sent,
            acked,
            publishes,
            refused,
            notices,
            sim,
            head,
            clock,
        } = self;
        (offsets.ptr_eq(&o.offsets) || *offsets == o.offsets)
            && (region, link, broker, health, epoch, start)
                == (&o.region, &o.link, &o.broker, &o.health, &o.epoch, &o.start)
            && (duplicates, sent, acked, notices, sim, head)
                == (
                    &o.duplicates,
                    &o.sent,
                    &o.acked,
                    &o.notices,
                    &o.sim,
                    &o.head,
                )
            && (publishes, refused, clock) == (&o.publishes, &o.refused, &o.clock)
    }
}

impl Pane {
    pub(super) fn new(region: RegionInfo) -> Pane {
        Pane {
            region,
            link: Link::Connecting,
            broker: None,
            health: None,
            epoch: None,
            start: None,
            offsets: OrdSet::new(),
            duplicates: 0,
            sent: 0,
            acked: 0,
            publishes: OutboxCounts::default(),
            refused: None,
            notices: Vec::new(),
            sim: SimView::default(),
            head: 0,
            clock: ClockSync::default(),
        }
    }
}
