//! The JSON bodies of a region's `GET /health` and `GET /regions`.

use crate::{BrokerKind, Micros, Offset};
use serde::{Deserialize, Serialize};

/// Body of `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Region name.
    pub region: String,
    /// Which broker the region runs on.
    pub broker: BrokerKind,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_from_a_server_without_a_clock_still_reads() {
        let h: Health = serde_json::from_str(
            r#"{"region":"us","broker":"redis","connected":true,"clients":3,"offset":42,"epoch":"e"}"#,
        )
        .unwrap();
        assert_eq!((h.offset, h.now, h.broker), (42, 0, BrokerKind::Redis));
    }
}
