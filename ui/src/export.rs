//! The sync timeline as a file: exported as JSON (to open again later, in this page or
//! another) or CSV (one line per event and region, for a spreadsheet), and read back.
//!
//! Pure, so both directions are unit-tested natively; the download and the file picker are in
//! [`crate::platform`].
//!
//! The JSON format (`"format": "multiregion-timeline"`, `"version": 1`) names the regions in
//! pane order and gives every event, with its `channel` and its `offset` there (absent in
//! exports older than channels: `global`), and each hop it made: `published_at` (origin's clock),
//! `stored_at` (broker's), and per region `received_at` (that region's clock) and
//! `delivered_at` (the page's clock when the frame arrived), all Unix microseconds; where the
//! page had measured the region's clock, `clock_offset_us` (region minus page) and
//! `clock_uncertainty_us` put `delivered_at` on the region's time line, and `painted_at`
//! (the page's clock) is when the row was painted, if render times were being measured.
//! Those three are optional (absent in older exports). `feeds` (optional too) says, per
//! region in pane order, which channels its pane followed and the offset each feed started
//! after: which events were due to reach it, so a recording shows "waiting" where the live
//! page did. `presence` (optional) lists the joins and leaves the timeline showed
//! ([`presence`]); the CSV leaves them out.

use crate::clock::ClockOffset;
use crate::error::FileError;
use crate::log::{Delivery, Log, Row};
use crate::presence::Changes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::rc::Rc;
use wire::{Micros, Offset};

/// A pane's feeds: per channel it followed, the offset its feed started after.
pub type Starts = BTreeMap<String, Offset>;

/// The `format` field of every export.
pub const FORMAT: &str = "multiregion-timeline";

/// A timeline as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Always [`FORMAT`].
    pub format: String,
    /// 1.
    pub version: u32,
    /// When it was exported (the page's clock), µs.
    pub exported_at: Micros,
    /// Region names, in pane order.
    pub regions: Vec<String>,
    /// Per region, in pane order, the channels its pane followed and where each feed
    /// started; absent when unknown (older exports: every event was due everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feeds: Option<Vec<Starts>>,
    /// Events, channel by channel, each channel's oldest first.
    pub events: Vec<RecordedEvent>,
    /// Joins and leaves, oldest first ([`presence`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presence: Vec<RecordedChange>,
}

/// One event and its hops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// The channel it belongs to.
    #[serde(default = "wire::channel::global")]
    pub channel: String,
    /// Position in its channel.
    pub offset: Offset,
    /// Publisher's id.
    pub id: String,
    /// Region it was published in.
    pub origin: String,
    /// Event kind.
    pub kind: String,
    /// What the timeline showed of its payload.
    pub text: String,
    /// The origin accepted it (origin's clock), µs.
    pub published_at: Micros,
    /// The broker stored it (broker's clock), µs.
    pub stored_at: Micros,
    /// Its copies, one per region that got it.
    pub deliveries: Vec<RecordedDelivery>,
}

/// One region's copy of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedDelivery {
    /// The region.
    pub region: String,
    /// Its server read the event from the broker (its clock), µs.
    pub received_at: Micros,
    /// The page's socket got the frame (the page's clock), µs.
    pub delivered_at: Micros,
    /// Sent from history on a resume rather than live.
    pub replay: bool,
    /// The region's clock minus the page's, as measured when the frame arrived, µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_us: Option<i64>,
    /// How sure that offset is (±), µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_uncertainty_us: Option<Micros>,
    /// The row was painted (the page's clock), µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub painted_at: Option<Micros>,
}

/// The timeline `log` of panes named `regions` (whose feeds started where `feeds` says, when
/// known), as a [`Recording`] taken at `now`.
pub fn record(log: &Log, regions: &[String], feeds: Option<Vec<Starts>>, now: Micros) -> Recording {
    let events = log
        .rows()
        .map(|r| RecordedEvent {
            channel: r.channel.to_string(),
            offset: r.offset,
            id: r.id.to_string(),
            origin: r.origin.to_string(),
            kind: r.kind.to_string(),
            text: r.text.to_string(),
            published_at: r.published_at,
            stored_at: r.stored_at,
            deliveries: (r.delivered.iter().enumerate())
                .filter_map(|(i, d)| Some((regions.get(i)?, (*d)?)))
                .map(|(region, d)| RecordedDelivery {
                    region: region.clone(),
                    received_at: d.received_at,
                    delivered_at: d.at,
                    replay: d.replay,
                    clock_offset_us: d.clock.map(|c| c.offset),
                    clock_uncertainty_us: d.clock.map(|c| c.uncertainty),
                    painted_at: d.painted,
                })
                .collect(),
        })
        .collect();
    Recording {
        format: FORMAT.into(),
        version: 1,
        exported_at: now,
        regions: regions.to_vec(),
        feeds,
        events,
        presence: Vec::new(),
    }
}

