//! Wire types of the Multi-Region Servers protocol, shared by `server-core` and the WASM UI.
//!
//! Every WebSocket message is one JSON text frame with a `type` tag. The full protocol,
//! with examples and the meaning of each field, is in `docs/protocol.md`; this crate is the
//! single Rust definition of it, so the server and the UI cannot drift apart.
//!
//! # Layout
//! - [`ClientFrame`]: what a client sends (`publish`).
//! - [`ServerFrame`]: what a region sends (`welcome`, `ack`, `event`, `caught_up`, `gap`,
//!   `epoch`, `error`).
//! - [`ErrorCode`]: every error code, with its wire name and whether it is temporary.
//! - [`Health`], [`RegionInfo`]: the JSON bodies of `GET /health` and `GET /regions`.
//! - [`limits`]: the documented input limits every server enforces.
//! - [`sim`]: the body of `GET`/`PUT /sim` (a region's simulated link to the broker) and its
//!   presets. Not part of the WebSocket protocol.

mod error_code;
pub mod sim;

pub use self::error_code::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Position of an event in the global log: the first event has offset 1, each next one +1.
/// Offset 0 means "before the first event".
pub type Offset = u64;

/// Microseconds since the Unix epoch, read from the clock of whoever stamped it.
pub type Micros = u64;

/// Input limits enforced by every regional server (see `docs/protocol.md`).
pub mod limits {
    /// Largest accepted WebSocket message, in bytes; larger ones close the socket with code 1009.
    pub const MAX_FRAME_BYTES: usize = 64 * 1024;
    /// Longest accepted event id, in bytes.
    pub const MAX_ID_BYTES: usize = 128;
    /// Longest accepted event kind, in bytes.
    pub const MAX_KIND_BYTES: usize = 64;
    /// Largest accepted payload as sent (its JSON text), in bytes.
    pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
    /// Deepest accepted JSON nesting of a frame.
    pub const MAX_JSON_DEPTH: usize = 32;
}

/// A frame sent by a client to a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Publish an event in the region the client is connected to.
    Publish {
        /// Client-chosen unique id; publishing the same id again is acknowledged with the
        /// offset it was first stored at and is not stored twice.
        id: String,
        /// Free-form event kind, e.g. `"click"`.
        kind: String,
        /// Any JSON value.
        #[serde(default)]
        payload: Value,
    },
}

/// One event as a region delivers it to its clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame {
    /// Position in the global log.
    pub offset: Offset,
    /// The publisher's id for this event.
    pub id: String,
    /// Region the event was published in.
    pub origin: String,
    /// Event kind.
    pub kind: String,
    /// Event payload.
    pub payload: Value,
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
        /// `"redis"` or `"embedded"`.
        broker: String,
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

/// Body of `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Region name.
    pub region: String,
    /// `"redis"` or `"embedded"`.
    pub broker: String,
    /// Whether the broker answered its last request.
    pub connected: bool,
    /// WebSocket clients connected to this region now.
    pub clients: usize,
    /// Latest offset this region has received from the broker.
    pub offset: Offset,
    /// Epoch of the log this region follows.
    pub epoch: String,
    /// The region's clock when it answered (Unix µs, the clock that stamps `received_at`):
    /// a client that notes when it sent the request and got the answer can place its own
    /// stamps on this region's time line. 0 from servers older than this field.
    #[serde(default)]
    pub now: Micros,
}

/// One entry of `GET /regions`: a region the UI should connect to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionInfo {
    /// Region name.
    pub name: String,
    /// Base HTTP URL, e.g. `http://127.0.0.1:4001`.
    pub url: String,
}

impl ServerFrame {
    /// An error frame with no publish id; `temporary` is the code's.
    pub fn error(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        let code = code.into();
        ServerFrame::Error {
            temporary: code.is_temporary(),
            code,
            message: message.into(),
            id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_frame_matches_the_documented_shape() {
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"publish","id":"a1","kind":"click","payload":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::Publish {
                id: "a1".into(),
                kind: "click".into(),
                payload: serde_json::json!({"x":1})
            }
        );
    }

    #[test]
    fn event_frame_is_flat_with_a_type_tag() {
        let f = ServerFrame::Event(EventFrame {
            offset: 7,
            id: "a".into(),
            origin: "as".into(),
            kind: "k".into(),
            payload: Value::Null,
            published_at: 1,
            stored_at: 2,
            received_at: 3,
            replay: false,
        });
        let v: Value = serde_json::to_value(&f).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(v["offset"], 7);
        assert_eq!(v["origin"], "as");
        assert!(v.get("replay").is_none());
    }

    #[test]
    fn unknown_fields_in_a_publish_are_refused() {
        let r: Result<ClientFrame, _> =
            serde_json::from_str(r#"{"type":"publish","id":"a","kind":"k","oops":1}"#);
        assert!(r.is_err());
    }

    #[test]
    fn health_from_a_server_without_a_clock_still_reads() {
        let h: Health = serde_json::from_str(
            r#"{"region":"us","broker":"redis","connected":true,"clients":3,"offset":42,"epoch":"e"}"#,
        )
        .unwrap();
        assert_eq!((h.offset, h.now), (42, 0));
    }
}
