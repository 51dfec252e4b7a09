//! The error codes of the protocol: one enum, so a code is never a loose string.
//!
//! Every frame that carries a code (the WebSocket `error` frame and the JSON body of a
//! refused HTTP request) uses [`ErrorCode`]. On the wire a code is its snake_case name
//! (`"rate_limited"`). The table of codes in `docs/protocol.md` lists exactly
//! [`ErrorCode::ALL`] with the same `temporary` flags; a test in this crate checks it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a request was refused or could not be served.
///
/// A code this version does not know (sent by a newer server) deserializes as
/// [`ErrorCode::Other`] with its wire name kept, so an older client still reads the frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON.
    InvalidJson,
    /// Not an object, no `type`, or missing/mistyped fields.
    InvalidFrame,
    /// `type` is not a client frame type.
    UnknownType,
    /// JSON nested deeper than the limit.
    TooDeep,
    /// A publish id empty, too long, or with control characters.
    InvalidId,
    /// An event kind empty, too long, or with control characters.
    InvalidKind,
    /// A payload over the limit as sent.
    PayloadTooLarge,
    /// A binary WebSocket frame.
    BinaryNotSupported,
    /// Over the per-connection publish rate; retry the id later.
    RateLimited,
    /// The broker could not store or read; retry with the same id.
    BrokerUnavailable,
    /// A WebSocket message over the limit; the socket is then closed (1009).
    FrameTooLarge,
    /// The client fell too far behind; it is disconnected (1008) and resumes with `since`.
    SlowConsumer,
    /// HTTP 403: the request came from a web origin this server does not accept.
    ForbiddenOrigin,
    /// HTTP 401: the region requires a token and the request has none that matches.
    Unauthorized,
    /// HTTP 400 on `PUT /sim`: the body is not valid link settings.
    InvalidSim,
    /// HTTP 503 on `/ws` or a Socket.IO connect: the region holds its maximum of connections.
    TooManyConnections,
    /// A channel name outside the rules (charset, length).
    InvalidChannel,
    /// More channels than one connection may follow at once.
    TooManyChannels,
    /// A display name outside the rules (charset, length).
    InvalidName,
    /// A code this version does not know, as it was sent.
    #[serde(untagged)]
    Other(String),
}

impl ErrorCode {
    /// Every code this version defines, in the order of the table in `docs/protocol.md`.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidFrame,
        ErrorCode::UnknownType,
        ErrorCode::TooDeep,
        ErrorCode::InvalidId,
        ErrorCode::InvalidKind,
        ErrorCode::PayloadTooLarge,
        ErrorCode::BinaryNotSupported,
        ErrorCode::RateLimited,
        ErrorCode::BrokerUnavailable,
        ErrorCode::FrameTooLarge,
        ErrorCode::SlowConsumer,
        ErrorCode::ForbiddenOrigin,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidSim,
        ErrorCode::TooManyConnections,
        ErrorCode::InvalidChannel,
        ErrorCode::TooManyChannels,
        ErrorCode::InvalidName,
    ];

    /// The name on the wire, e.g. `"rate_limited"`.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::TooDeep => "too_deep",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::InvalidKind => "invalid_kind",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::BinaryNotSupported => "binary_not_supported",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BrokerUnavailable => "broker_unavailable",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::SlowConsumer => "slow_consumer",
            ErrorCode::ForbiddenOrigin => "forbidden_origin",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidSim => "invalid_sim",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::InvalidChannel => "invalid_channel",
            ErrorCode::TooManyChannels => "too_many_channels",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::Other(name) => name,
        }
    }

    /// True when retrying the same request later may succeed: the `temporary` flag of every
    /// frame that carries this code.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::BrokerUnavailable
                | ErrorCode::SlowConsumer
                | ErrorCode::TooManyConnections
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_goes_on_the_wire_by_its_name_and_comes_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn an_unknown_code_is_kept_verbatim() {
        let code: ErrorCode = serde_json::from_str("\"future_code\"").unwrap();
        assert_eq!(code, ErrorCode::Other("future_code".into()));
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"future_code\"");
        assert!(!code.is_temporary());
    }

    #[test]
    fn slow_consumer_is_temporary() {
        assert!(ErrorCode::SlowConsumer.is_temporary());
    }
}
