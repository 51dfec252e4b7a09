//! The event model: what a publisher hands a region, and what the log stores.
//!
//! # The payload stays raw
//! A payload is JSON text from the moment a publish frame is decoded (and validated, once)
//! to the moment it goes out in an event frame: it is never parsed into a tree, re-serialized
//! or copied per client. The event frame ([`wire::EventRef`], borrowed from the stored event)
//! is serialized once per region (by its feed) and shared by every client. Events read back from Redis are checked to be JSON as they are
//! read (they come from outside the process), without building a tree either.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use wire::EventRef;
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
    /// Publisher-chosen id; the log stores each id once per channel (within its history
    /// window).
    pub id: String,
    /// The channel it belongs to.
    pub channel: String,
    /// Region that accepted the publish.
    pub origin: String,
    /// Event kind.
    pub kind: String,
    /// Event payload, as the publisher sent it (JSON text).
    pub payload: Payload,
    /// When the origin region accepted it.
    pub published_at: Micros,
    /// Store it only after the event of this id in the same channel (the publisher's
    /// previous one, still at the broker when this one was sent): if that one is not stored,
    /// this one is refused as out of order (a temporary error; retry both, in order). Not
    /// stored with the event.
    pub after: Option<String>,
}

impl PartialEq for NewEvent {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.channel == other.channel
            && self.origin == other.origin
            && self.kind == other.kind
            && self.payload.get() == other.payload.get()
            && self.published_at == other.published_at
    }
}

/// An event as stored in the log, with its offsets and the broker's store time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Offset in its channel (1-based, dense per channel, the same for every reader).
    pub offset: Offset,
    /// Position in its partition's log (1-based, dense per partition): where the region's
    /// feed of that partition stands. Not part of the protocol.
    pub position: Offset,
    /// When the broker stored it.
    pub stored_at: Micros,
    /// The event itself.
    pub event: NewEvent,
}

impl StoredEvent {
    /// The `event` frame of this event as received by a region at `received_at` (`replay`:
    /// sent from history to a resuming client), borrowed from it.
    pub fn frame(&self, received_at: Micros, replay: bool) -> EventRef<'_> {
        let e = &self.event;
        EventRef {
            channel: &e.channel,
            offset: self.offset,
            id: &e.id,
            origin: &e.origin,
            kind: &e.kind,
            payload: &e.payload,
            published_at: e.published_at,
            stored_at: self.stored_at,
            received_at,
            replay,
        }
    }

    /// The text of [`Self::frame`].
    pub fn frame_text(&self, received_at: Micros, replay: bool) -> String {
        self.frame(received_at, replay).to_text()
    }
}

/// What the log stores of an event besides its offsets, channel, id and store time (which the
/// log keeps in fields of their own, once): the JSON of the `d` field of a Redis entry.
#[derive(Serialize)]
pub(crate) struct Body<'a> {
    origin: &'a str,
    kind: &'a str,
    payload: &'a RawValue,
    published_at: Micros,
}

impl NewEvent {
    /// The event's body as the log stores it (everything but its id and channel).
    pub(crate) fn body(&self) -> Body<'_> {
        Body {
            origin: &self.origin,
            kind: &self.kind,
            payload: &self.payload,
            published_at: self.published_at,
        }
    }

    /// The event of id `id` on `channel` from a stored body (fields it does not know are
    /// ignored).
    pub(crate) fn from_body(
        id: String,
        channel: String,
        body: &[u8],
    ) -> serde_json::Result<NewEvent> {
        #[derive(Deserialize)]
        struct Owned {
            origin: String,
            kind: String,
            payload: Payload,
            published_at: Micros,
        }
        let b: Owned = serde_json::from_slice(body)?;
        Ok(NewEvent {
            id,
            channel,
            origin: b.origin,
            kind: b.kind,
            payload: b.payload,
            published_at: b.published_at,
            after: None,
        })
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

    /// The stored body round-trips without the id and channel, and a body that also holds
    /// them still reads.
    #[test]
    fn the_body_keeps_the_fields_once() {
        let event = NewEvent {
            id: "a\"1".into(),
            channel: "c".into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: RawValue::from_string(r#"{"b":1, "a" : [ 1.50 ]}"#.into()).unwrap(),
            published_at: 9,
            after: None,
        };
        let body = serde_json::to_string(&event.body()).unwrap();
        assert!(
            !body.contains("\"id\"") && !body.contains("\"channel\""),
            "{body}"
        );
        let back = |body: &str| NewEvent::from_body("a\"1".into(), "c".into(), body.as_bytes());
        assert_eq!(back(&body).unwrap(), event);
        let whole = serde_json::to_string(&event).unwrap();
        assert_eq!(back(&whole).unwrap(), event);
    }
}
