//! The simulated WAN between a region and the broker: the JSON body of `GET`/`PUT /sim`.
//!
//! This is a test and demo facility (fault injection, latency), not part of the WebSocket
//! protocol: a client that only talks `/ws` never sees these types. The server applies them in
//! `server-core`'s `sim` module; the UI edits them through `/sim`.

use serde::{Deserialize, Serialize};

/// Simulated network conditions between one region and the broker (`GET`/`PUT /sim`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSettings {
    /// One-way delay added to each direction of the region's broker traffic, in ms.
    pub latency_ms: u32,
    /// Up to this many extra ms, drawn uniformly per crossing.
    pub jitter_ms: u32,
    /// When true, every broker operation of the region fails as if its link were severed.
    pub cut_off: bool,
    /// When true, the region's live read hangs without answering (a silent stall); the
    /// region's liveness check notices and recovers once it is cleared. For fault drills.
    pub stalled: bool,
}

impl LinkSettings {
    /// Largest accepted latency or jitter, in milliseconds.
    pub const MAX_MS: u32 = 10_000;

    /// True when any setting differs from "off": the region then routes its broker traffic
    /// through the simulated link; otherwise it talks to the broker directly.
    pub fn is_active(&self) -> bool {
        *self != LinkSettings::default()
    }

    /// Refuse settings outside the documented range.
    pub fn validate(&self) -> Result<(), OutOfRange> {
        if self.latency_ms > Self::MAX_MS || self.jitter_ms > Self::MAX_MS {
            return Err(OutOfRange);
        }
        Ok(())
    }
}

/// Link settings outside the documented range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("latency_ms and jitter_ms must be at most {}", LinkSettings::MAX_MS)]
pub struct OutOfRange;

/// Named presets of [`LinkSettings`] per region.
pub mod presets {
    use super::LinkSettings;

    /// Preset names, in the order a UI lists them.
    pub const NAMES: [&str; 2] = ["off", "global"];

    /// The settings preset `name` gives `region`, or `None` for an unknown preset.
    /// `global`: US↔broker 20 ms, EU↔broker 45 ms, AS↔broker 90 ms one way, jitter ≈10 %;
    /// other region names get 60 ms.
    pub fn settings(name: &str, region: &str) -> Option<LinkSettings> {
        let latency_ms = match name {
            "off" => 0,
            "global" => match region {
                "us" => 20,
                "eu" => 45,
                "as" => 90,
                _ => 60,
            },
            _ => return None,
        };
        Some(LinkSettings {
            latency_ms,
            jitter_ms: latency_ms / 10,
            cut_off: false,
            stalled: false,
        })
    }
}
