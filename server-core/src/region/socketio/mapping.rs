//! The Socket.IO mapping, as pure functions: what a Socket.IO client's `message` becomes in
//! the log, and how each event of the log is rendered for Socket.IO clients
//! (docs/protocol.md, "Socket.IO").

use crate::event::{now_micros, NewEvent};
use serde_json::value::RawValue;
use std::sync::Arc;
use wire::limits::{MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES};
use wire::{ErrorCode, EventFrame, ServerFrame};

/// The kind of every event a Socket.IO `message` stores.
pub(crate) const MESSAGE_KIND: &str = "message";

/// Longest payload rendering, in characters, in the `broadcast` of an event without a text.
pub(crate) const COMPACT_CHARS: usize = 200;

/// Why something a Socket.IO client sent was not stored. Each maps to one code of the
/// native protocol's error table, so both protocols report the same problem the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
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
    /// An event other than `message`.
    #[error("unknown event {0:?}; the only event a client sends is \"message\"")]
    UnknownEvent(String),
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
    BrokerUnavailable(String),
}

impl Refused {
    /// The code of the native protocol's error table this refusal reports as (whether it is
    /// temporary comes with it).
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Refused::NotAString => ErrorCode::InvalidFrame,
            Refused::Binary => ErrorCode::BinaryNotSupported,
            Refused::TooLarge(_) => ErrorCode::PayloadTooLarge,
            Refused::TooDeep => ErrorCode::TooDeep,
            Refused::UnknownEvent(_) => ErrorCode::UnknownType,
            Refused::RateLimited { .. } => ErrorCode::RateLimited,
            Refused::BrokerUnavailable(_) => ErrorCode::BrokerUnavailable,
        }
    }

    /// The body of the `error` event: the native protocol's error frame.
    pub(crate) fn frame(&self) -> ServerFrame {
        ServerFrame::error(self.code(), self.to_string())
    }
}

/// The text of a `message` event, from the raw Socket.IO event array `["message", …args]`.
/// Exactly one string argument is accepted.
pub(crate) fn message_text(raw_event: &str) -> Result<String, Refused> {
    if crate::region::input::json_depth(raw_event) > MAX_JSON_DEPTH {
        return Err(Refused::TooDeep);
    }
    let mut args: Vec<serde_json::Value> =
        serde_json::from_str(raw_event).map_err(|_| Refused::NotAString)?;
    if args.len() != 2 {
        return Err(Refused::NotAString);
    }
    match args.pop() {
        Some(serde_json::Value::String(text)) => Ok(text),
        _ => Err(Refused::NotAString),
    }
}

/// The event a `message` with `text` from a client of `region` stores: kind `message`,
/// payload `{"text": text}`, the server-made `id`.
pub(crate) fn message_event(region: &str, id: String, text: String) -> Result<NewEvent, Refused> {
    let payload = serde_json::json!({ "text": text });
    let size = payload.to_string().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Refused::TooLarge(size));
    }
    Ok(NewEvent {
        id,
        origin: region.into(),
        kind: MESSAGE_KIND.into(),
        payload: crate::event::payload(&payload),
        published_at: now_micros(),
    })
}

/// The text of the `broadcast` event for a log event, as the original servers render it:
/// `[From AS] hello`. An event whose payload has no string `text` field is rendered
/// compactly as `[From AS] <kind>: <payload as JSON>`, the JSON cut at [`COMPACT_CHARS`]
/// characters with `…`.
pub(crate) fn broadcast_text(event: &EventFrame) -> String {
    let from = event.origin.to_uppercase();
    if let Some(text) = event.payload.get("text").and_then(|t| t.as_str()) {
        return format!("[From {from}] {text}");
    }
    let json = event.payload.to_string();
    let mut compact: String = json.chars().take(COMPACT_CHARS).collect();
    if compact.len() < json.len() {
        compact.push('…');
    }
    format!("[From {from}] {}: {compact}", event.kind)
}

/// One log event as every Socket.IO client of a region gets it: both renderings made once
/// per region, shared by all its clients.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The `broadcast` event's text.
    pub broadcast: Arc<str>,
    /// The `event` event's object: the native event frame without `type`.
    pub event: Arc<RawValue>,
    /// When the region read the event from the log (for the fan-out time).
    pub received_at: wire::Micros,
}

impl Rendered {
    /// Render the native event frame `text` (as the region's feed serialized it), or `None`
    /// if it is not an event frame.
    pub(crate) fn from_frame_text(text: &str) -> Option<Rendered> {
        let ServerFrame::Event(event) = serde_json::from_str(text).ok()? else {
            return None;
        };
        let object = serde_json::value::to_raw_value(&event).ok()?;
        Some(Rendered {
            broadcast: broadcast_text(&event).into(),
            received_at: event.received_at,
            event: Arc::from(object),
        })
    }
}

/// A JSON object for a notice the feed sends (`gap`, `epoch`): the native frame without `type`.
pub(crate) fn notice_object(text: &str) -> Option<Arc<RawValue>> {
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.as_object_mut()?.remove("type");
    serde_json::value::to_raw_value(&value).ok().map(Arc::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(origin: &str, kind: &str, payload: serde_json::Value) -> EventFrame {
        EventFrame {
            offset: 7,
            id: "x".into(),
            origin: origin.into(),
            kind: kind.into(),
            payload,
            published_at: 1,
            stored_at: 2,
            received_at: 3,
            replay: false,
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
            assert_eq!(message_text(bad), Err(Refused::NotAString), "{bad}");
        }
        let deep = format!(r#"["message",{}{}]"#, "[".repeat(40), "]".repeat(40));
        assert_eq!(message_text(&deep), Err(Refused::TooDeep));
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
            Err(Refused::TooLarge(_))
        ));
    }

    #[test]
    fn refusals_use_the_native_codes() {
        assert_eq!(Refused::NotAString.code(), ErrorCode::InvalidFrame);
        assert_eq!(
            Refused::UnknownEvent("x".into()).code(),
            ErrorCode::UnknownType
        );
        let limited = Refused::RateLimited { rate: 1, burst: 2 };
        assert!(limited.code().is_temporary() && !Refused::Binary.code().is_temporary());
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
        let e = frame("eu", "message", serde_json::json!({"text": "t"}));
        let text = serde_json::to_string(&ServerFrame::Event(e.clone())).unwrap();
        let r = Rendered::from_frame_text(&text).unwrap();
        assert_eq!(&*r.broadcast, "[From EU] t");
        let object: serde_json::Value = serde_json::from_str(r.event.get()).unwrap();
        assert_eq!(object, serde_json::to_value(&e).unwrap());
        assert!(object.get("type").is_none());
        let notice = notice_object(r#"{"type":"gap","from":1,"to":2,"message":"m"}"#).unwrap();
        let notice: serde_json::Value = serde_json::from_str(notice.get()).unwrap();
        assert_eq!(
            notice,
            serde_json::json!({"from": 1, "to": 2, "message": "m"})
        );
    }
}
