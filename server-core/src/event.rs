//! The event model: what a publisher hands a region, and what the log stores.

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use wire::{Micros, Offset};

/// An event accepted by a region, not yet stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Publisher-chosen id; the log stores each id once (within its history window).
    pub id: String,
    /// Region that accepted the publish.
    pub origin: String,
    /// Event kind.
    pub kind: String,
    /// Event payload.
    pub payload: Value,
    /// When the origin region accepted it.
    pub published_at: Micros,
}

/// An event as stored in the log, with its offset and the broker's store time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the log (1-based, dense, the same for every reader).
    pub offset: Offset,
    /// When the broker stored it.
    pub stored_at: Micros,
    /// The event itself.
    pub event: NewEvent,
}

impl StoredEvent {
    /// The wire frame for this event as received by a region at `received_at`.
    pub fn to_frame(&self, received_at: Micros, replay: bool) -> wire::EventFrame {
        wire::EventFrame {
            offset: self.offset,
            id: self.event.id.clone(),
            origin: self.event.origin.clone(),
            kind: self.event.kind.clone(),
            payload: self.event.payload.clone(),
            published_at: self.event.published_at,
            stored_at: self.stored_at,
            received_at,
            replay,
        }
    }
}

/// Microseconds since the Unix epoch from this process's clock.
pub fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as Micros)
        .unwrap_or(0)
}

/// A fresh random epoch: 16 hex digits.
pub fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}
