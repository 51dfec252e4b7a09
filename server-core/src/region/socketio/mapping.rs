//! The Socket.IO mapping, as pure functions: what a Socket.IO client's `message` becomes in
//! the log, and how each event of the log is rendered for Socket.IO clients
//! (docs/protocol.md, "Socket.IO").

use crate::error::BrokerError;
use crate::event::{now_micros, NewEvent, StoredEvent};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;
use wire::limits::{MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES};
use wire::{ErrorCode, ServerFrame};

/// The kind of every event a Socket.IO `message` stores.
pub(crate) const MESSAGE_KIND: &str = "message";

/// Longest payload rendering, in characters, in the `broadcast` of an event without a text.
pub(crate) const COMPACT_CHARS: usize = 200;

/// Why something a Socket.IO client sent was refused (a message not stored, a room not
/// joined). Each maps to one code of the native protocol's error table, so both protocols
/// report the same problem the same way.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Refusal {
    /// `message` with anything but exactly one string argument.
    #[error("a message must be exactly one string, as in socket.emit(\"message\", \"hello\")")]
    NotAString,
    /// An event with binary attachments.
    #[error("binary attachments are not supported; send the message as a string")]
    Binary,
    /// The text makes a payload over [`MAX_PAYLOAD_BYTES`].
    #[error("the message makes a payload of {0} bytes; the limit is {MAX_PAYLOAD_BYTES}")]
    TooLarge(usize),
    /// JSON nested deeper than [`MAX_JSON_DEPTH`].
    #[error("arguments nested deeper than {MAX_JSON_DEPTH} levels are refused")]
    TooDeep,
    /// An event other than `message`, `join` and `leave`.
    #[error("unknown event {0:?}; a client sends \"message\", \"join\" and \"leave\"")]
    UnknownEvent(String),
    /// A room that is not a channel name.
    #[error("{0}")]
    BadRoom(wire::channel::BadChannel),
    /// More rooms than one client may be in.
    #[error(
        "one client is in at most {} rooms (channels)",
        wire::channel::MAX_SUBSCRIPTIONS
    )]
    TooManyRooms,
    /// Over the per-connection publish rate, or more messages waiting than the server can
    /// take from this connection.
    #[error("more than {rate} messages/s (burst {burst}) on one connection; slow down and send it again")]
    RateLimited {
        /// Sustained messages per second allowed.
        rate: u32,
        /// Messages allowed in one burst.
        burst: u32,
    },
    /// The broker did not store it.
    #[error("the message was not stored ({0}); send it again")]
    BrokerUnavailable(BrokerError),
}

impl Refusal {
    /// The code of the native protocol's error table this refusal reports as (whether it is
    /// temporary comes with it).
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Refusal::NotAString => ErrorCode::InvalidFrame,
            Refusal::Binary => ErrorCode::BinaryNotSupported,
            Refusal::TooLarge(_) => ErrorCode::PayloadTooLarge,
            Refusal::TooDeep => ErrorCode::TooDeep,
            Refusal::UnknownEvent(_) => ErrorCode::UnknownType,
            Refusal::BadRoom(_) => ErrorCode::InvalidChannel,
            Refusal::TooManyRooms => ErrorCode::TooManyChannels,
            Refusal::RateLimited { .. } => ErrorCode::RateLimited,
            Refusal::BrokerUnavailable(_) => ErrorCode::BrokerUnavailable,
        }
    }

    /// The body of the `error` event: the native protocol's error frame.
    pub(crate) fn frame(&self) -> ServerFrame {
        ServerFrame::error(self.code(), self.to_string())
    }
}

