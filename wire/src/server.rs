//! What a region sends to a client.

use crate::{BrokerKind, ErrorCode, Micros, Offset};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// One event as a region delivers it to its clients.
///
/// Generic over how it holds its text, so that one definition (and one serializer) serves
/// both sides: a region serializes an [`EventRef`] borrowed from the event it stored (the
/// payload as the raw JSON text it was published as, nothing copied), and a client reads an
/// `EventFrame` with owned strings and the payload as a [`Value`] (or `Box<RawValue>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame<S = String, P = Value> {
    /// Position in the global log.
    pub offset: Offset,
    /// The publisher's id for this event.
    pub id: S,
    /// Region the event was published in.
    pub origin: S,
    /// Event kind.
    pub kind: S,
    /// Event payload.
    pub payload: P,
    /// When the origin region accepted the publish (origin's clock).
    pub published_at: Micros,
    /// When the broker stored it (the broker's clock: Redis `TIME`, or the process clock).
    pub stored_at: Micros,
    /// When this region's server read it from the broker (this region's clock).
    pub received_at: Micros,
    /// True when the event is sent from history to a resuming client rather than live.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replay: bool,
}

/// An event frame borrowed from a stored event, as a region serializes it.
pub type EventRef<'a> = EventFrame<&'a str, &'a RawValue>;

/// The `event` frame, serialize-only, for borrowed events.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged<'a, 'b> {
    Event(&'b EventRef<'a>),
}

impl EventRef<'_> {
    /// The `event` frame (`{"type":"event",…}`) as the text of one WebSocket message.
    pub fn to_text(&self) -> String {
        serde_json::to_string(&Tagged::Event(self)).expect("event frames always serialize")
    }

    /// The frame without its `type` tag (the body of the Socket.IO `event` event).
    pub fn to_object(&self) -> Box<RawValue> {
        serde_json::value::to_raw_value(self).expect("event frames always serialize")
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A frame sent by a region to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Welcome {
        /// Region name, e.g. `"us"`.
        region: String,
        /// Latest offset in the log when the client connected.
        offset: Offset,
        /// Identity of the log; changes only if the log was lost and recreated.
        epoch: String,
        /// Which broker the region runs on.
        broker: BrokerKind,
    },
    /// The publish with this id is stored at `offset`.
    Ack {
        /// The publisher's id.
        id: String,
        /// Offset the event is stored at.
        offset: Offset,
        /// True when this id had been stored before (a retry); nothing new was stored.
        #[serde(default)]
        duplicate: bool,
    },
    /// An event of the log.
    Event(EventFrame),
    /// A resume (`/ws?since=N`) has replayed all history up to `offset`; live events follow.
    CaughtUp {
        /// Last replayed offset.
        offset: Offset,
    },
    /// Events `from..=to` can no longer be replayed: they fell out of the bounded history.
    Gap {
        /// First missing offset.
        from: Offset,
        /// Last missing offset.
        to: Offset,
        /// What happened and what to do.
        message: String,
    },
    /// The log was lost or went back in time (Redis restarted without its data or from an
    /// older snapshot, or failed over to a replica that lagged) and a new one started.
    /// Offsets from the old epoch mean nothing in the new one: clients must drop them.
    Epoch {
        /// The new epoch.
        epoch: String,
        /// Latest offset in the new log.
        offset: Offset,
        /// The last offset of the previous epoch this connection was given (delivered live or
        /// replayed, or the `since` it resumed from). Any event of the previous epoch that the
        /// client had not received by then, including acked ones at offsets after this, may be
        /// lost: republish it (same id) if it matters. 0 when unknown (older servers).
        #[serde(default)]
        lost_after: Offset,
        /// What happened and what to do.
        message: String,
    },
    /// Something the client sent was refused, or the server cannot do what was asked.
    Error {
        /// Machine-readable code, e.g. `invalid_json`.
        code: ErrorCode,
        /// What went wrong and what to do about it.
        message: String,
        /// The id of the publish this error answers, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// True when retrying the same request later may succeed (e.g. broker unavailable);
        /// always [`ErrorCode::is_temporary`] of `code` in frames built by [`ServerFrame::error`].
        #[serde(default)]
        temporary: bool,
    },
}

