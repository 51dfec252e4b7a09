//! The event model: what a publisher hands a region, and what the log stores.
//!
//! # The payload stays raw
//! A payload is JSON text from the moment a publish frame is decoded (and validated, once)
//! to the moment it goes out in an event frame: it is never parsed into a tree, re-serialized
//! or copied per client. The event frame is serialized once per region (by its feed) and
//! shared by every client. Events read back from Redis are checked to be JSON as they are
//! read (they come from outside the process), without building a tree either.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
pub use wire::{Micros, Offset};

/// A payload: JSON text, validated once when it entered the system.
pub type Payload = Box<RawValue>;

/// `value` as a [`Payload`] (for code that builds payloads, e.g. tests and Socket.IO).
pub fn payload(value: &serde_json::Value) -> Payload {
    serde_json::value::to_raw_value(value).expect("a JSON value always serializes")
}

/// An event accepted by a region, not yet stored in the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewEvent {
    /// Publisher-chosen id; the log stores each id once (within its history window).
    pub id: String,
    /// Region that accepted the publish.
    pub origin: String,
    /// Event kind.
    pub kind: String,
    /// Event payload, as the publisher sent it (JSON text).
    pub payload: Payload,
    /// When the origin region accepted it.
    pub published_at: Micros,
}

impl PartialEq for NewEvent {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.origin == other.origin
            && self.kind == other.kind
            && self.payload.get() == other.payload.get()
            && self.published_at == other.published_at
    }
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

/// The `event` frame as it is serialized: the shape of `wire::ServerFrame::Event` (a test
/// keeps them equal), with the payload borrowed raw instead of parsed.
#[derive(Serialize)]
struct EventOut<'a> {
    #[serde(rename = "type")]
    tag: &'static str,
    offset: Offset,
    id: &'a str,
    origin: &'a str,
    kind: &'a str,
    payload: &'a RawValue,
    published_at: Micros,
    stored_at: Micros,
    received_at: Micros,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    replay: bool,
}

impl StoredEvent {
    /// The text of the `event` frame for this event as received by a region at
    /// `received_at` (`replay`: sent from history to a resuming client).
    pub fn frame_text(&self, received_at: Micros, replay: bool) -> String {
        let e = &self.event;
        serde_json::to_string(&EventOut {
            tag: "event",
            offset: self.offset,
            id: &e.id,
            origin: &e.origin,
            kind: &e.kind,
            payload: &e.payload,
            published_at: e.published_at,
            stored_at: self.stored_at,
            received_at,
            replay,
        })
        .expect("event frames always serialize")
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

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{EventFrame, ServerFrame};

    /// The raw frame is byte for byte what the wire type serializes to, live and replayed.
    #[test]
    fn the_raw_event_frame_is_the_documented_one() {
        let value = serde_json::json!({"x": [1, 2.5, "é\"\\"], "y": null});
        for replay in [false, true] {
            let stored = StoredEvent {
                offset: 7,
                stored_at: 2,
                event: NewEvent {
                    id: "a\"1".into(),
                    origin: "as".into(),
                    kind: "k".into(),
                    payload: payload(&value),
                    published_at: 1,
                },
            };
            let wire = ServerFrame::Event(EventFrame {
                offset: 7,
                id: "a\"1".into(),
                origin: "as".into(),
                kind: "k".into(),
                payload: value.clone(),
                published_at: 1,
                stored_at: 2,
                received_at: 3,
                replay,
            });
            assert_eq!(
                stored.frame_text(3, replay),
                serde_json::to_string(&wire).unwrap()
            );
        }
    }

    /// A payload keeps its publisher's spelling: it is not re-serialized on the way.
    #[test]
    fn the_payload_is_passed_through_as_sent() {
        let sent = r#"{"b":1, "a" : [ 1.50 ]}"#;
        let event = NewEvent {
            id: "i".into(),
            origin: "eu".into(),
            kind: "k".into(),
            payload: RawValue::from_string(sent.into()).unwrap(),
            published_at: 0,
        };
        let stored = StoredEvent {
            offset: 1,
            stored_at: 0,
            event,
        };
        assert!(stored.frame_text(0, false).contains(sent));
    }
}
