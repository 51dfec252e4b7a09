//! Which broker a region runs on, as the protocol and the desktop app report it.

use serde::{Deserialize, Serialize};

/// Which kind of broker backs the log: `"redis"` or `"embedded"` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerKind {
    /// A Redis server (shared by every process that points at it).
    Redis,
    /// The in-process log (one process only).
    Embedded,
}

impl BrokerKind {
    /// The name on the wire and in `/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerKind::Redis => "redis",
            BrokerKind::Embedded => "embedded",
        }
    }
}

impl std::fmt::Display for BrokerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is said about the broker a process chose: the first log line of `multiregion serve`,
/// and the answer of the desktop app's `broker_status` and `set_redis_url` commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerStatus {
    /// Which kind.
    pub kind: BrokerKind,
    /// Which broker and why, in words, e.g. `private redis-server at redis://… (stopped on
    /// exit)`.
    pub description: String,
    /// The Redis URL, `None` for the embedded broker.
    pub url: Option<String>,
    /// True for a redis-server the process started itself: no other process shares its log.
    #[serde(default)]
    pub private: bool,
}