impl ServerFrame {
    /// An error frame with no publish id; `temporary` is the code's.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::error_for(code, message, None)
    }

    /// An error frame answering the publish `id` (if any); `temporary` is the code's.
    pub fn error_for(code: ErrorCode, message: impl Into<String>, id: Option<String>) -> Self {
        ServerFrame::Error {
            temporary: code.is_temporary(),
            code,
            message: message.into(),
            id,
        }
    }

    /// The frame as the text of one WebSocket message.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }

    /// The frame without its `type` tag, as a JSON object (the body of a Socket.IO event of
    /// the frame's name).
    pub fn to_object(&self) -> Box<RawValue> {
        let mut value = serde_json::to_value(self).expect("server frames always serialize");
        if let Some(object) = value.as_object_mut() {
            object.remove("type");
        }
        serde_json::value::to_raw_value(&value).expect("a JSON value always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(replay: bool) -> EventFrame {
        EventFrame {
            offset: 7,
            id: "a\"1".into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: serde_json::json!({"x": [1, 2.5, "é\"\\"], "y": null}),
            published_at: 1,
            stored_at: 2,
            received_at: 3,
            replay,
        }
    }

    #[test]
    fn event_frame_is_flat_with_a_type_tag() {
        let v: Value = serde_json::to_value(ServerFrame::Event(owned(false))).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(v["offset"], 7);
        assert_eq!(v["origin"], "as");
        assert!(v.get("replay").is_none());
    }

    /// The borrowed frame is byte for byte what the owned one serializes to, live and
    /// replayed, and what a client reads back.
    #[test]
    fn the_borrowed_event_frame_is_the_owned_one() {
        for replay in [false, true] {
            let frame = owned(replay);
            let raw = serde_json::value::to_raw_value(&frame.payload).unwrap();
            let borrowed = EventRef {
                offset: frame.offset,
                id: &frame.id,
                origin: &frame.origin,
                kind: &frame.kind,
                payload: &raw,
                published_at: 1,
                stored_at: 2,
                received_at: 3,
                replay,
            };
            let text = borrowed.to_text();
            assert_eq!(text, ServerFrame::Event(frame.clone()).to_text());
            assert_eq!(
                serde_json::from_str::<ServerFrame>(&text).unwrap(),
                ServerFrame::Event(frame)
            );
        }
    }

    /// A payload keeps its publisher's spelling in the borrowed frame.
    #[test]
    fn the_payload_is_passed_through_as_sent() {
        let sent = r#"{"b":1, "a" : [ 1.50 ]}"#;
        let raw = RawValue::from_string(sent.into()).unwrap();
        let frame = EventRef {
            offset: 1,
            id: "i",
            origin: "eu",
            kind: "k",
            payload: &raw,
            published_at: 0,
            stored_at: 0,
            received_at: 0,
            replay: false,
        };
        assert!(frame.to_text().contains(sent));
        assert!(frame.to_object().get().contains(sent));
        assert!(!frame.to_object().get().contains("\"type\""));
    }

    #[test]
    fn a_welcome_names_its_broker_kind() {
        let f: ServerFrame = serde_json::from_str(
            r#"{"type":"welcome","region":"us","offset":0,"epoch":"e","broker":"embedded"}"#,
        )
        .unwrap();
        assert!(matches!(
            f,
            ServerFrame::Welcome {
                broker: BrokerKind::Embedded,
                ..
            }
        ));
        let notice = ServerFrame::Gap {
            from: 1,
            to: 2,
            message: "m".into(),
        }
        .to_object();
        assert_eq!(notice.get(), r#"{"from":1,"message":"m","to":2}"#);
    }
}
