//! Wire types of the Multi-Region Servers protocol, shared by `server-core`, every client in
//! the tree (the WASM UI, the test kit, the testbed, the bench) and the desktop shell.
//!
//! Every WebSocket message is one JSON text frame with a `type` tag. The full protocol,
//! with examples and the meaning of each field, is in `docs/protocol.md`; this crate is the
//! single Rust definition of it: each frame is one type here, which the server decodes into
//! or serializes from and every client builds from, so no side writes a frame by hand.
//!
//! # Layout
//! - [`channel`]: channel names, the default channel [`GLOBAL`], the subscription limit.
//! - [`client`]: what a client sends ([`ClientFrame`], [`Publish`]), with the payload kept as
//!   the JSON text it was sent as.
//! - [`server`]: what a region sends ([`ServerFrame`]: `welcome`, `ack`, `event`,
//!   `caught_up`, `gap`, `epoch`, `error`), and [`EventFrame`], which serializes borrowed
//!   straight from a stored event ([`EventRef`]) and deserializes owned.
//! - [`ErrorCode`]: every error code, with its wire name and whether it is temporary.
//! - [`broker`]: which broker a region runs on ([`BrokerKind`], [`BrokerStatus`]).
//! - [`presence`]: members of channels ([`Member`]), display names, the listing bound.
//! - [`http`]: the JSON bodies of `GET /health` and `GET /regions`.
//! - [`limits`]: the documented input limits every server enforces.
//! - [`sim`]: the body of `GET`/`PUT /sim` (a region's simulated link to the broker) and its
//!   presets. Not part of the WebSocket protocol.

pub mod broker;
pub mod channel;
pub mod client;
mod error_code;
pub mod http;
pub mod presence;
pub mod server;
pub mod sim;

pub use self::broker::{BrokerKind, BrokerStatus};
pub use self::channel::{ChannelPosition, GLOBAL};
pub use self::client::{ClientFrame, Publish, Subscribe, Unsubscribe};
pub use self::error_code::ErrorCode;
pub use self::http::{Health, RegionInfo};
pub use self::presence::Member;
pub use self::server::{EventFrame, EventRef, ServerFrame};

/// Position of an event in its channel: the first event of a channel has offset 1, each
/// next one +1. Offset 0 means "before the first event".
pub type Offset = u64;

/// Microseconds since the Unix epoch, read from the clock of whoever stamped it.
pub type Micros = u64;

/// The default regions, in the order every UI and listing shows them (their ports are the
/// server's `defaults::REGIONS`).
pub const REGIONS: [&str; 3] = ["as", "us", "eu"];

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