/// Pretty JSON of `rec`.
pub fn to_json(rec: &Recording) -> String {
    serde_json::to_string_pretty(rec).unwrap_or_default()
}

/// CSV of `rec`: a header, then one line per event and region that got it (an event no
/// region got has one line with the region columns empty). The channel is the last column,
/// added with channels, so that the columns every older sheet reads stay where they were.
pub fn to_csv(rec: &Recording) -> String {
    let mut out = String::from(
        "offset,id,origin,kind,text,published_at_us,stored_at_us,region,received_at_us,delivered_at_us,replay,channel\n",
    );
    for e in &rec.events {
        let head = [
            e.offset.to_string(),
            csv(&e.id),
            csv(&e.origin),
            csv(&e.kind),
            csv(&e.text),
            e.published_at.to_string(),
            e.stored_at.to_string(),
        ]
        .join(",");
        let channel = csv(&e.channel);
        if e.deliveries.is_empty() {
            out.push_str(&format!("{head},,,,,{channel}\n"));
        }
        for d in &e.deliveries {
            out.push_str(&format!(
                "{head},{},{},{},{},{channel}\n",
                csv(&d.region),
                d.received_at,
                d.delivered_at,
                d.replay
            ));
        }
    }
    out
}

/// A CSV field: quoted when it holds a comma, quote or line break (quotes doubled).
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Why a text is not a timeline export this page reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnExport {
    /// Not JSON of a [`Recording`]; what serde said.
    #[error("not a timeline export ({0})")]
    Unreadable(String),
    /// A recording of another format or version.
    #[error("not a timeline export this page reads (format {format:?}, version {version})")]
    OtherFormat {
        /// Its `format` field.
        format: String,
        /// Its `version` field.
        version: u32,
    },
}

/// Why a file the person picked did not open as a recording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenFailure {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] FileError),
    /// It was read, and is not an export.
    #[error(transparent)]
    NotAnExport(#[from] NotAnExport),
}

/// A file that did not open, with why: what the timeline's file bar shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {why}")]
pub struct OpenError {
    /// The file's name.
    pub file: String,
    /// Why.
    pub why: OpenFailure,
}

/// Read a JSON export back: the recording, or why it is not one.
pub fn from_json(text: &str) -> Result<Recording, NotAnExport> {
    let rec: Recording =
        serde_json::from_str(text).map_err(|e| NotAnExport::Unreadable(e.to_string()))?;
    if rec.format != FORMAT || rec.version != 1 {
        return Err(NotAnExport::OtherFormat {
            format: rec.format,
            version: rec.version,
        });
    }
    Ok(rec)
}

/// The log a recording shows (events beyond [`crate::log::MAX_EVENTS`] are dropped, oldest
/// first, as in a live page).
pub fn to_log(rec: &Recording) -> Log {
    let mut log = Log::default();
    for e in &rec.events {
        let delivered = (rec.regions.iter())
            .map(|name| {
                let d = e.deliveries.iter().find(|d| &d.region == name)?;
                Some(Delivery {
                    at: d.delivered_at,
                    received_at: d.received_at,
                    replay: d.replay,
                    clock: d.clock_offset_us.map(|offset| ClockOffset {
                        offset,
                        uncertainty: d.clock_uncertainty_us.unwrap_or(0),
                    }),
                    painted: d.painted_at,
                })
            })
            .collect();
        log.insert(Row {
            channel: e.channel.as_str().into(),
            offset: e.offset,
            id: e.id.as_str().into(),
            origin: e.origin.as_str().into(),
            kind: e.kind.as_str().into(),
            text: e.text.as_str().into(),
            published_at: e.published_at,
            stored_at: e.stored_at,
            delivered,
        });
        log.trim();
    }
    log
}

/// A recording opened to look at, as the state holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The file's name.
    pub name: String,
    /// When it was exported, µs.
    pub exported_at: Micros,
    /// Its regions, in pane order.
    pub regions: Vec<String>,
    /// Where each region's feeds started, when the export says.
    pub feeds: Option<Vec<Starts>>,
    /// Its events.
    pub log: Log,
    /// Its joins and leaves.
    pub presence: Changes,
}

impl Opened {
    /// `rec`, read from the file `name`.
    pub fn new(name: String, rec: &Recording) -> Rc<Opened> {
        Rc::new(Opened {
            name,
            exported_at: rec.exported_at,
            regions: rec.regions.clone(),
            feeds: rec.feeds.clone(),
            log: to_log(rec),
            presence: to_changes(rec),
        })
    }
}

pub mod presence;

pub use presence::{to_changes, RecordedChange, RecordedSeen};

#[cfg(test)]
mod tests;