/// The one string argument of an event, from its raw Socket.IO event array `["name", …args]`
/// (the text of a `message`, the room of a `join` or `leave`).
pub(crate) fn message_text(raw_event: &str) -> Result<String, Refusal> {
    if crate::region::input::json_depth(raw_event) > MAX_JSON_DEPTH {
        return Err(Refusal::TooDeep);
    }
    let mut args: Vec<serde_json::Value> =
        serde_json::from_str(raw_event).map_err(|_| Refusal::NotAString)?;
    if args.len() != 2 {
        return Err(Refusal::NotAString);
    }
    match args.pop() {
        Some(serde_json::Value::String(text)) => Ok(text),
        _ => Err(Refusal::NotAString),
    }
}

/// The event a `message` with `text` from a client of `region` stores: kind `message`,
/// payload `{"text": text}`, the server-made `id`.
pub(crate) fn message_event(region: &str, id: String, text: String) -> Result<NewEvent, Refusal> {
    let payload = serde_json::json!({ "text": text });
    let size = payload.to_string().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Refusal::TooLarge(size));
    }
    Ok(NewEvent {
        id,
        channel: wire::GLOBAL.into(),
        origin: region.into(),
        kind: MESSAGE_KIND.into(),
        payload: crate::event::payload(&payload),
        published_at: now_micros(),
        after: None,
    })
}

/// The text of the `broadcast` event for a log event, as the original servers render it:
/// `[From AS] hello`. An event whose payload has no string `text` field is rendered
/// compactly as `[From AS] <kind>: <payload as JSON>`, the JSON cut at [`COMPACT_CHARS`]
/// characters with `…`.
pub(crate) fn broadcast_text(event: &NewEvent) -> String {
    let from = event.origin.to_uppercase();
    if let Some(text) = payload_text(&event.payload) {
        return format!("[From {from}] {text}");
    }
    // Compact and in a stable key order, whatever spacing the publisher used.
    let json = serde_json::from_str::<serde_json::Value>(event.payload.get())
        .map_or_else(|_| event.payload.get().to_owned(), |v| v.to_string());
    let mut compact: String = json.chars().take(COMPACT_CHARS).collect();
    if compact.len() < json.len() {
        compact.push('…');
    }
    format!("[From {from}] {}: {compact}", event.kind)
}

/// The payload's `text` field, when the payload is an object with a string `text`.
fn payload_text(payload: &RawValue) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct WithText<'a> {
        #[serde(borrow)]
        text: Cow<'a, str>,
    }
    serde_json::from_str::<WithText>(payload.get())
        .ok()
        .map(|w| w.text)
}

/// One log event as every Socket.IO client of a region gets it: both renderings made once
/// per region, shared by all its clients.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The `broadcast` event's text, as its JSON string (escaped once per region, not per
    /// client: every emit copies it as it is).
    pub broadcast: Arc<RawValue>,
    /// The `event` event's object: the native event frame without `type`.
    pub event: Arc<RawValue>,
    /// When the region read the event from the log (for the fan-out time).
    pub received_at: wire::Micros,
}

