//! What a client sends to a region. The payload of a publish is JSON text
//! ([`RawValue`]): decoded once where it enters, stored and delivered as sent, never parsed
//! into a tree on the way.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A frame sent by a client to a region.
///
/// Serialize it with `serde_json` (the `type` tag comes first); decode one with
/// [`ClientFrame::parse`] (an internally tagged enum cannot hold a raw payload, so decoding
/// reads the tag, then the frame of that type).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Publish an event in the region the client is connected to.
    Publish(Publish),
}

/// `{"type":"publish","id":…,"kind":…,"payload":…}`.
#[derive(Debug, Clone, Serialize)]
pub struct Publish {
    /// Client-chosen unique id; publishing the same id again is acknowledged with the
    /// offset it was first stored at and is not stored twice.
    pub id: String,
    /// Free-form event kind, e.g. `"click"`.
    pub kind: String,
    /// Any JSON value, as its text (`null` when the frame has none).
    pub payload: Box<RawValue>,
}

/// Why a text is not a client frame. `Json` keeps serde's complaint; the server turns each
/// into its error code and a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, not an object, or without a string `type` field.
    #[error("{0}")]
    NoType(serde_json::Error),
    /// A `type` no client frame has.
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    /// A frame of a known type with missing, mistyped or unknown fields.
    #[error("{0}")]
    Fields(serde_json::Error),
}

/// The fields of a publish as they are read: the `type` tag is checked before.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishIn {
    #[serde(rename = "type")]
    _tag: IgnoredAny,
    id: String,
    kind: String,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
}

/// The tag of any frame, other fields skipped.
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    tag: std::borrow::Cow<'a, str>,
}

impl ClientFrame {
    /// Decode one text frame. No limit is checked here (the server checks nesting before
    /// and sizes after).
    pub fn parse(text: &str) -> Result<ClientFrame, ParseError> {
        let Tag { tag } = serde_json::from_str(text).map_err(ParseError::NoType)?;
        match &*tag {
            "publish" => {
                let p: PublishIn = serde_json::from_str(text).map_err(ParseError::Fields)?;
                Ok(ClientFrame::Publish(Publish {
                    id: p.id,
                    kind: p.kind,
                    payload: p.payload.unwrap_or_else(null),
                }))
            }
            other => Err(ParseError::UnknownType(other.to_owned())),
        }
    }

    /// The frame as the text of one WebSocket message.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

impl Publish {
    /// A publish of `payload` (any serializable value, e.g. a `serde_json::Value`).
    pub fn new(id: impl Into<String>, kind: impl Into<String>, payload: &impl Serialize) -> Self {
        Publish {
            id: id.into(),
            kind: kind.into(),
            payload: serde_json::value::to_raw_value(payload)
                .expect("a payload that serializes as JSON"),
        }
    }

    /// This publish as the text of one WebSocket message.
    pub fn to_text(&self) -> String {
        ClientFrame::Publish(self.clone()).to_text()
    }
}

/// The JSON `null`, the payload of a publish that names none.
pub fn null() -> Box<RawValue> {
    RawValue::from_string("null".into()).expect("null is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(text: &str) -> Publish {
        match ClientFrame::parse(text).unwrap() {
            ClientFrame::Publish(p) => p,
        }
    }

    #[test]
    fn a_publish_is_read_with_its_payload_as_sent() {
        let p = publish(r#"{"type":"publish","id":"a1","kind":"click","payload":{"x" : 1}}"#);
        assert_eq!((p.id.as_str(), p.kind.as_str()), ("a1", "click"));
        assert_eq!(p.payload.get(), r#"{"x" : 1}"#);
        assert_eq!(
            publish(r#"{"kind":"k","id":"i","type":"publish"}"#)
                .payload
                .get(),
            "null"
        );
    }

    #[test]
    fn a_publish_serializes_to_the_documented_shape() {
        let p = Publish::new("a1", "click", &serde_json::json!({"x": 1}));
        assert_eq!(
            p.to_text(),
            r#"{"type":"publish","id":"a1","kind":"click","payload":{"x":1}}"#
        );
        let back = publish(&p.to_text());
        assert_eq!(back.payload.get(), p.payload.get());
    }

    #[test]
    fn what_is_wrong_is_told_apart() {
        let bad = |t: &str| ClientFrame::parse(t).unwrap_err();
        assert!(matches!(bad("{nope"), ParseError::NoType(_)));
        assert!(matches!(bad(r#"{"id":"x"}"#), ParseError::NoType(_)));
        assert!(matches!(bad(r#"{"type":"x"}"#), ParseError::UnknownType(t) if t == "x"));
        assert!(matches!(
            bad(r#"{"type":"publish","id":"a","kind":"k","oops":1}"#),
            ParseError::Fields(_)
        ));
        assert!(matches!(
            bad(r#"{"type":"publish","id":5,"kind":"k"}"#),
            ParseError::Fields(_)
        ));
    }
}
