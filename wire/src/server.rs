//! What a region sends to a client.

use crate::{BrokerKind, ChannelPosition, ErrorCode, Member, Micros, Offset};
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
#[serde(bound(deserialize = "S: Deserialize<'de> + From<&'static str>, P: Deserialize<'de>"))]
pub struct EventFrame<S = String, P = Value> {
    /// The channel it belongs to (`global` from servers older than channels).
    #[serde(default = "global_channel")]
    pub channel: S,
    /// Position in its channel.
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

fn global_channel<S: From<&'static str>>() -> S {
    S::from(crate::GLOBAL)
}

/// A frame sent by a region to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Welcome {
        /// Region name, e.g. `"us"`.
        region: String,
        /// Latest offset of the first channel subscribed when the client connected (of
        /// `global` for a client that named none).
        offset: Offset,
        /// Identity of that channel's log; changes only if the log was lost and recreated.
        epoch: String,
        /// Which broker the region runs on.
        broker: BrokerKind,
        /// Every channel the connection subscribed to on connect, with where it stood.
        #[serde(default)]
        channels: Vec<ChannelPosition>,
        /// This connection as a member of its channels (its id and display name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member: Option<Member>,
    },
    /// The members of `channel` (asked for with `presence`): up to
    /// [`MAX_LISTED`](crate::presence::MAX_LISTED) of them, and how many there are. A
    /// `join` or `leave` frame follows for every change after it.
    Presence {
        /// The channel.
        channel: String,
        /// How many members it has (exact, also beyond the list).
        count: usize,
        /// Its members, oldest first, at most `MAX_LISTED`.
        members: Vec<Member>,
    },
    /// `member` joined `channel`.
    Join {
        /// The channel.
        channel: String,
        /// Who.
        member: Member,
    },
    /// `member` left `channel` (it unsubscribed, disconnected, or its region was lost).
    Leave {
        /// The channel.
        channel: String,
        /// Who.
        member: Member,
    },
    /// A `subscribe` is done: live events of `channel` after `offset` follow (after the
    /// replay, when it resumes).
    Subscribed {
        /// The channel.
        channel: String,
        /// Latest offset of the channel when the connection subscribed.
        offset: Offset,
        /// Epoch of the channel's log.
        epoch: String,
    },
    /// An `unsubscribe` is done: nothing more of `channel` follows.
    Unsubscribed {
        /// The channel.
        channel: String,
    },
    /// The publish with this id is stored at `offset` of `channel`.
    Ack {
        /// The publisher's id.
        id: String,
        /// The channel it is stored in.
        #[serde(default = "crate::channel::global")]
        channel: String,
        /// Offset the event is stored at.
        offset: Offset,
        /// True when this id had been stored before (a retry); nothing new was stored.
        #[serde(default)]
        duplicate: bool,
    },
    /// An event of the log.
    Event(EventFrame),
    /// A resume (`/ws?since=N`, a `subscribe` with `since`) has replayed the history of
    /// `channel` up to `offset`; live events follow.
    CaughtUp {
        /// The channel.
        #[serde(default = "crate::channel::global")]
        channel: String,
        /// Last replayed offset.
        offset: Offset,
    },
    /// Events `from..=to` of `channel` can no longer be replayed: they fell out of the
    /// bounded history.
    Gap {
        /// The channel.
        #[serde(default = "crate::channel::global")]
        channel: String,
        /// First missing offset.
        from: Offset,
        /// Last missing offset.
        to: Offset,
        /// What happened and what to do.
        message: String,
    },
    /// The log was lost or went back in time (Redis restarted without its data or from an
    /// older snapshot, or failed over to a replica that lagged) and a new one started.
    /// Offsets of `channel` from the old epoch mean nothing in the new one: clients must
    /// drop them.
    Epoch {
        /// The channel whose log this is.
        #[serde(default = "crate::channel::global")]
        channel: String,
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
            channel: "global".into(),
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
                channel: &frame.channel,
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
            channel: "c",
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
            channel: "c".into(),
            from: 1,
            to: 2,
            message: "m".into(),
        }
        .to_object();
        assert_eq!(
            notice.get(),
            r#"{"channel":"c","from":1,"message":"m","to":2}"#
        );
    }

    /// Frames from servers older than channels read as frames of `global`.
    #[test]
    fn frames_without_a_channel_are_global() {
        let old = [
            r#"{"type":"event","offset":1,"id":"i","origin":"as","kind":"k","payload":1,"published_at":0,"stored_at":0,"received_at":0}"#,
            r#"{"type":"ack","id":"i","offset":1,"duplicate":false}"#,
            r#"{"type":"caught_up","offset":1}"#,
            r#"{"type":"epoch","epoch":"e","offset":0,"message":"m"}"#,
        ];
        for text in old {
            let v =
                serde_json::to_value(serde_json::from_str::<ServerFrame>(text).unwrap()).unwrap();
            assert_eq!(v["channel"], "global", "{text}");
        }
    }
}