impl Rendered {
    /// Render `stored`, read by the region at `received_at`.
    pub(crate) fn new(stored: &StoredEvent, received_at: wire::Micros) -> Rendered {
        Rendered {
            broadcast: Arc::from(
                RawValue::from_string(
                    serde_json::to_string(&broadcast_text(&stored.event))
                        .expect("a string serializes"),
                )
                .expect("a JSON string is JSON"),
            ),
            event: Arc::from(stored.frame(received_at, false).to_object()),
            received_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(origin: &str, kind: &str, payload: serde_json::Value) -> NewEvent {
        NewEvent {
            id: "x".into(),
            channel: wire::GLOBAL.into(),
            origin: origin.into(),
            kind: kind.into(),
            payload: crate::event::payload(&payload),
            published_at: 1,
            after: None,
        }
    }

    #[test]
    fn a_text_renders_like_the_original_servers() {
        let e = frame("as", "message", serde_json::json!({"text": "hi there"}));
        assert_eq!(broadcast_text(&e), "[From AS] hi there");
        let e = frame(
            "eu",
            "click",
            serde_json::json!({"text": "x", "burst": "1/5"}),
        );
        assert_eq!(broadcast_text(&e), "[From EU] x");
    }

    #[test]
    fn an_event_without_a_text_renders_compactly() {
        let e = frame("us", "click", serde_json::json!({"n": 1}));
        assert_eq!(broadcast_text(&e), r#"[From US] click: {"n":1}"#);
        let e = frame("us", "k", serde_json::json!({"text": 5}));
        assert_eq!(broadcast_text(&e), r#"[From US] k: {"text":5}"#);
        let long = frame("us", "blob", serde_json::json!("y".repeat(500)));
        let text = broadcast_text(&long);
        assert!(text.ends_with('…'), "{text}");
        assert_eq!(
            text.chars().count(),
            "[From US] blob: ".len() + COMPACT_CHARS + 1
        );
    }

    #[test]
    fn only_one_string_is_a_message() {
        assert_eq!(message_text(r#"["message","hello"]"#).unwrap(), "hello");
        assert_eq!(message_text(r#"["message",""]"#).unwrap(), "");
        for bad in [
            r#"["message"]"#,
            r#"["message",5]"#,
            r#"["message",{"text":"x"}]"#,
            r#"["message","a","b"]"#,
            r#"["message",null]"#,
            "not json",
        ] {
            assert!(
                matches!(message_text(bad), Err(Refusal::NotAString)),
                "{bad}"
            );
        }
        let deep = format!(r#"["message",{}{}]"#, "[".repeat(40), "]".repeat(40));
        assert!(matches!(message_text(&deep), Err(Refusal::TooDeep)));
    }

    #[test]
    fn a_message_is_stored_like_a_publish() {
        let e = message_event("as", "sio-1".into(), "hi".into()).unwrap();
        assert_eq!((e.origin.as_str(), e.kind.as_str()), ("as", "message"));
        assert_eq!(e.payload.get(), r#"{"text":"hi"}"#);
        assert_eq!(e.id, "sio-1");
        let big = "x".repeat(MAX_PAYLOAD_BYTES);
        assert!(matches!(
            message_event("as", "sio-2".into(), big),
            Err(Refusal::TooLarge(_))
        ));
    }

    #[test]
    fn refusals_use_the_native_codes() {
        assert_eq!(Refusal::NotAString.code(), ErrorCode::InvalidFrame);
        assert_eq!(
            Refusal::UnknownEvent("x".into()).code(),
            ErrorCode::UnknownType
        );
        let limited = Refusal::RateLimited { rate: 1, burst: 2 };
        assert!(limited.code().is_temporary() && !Refusal::Binary.code().is_temporary());
        let ServerFrame::Error {
            code, temporary, ..
        } = limited.frame()
        else {
            panic!("an error frame");
        };
        assert_eq!((code.as_str(), temporary), ("rate_limited", true));
    }

    #[test]
    fn the_event_object_is_the_native_frame_without_type() {
        let stored = StoredEvent {
            offset: 7,
            position: 9,
            stored_at: 2,
            event: frame("eu", "message", serde_json::json!({"text": "t"})),
        };
        let r = Rendered::new(&stored, 3);
        assert_eq!(r.broadcast.get(), "\"[From EU] t\"");
        let object: serde_json::Value = serde_json::from_str(r.event.get()).unwrap();
        let frame: serde_json::Value = serde_json::from_str(&stored.frame_text(3, false)).unwrap();
        let mut without_type = frame.as_object().unwrap().clone();
        without_type.remove("type");
        assert_eq!(object, serde_json::Value::Object(without_type));
        assert!(object.get("type").is_none());
    }

    /// A payload spelled with spaces renders compactly, keys in order, as before.
    #[test]
    fn a_spaced_payload_renders_compactly() {
        let mut e = frame("us", "click", serde_json::Value::Null);
        e.payload = RawValue::from_string(r#"{ "n" : 1, "a": [ 1 ] }"#.into()).unwrap();
        assert_eq!(broadcast_text(&e), r#"[From US] click: {"a":[1],"n":1}"#);
    }
}
