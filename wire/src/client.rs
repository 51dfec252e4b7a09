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
    /// Follow a channel (from now, or resuming after an offset).
    Subscribe(Subscribe),
    /// Stop following a channel.
    Unsubscribe(Unsubscribe),
}

/// `{"type":"publish","id":…,"kind":…,"payload":…,"channel":…}`.
#[derive(Debug, Clone, Serialize)]
pub struct Publish {
    /// Client-chosen id, unique within its channel; publishing the same id again on the
    /// same channel is acknowledged with the offset it was first stored at and is not stored
    /// twice.
    pub id: String,
    /// Free-form event kind, e.g. `"click"`.
    pub kind: String,
    /// Any JSON value, as its text (`null` when the frame has none).
    pub payload: Box<RawValue>,
    /// The channel it goes to; none: [`crate::GLOBAL`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `{"type":"subscribe","channel":…[,"since":N,"epoch":…]}`: follow `channel`; with `since`,
/// first replay its events after that offset (of the log `epoch`, when given).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscribe {
    /// The channel.
    pub channel: String,
    /// Resume after this offset of the channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<crate::Offset>,
    /// The epoch `since` belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// Also get the channel's members, then a `join` or `leave` frame for every change.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub presence: bool,
}

/// `{"type":"unsubscribe","channel":…}`: stop following `channel`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unsubscribe {
    /// The channel.
    pub channel: String,
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
    /// A frame of a known type (named) with missing, mistyped or unknown fields.
    #[error("bad {0} frame: {1}")]
    Fields(&'static str, serde_json::Error),
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
    #[serde(default)]
    channel: Option<String>,
}

/// The body of `POST /publish` as it is read: a publish without its `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    id: String,
    kind: String,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
    #[serde(default)]
    channel: Option<String>,
}

/// The fields of a subscribe as they are read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeIn {
    #[serde(rename = "type")]
    _tag: IgnoredAny,
    channel: String,
    #[serde(default)]
    since: Option<crate::Offset>,
    #[serde(default)]
    epoch: Option<String>,
    #[serde(default)]
    presence: bool,
}

/// The fields of an unsubscribe as they are read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsubscribeIn {
    #[serde(rename = "type")]
    _tag: IgnoredAny,
    channel: String,
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
                let p: PublishIn = fields("publish", text)?;
                Ok(ClientFrame::Publish(Publish {
                    id: p.id,
                    kind: p.kind,
                    payload: p.payload.unwrap_or_else(null),
                    channel: p.channel,
                }))
            }
            "subscribe" => {
                let s: SubscribeIn = fields("subscribe", text)?;
                Ok(ClientFrame::Subscribe(Subscribe {
                    channel: s.channel,
                    since: s.since,
                    epoch: s.epoch,
                    presence: s.presence,
                }))
            }
            "unsubscribe" => {
                let u: UnsubscribeIn = fields("unsubscribe", text)?;
                Ok(ClientFrame::Unsubscribe(Unsubscribe { channel: u.channel }))
            }
            other => Err(ParseError::UnknownType(other.to_owned())),
        }
    }

    /// The frame as the text of one WebSocket message.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

/// The frame of type `T` (tagged `tag`) in `text`, its `type` already read.
fn fields<T: serde::de::DeserializeOwned>(tag: &'static str, text: &str) -> Result<T, ParseError> {
    serde_json::from_str(text).map_err(|e| ParseError::Fields(tag, e))
}

impl Publish {
    /// A publish of `payload` (any serializable value, e.g. a `serde_json::Value`) on
    /// [`crate::GLOBAL`].
    pub fn new(id: impl Into<String>, kind: impl Into<String>, payload: &impl Serialize) -> Self {
        Publish {
            id: id.into(),
            kind: kind.into(),
            payload: serde_json::value::to_raw_value(payload)
                .expect("a payload that serializes as JSON"),
            channel: None,
        }
    }

    /// The body of a `POST /publish`: `{"channel":…,"id":…,"kind":…,"payload":…}` (channel
    /// and payload optional), the fields of a publish frame without its `type`.
    pub fn parse_body(text: &str) -> Result<Publish, ParseError> {
        let b: PublishBody = fields("publish", text)?;
        Ok(Publish {
            id: b.id,
            kind: b.kind,
            payload: b.payload.unwrap_or_else(null),
            channel: b.channel,
        })
    }

    /// The same publish on `channel`.
    pub fn on(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// The channel it goes to.
    pub fn channel(&self) -> &str {
        self.channel.as_deref().unwrap_or(crate::GLOBAL)
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
            other => panic!("not a publish: {other:?}"),
        }
    }

    #[test]
    fn subscribe_frames_are_read_and_written() {
        let s = Subscribe {
            channel: "a".into(),
            since: Some(3),
            epoch: None,
            presence: false,
        };
        let text = ClientFrame::Subscribe(s.clone()).to_text();
        assert_eq!(text, r#"{"type":"subscribe","channel":"a","since":3}"#);
        assert!(matches!(ClientFrame::parse(&text).unwrap(), ClientFrame::Subscribe(b) if b == s));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"unsubscribe","channel":"a"}"#).unwrap(),
            ClientFrame::Unsubscribe(u) if u.channel == "a"
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"subscribe","channel":"a","x":1}"#),
            Err(ParseError::Fields(..))
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"subscribe"}"#),
            Err(ParseError::Fields(..))
        ));
        let p = publish(&Publish::new("i", "k", &1).on("room").to_text());
        assert_eq!((p.channel(), p.payload.get()), ("room", "1"));
        assert_eq!(
            publish(r#"{"type":"publish","id":"i","kind":"k"}"#).channel(),
            "global"
        );
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
            ParseError::Fields(..)
        ));
        assert!(matches!(
            bad(r#"{"type":"publish","id":5,"kind":"k"}"#),
            ParseError::Fields(..)
        ));
    }
}
