//! Joins and leaves in a timeline export: `presence` of the JSON format (optional, absent
//! when there were none and in exports older than presence). The CSV stays one line per
//! event and region: it has no place for them.

use super::Recording;
use crate::presence::{Change, Changes, Kind};
use serde::{Deserialize, Serialize};
use wire::{Member, Micros};

/// One join or leave as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedChange {
    /// The channel.
    pub channel: String,
    /// `"join"` or `"leave"`.
    pub kind: String,
    /// Who (`since`: when it joined, its region's clock, µs).
    pub member: Member,
    /// Per region that was told of it: when its pane's socket got the frame, on that region's
    /// time line (the page's clock moved by the offset measured then), µs.
    pub seen: Vec<RecordedSeen>,
    /// The region whose pane's own client the member was (that pane was not due it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own: Option<String>,
    /// The regions whose panes learnt of it from a `presence` list, not its frame.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<String>,
}

/// One region's pane told of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedSeen {
    /// The region.
    pub region: String,
    /// When, µs.
    pub at: Micros,
}

impl Recording {
    /// This recording with the joins and leaves `changes` (of panes named `regions`).
    pub fn with_presence(mut self, changes: &Changes) -> Recording {
        self.presence = (changes.iter())
            .map(|c| RecordedChange {
                channel: c.channel.to_string(),
                kind: c.kind.as_str().into(),
                member: c.member.clone(),
                seen: (c.seen.iter().enumerate())
                    .filter_map(|(i, at)| Some((self.regions.get(i)?, (*at)?)))
                    .map(|(region, at)| RecordedSeen {
                        region: region.clone(),
                        at,
                    })
                    .collect(),
                own: c.own.and_then(|p| self.regions.get(p).cloned()),
                listed: (c.listed.iter())
                    .filter_map(|p| self.regions.get(*p).cloned())
                    .collect(),
            })
            .collect();
        self
    }
}

/// The joins and leaves a recording shows (one of another kind than join or leave, from a
/// newer page, is left out).
pub fn to_changes(rec: &Recording) -> Changes {
    let mut changes = Changes::default();
    for c in &rec.presence {
        let kind = match c.kind.as_str() {
            "join" => Kind::Join,
            "leave" => Kind::Leave,
            _ => continue,
        };
        let seen = (rec.regions.iter())
            .map(|name| c.seen.iter().find(|s| &s.region == name).map(|s| s.at))
            .collect();
        changes.insert(Change {
            channel: c.channel.as_str().into(),
            kind,
            member: c.member.clone(),
            seen,
            own: (c.own.as_ref()).and_then(|r| rec.regions.iter().position(|n| n == r)),
            listed: (c.listed.iter())
                .filter_map(|r| rec.regions.iter().position(|n| n == r))
                .collect(),
        });
    }
    changes
}
