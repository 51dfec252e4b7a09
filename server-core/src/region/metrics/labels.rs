//! The labels of a region's metrics: the label values (transport, outcome, operation) and
//! the label sets of each family. The `region` label is the registry's, on every series.

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};

/// How a client is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// The native protocol at `/ws` (label `ws`).
    Ws,
    /// Socket.IO at `/socket.io/` (label `socketio`).
    SocketIo,
    /// The server API, `POST /publish` (label `http`): publishes only.
    Http,
}

/// What became of one publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Stored at a new offset (label `stored`).
    Stored,
    /// Its id was already in the history: acked, nothing stored (label `duplicate`).
    Duplicate,
    /// Answered with an error frame; the `code` label says which (label `refused`).
    Refused,
}

/// The broker operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Storing a client's publish (label `publish`).
    Publish,
    /// The feed's read of the log (label `read`).
    Read,
    /// Reading history for a resume (label `history`).
    History,
    /// Telling, renewing or reading presence (label `presence`).
    Presence,
}

/// Label values: each enum as the name its doc comment gives.
macro_rules! label_values {
    ($($ty:ident { $($variant:ident => $name:literal),* $(,)? })*) => {$(
        impl $ty {
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),*
                }
            }
        }

        impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                EncodeLabelValue::encode(&self.as_str(), encoder)
            }
        }
    )*};
}

label_values! {
    Transport { Ws => "ws", SocketIo => "socketio", Http => "http" }
    Outcome { Stored => "stored", Duplicate => "duplicate", Refused => "refused" }
    Operation { Publish => "publish", Read => "read", History => "history", Presence => "presence" }
}

/// The label set `transport`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ByTransport(pub(super) Transport);

impl EncodeLabelSet for ByTransport {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [("transport", self.0)].encode(encoder)
    }
}

/// The label set `operation`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ByOperation(pub(super) Operation);

impl EncodeLabelSet for ByOperation {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [("operation", self.0)].encode(encoder)
    }
}

/// Labels of `multiregion_publishes_total`: `code` only on refusals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PublishLabels {
    pub(super) transport: Transport,
    pub(super) outcome: Outcome,
    pub(super) code: Option<String>,
}

impl EncodeLabelSet for PublishLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ByTransport(self.transport).encode(encoder)?;
        [("outcome", self.outcome)].encode(encoder)?;
        match &self.code {
            Some(code) => [("code", code.as_str())].encode(encoder),
            None => Ok(()),
        }
    }
}
