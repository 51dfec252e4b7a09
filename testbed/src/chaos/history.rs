//! What a chaos run records: every publish attempt and its outcome, every frame each
//! subscriber received, when faults were applied and healed, and the regions' resources.
//! Times are milliseconds since the run's start ([`History::start`]). The checker reads only
//! this ([`super::checker`]), so a history can be written by hand in a test.

use super::nemesis::RESTORE_KIND;
use std::time::Instant;

/// Milliseconds since the run started.
pub type Ms = u64;

/// One id a publisher published, with every answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// The publisher's id (`<region>-<n>`).
    pub id: String,
    /// The channel it went to.
    pub channel: String,
    /// The region it was published in.
    pub region: String,
    /// Times it was sent (the first and every retry).
    pub attempts: u32,
    /// Every ack it got: offset, whether marked duplicate, when.
    pub acks: Vec<(u64, bool, Ms)>,
    /// A permanent refusal's code, if one came.
    pub refused: Option<String>,
}

impl Publish {
    /// A new id, not sent yet.
    pub fn new(id: String, channel: String, region: &str) -> Publish {
        Publish {
            id,
            channel,
            region: region.to_owned(),
            attempts: 0,
            acks: Vec::new(),
            refused: None,
        }
    }
}

/// How a subscriber behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Stays connected; reconnects (resuming) only when its socket fails.
    Staying,
    /// Also drops its socket every few seconds and resumes in the same region.
    Reconnecting,
    /// Drops its socket every few seconds and resumes in the next region.
    Roaming,
    /// Stays connected but stops reading for 1–8 s every few seconds (a slow client).
    Slow,
}

/// A frame (or a connection change) one subscriber saw, in the order it saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A connection's `welcome`, in `region`: where each channel stood.
    Welcome {
        /// Region connected to.
        region: String,
        /// `(channel, offset, epoch)` of each channel.
        channels: Vec<(String, u64, String)>,
    },
    /// An event.
    Event {
        /// Its channel.
        channel: String,
        /// The epoch the subscriber held for the channel when it came.
        epoch: String,
        /// Its offset.
        offset: u64,
        /// Its id.
        id: String,
    },
    /// A `gap` announcement: `from..=to` of `channel` will not come.
    Gap {
        /// Channel.
        channel: String,
        /// First missing.
        from: u64,
        /// Last missing.
        to: u64,
    },
    /// An `epoch` announcement.
    Epoch {
        /// Channel.
        channel: String,
        /// New epoch.
        epoch: String,
        /// Events of the old epoch after this may be lost.
        lost_after: u64,
    },
    /// `caught_up` of a resume.
    CaughtUp {
        /// Channel.
        channel: String,
        /// Last replayed offset.
        offset: u64,
    },
    /// The connection ended (failed, went silent, or was dropped on purpose).
    Closed,
}

/// One subscriber's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// `sub-<n>@<region>`.
    pub name: String,
    /// How it behaves.
    pub behaviour: Behaviour,
    /// The channels it follows from its first `welcome` on.
    pub channels: Vec<String>,
    /// What it saw, with when.
    pub seen: Vec<(Ms, Seen)>,
}

/// One sample of a region process's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When.
    pub at: Ms,
    /// Which process (a restart is a new one).
    pub pid: u32,
    /// Resident set, KiB.
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: u64,
}

/// How long after a restore an ack may still be of an event it lost (ms).
pub const RESTORE_SLACK: Ms = 2000;

/// A region's members of a channel after the run: their count and the answer's body, or why
/// it could not be read.
pub type PresenceLeft = Result<(usize, String), String>;

/// A region's list of a channel against the subscribers connected then: the ids listed but
/// not connected (ghosts) and those connected but not listed (missed), or why it could not
/// be read.
pub type ListedDiff = Result<(Vec<String>, Vec<String>), String>;

/// Everything a run recorded.
#[derive(Debug, Clone)]
pub struct History {
    /// When the run started.
    pub start: Instant,
    /// Whether acks wait for a replica (`--acks replicas:1`): then no announcement is allowed.
    pub durable: bool,
    /// Whether any `gap` or `epoch` announcement, and any second delivery of an event (also
    /// across epochs), is a violation.
    pub strict: bool,
    /// Every id published, in the order they were first sent per publisher.
    pub publishes: Vec<Publish>,
    /// Every subscriber.
    pub subscribers: Vec<Subscriber>,
    /// When each fault was healed (a storm: when it happened).
    pub heals: Vec<Ms>,
    /// Faults applied, by description, with start and heal times.
    pub faults: Vec<(String, &'static str, Ms, Option<Ms>)>,
    /// Resource samples per region (`as`, `us`, `eu`).
    pub resources: [Vec<Sample>; 3],
    /// When the quiet period began (every fault healed).
    pub quiet_at: Option<Ms>,
    /// After every client closed: each region's `GET /presence` count of a channel every
    /// subscriber followed (none left means no ghosts) with the answer's body, or why it
    /// could not be read.
    pub presence_after: Vec<(String, PresenceLeft)>,
    /// Once the run settled, every subscriber connected: per (region, channel), the
    /// difference between its `GET /presence` list and the connected subscribers.
    pub presence_connected: Vec<(String, String, ListedDiff)>,
}

impl History {
    /// An empty history, starting now.
    pub fn new(durable: bool) -> History {
        History {
            start: Instant::now(),
            durable,
            strict: false,
            publishes: Vec::new(),
            subscribers: Vec::new(),
            heals: Vec::new(),
            faults: Vec::new(),
            resources: Default::default(),
            quiet_at: None,
            presence_after: Vec::new(),
            presence_connected: Vec::new(),
        }
    }

    /// Whether an event acked at `ms` may be lost to a restore of an older snapshot
    /// ([`RESTORE_KIND`]): acked after the snapshot was taken and at most [`RESTORE_SLACK`]
    /// after the restore (an ack of an event stored just before the kill may come after it).
    /// Such a loss must be announced; it is not a broken durable ack.
    pub fn lost_to_restore(&self, ms: Ms) -> bool {
        self.faults.iter().any(|(_, kind, start, heal)| {
            *kind == RESTORE_KIND && *start < ms && heal.is_none_or(|h| ms <= h + RESTORE_SLACK)
        })
    }

    /// Milliseconds since the start.
    pub fn now(&self) -> Ms {
        self.start.elapsed().as_millis() as Ms
    }
}
