//! Settings by concern, each documented once: the groups a region's [`RegionConfig`] is made
//! of, the broker's ([`crate::choice::BrokerSettings`]) and the deployment's
//! ([`crate::serve::Deployment`]). Each group is a set of `clap` arguments and of keys of
//! `multiregion serve`'s TOML file (the CLI flattens them), and its doc lines are the
//! `--help` text. Every default comes from [`crate::defaults`].
//!
//! [`RegionConfig`]: crate::region::RegionConfig

use crate::defaults;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A duration given in milliseconds (the `_ms` flags and keys): read and written as a whole
/// number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "u64", into = "u64")]
pub struct Millis(pub Duration);

impl Millis {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<u64> for Millis {
    fn from(ms: u64) -> Self {
        Millis(Duration::from_millis(ms))
    }
}

impl From<Millis> for u64 {
    fn from(m: Millis) -> u64 {
        m.0.as_millis() as u64
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_millis())
    }
}

impl std::str::FromStr for Millis {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>().map(Millis::from)
    }
}

/// Who may act on a region.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessConfig {
    /// Extra web origin allowed to open WebSockets (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Shared token clients must present (`?token=` or `Authorization: Bearer`).
    #[arg(long, env = "MULTIREGION_TOKEN", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What each client of a region may hold, and when it is let go.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientLimits {
    /// Clients one region holds at most (WebSocket and Socket.IO); more get 503.
    #[arg(long, env = "MULTIREGION_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Events a client may fall behind before it is disconnected as a slow consumer.
    #[arg(long, env = "MULTIREGION_CLIENT_QUEUE", default_value_t = defaults::CLIENT_QUEUE)]
    pub client_queue: usize,
    /// How long one frame may take to go out before the client counts as slow, in ms.
    #[arg(id = "write_timeout_ms", long = "write-timeout-ms", env = "MULTIREGION_WRITE_TIMEOUT_MS",
          value_name = "MS", default_value_t = Millis(defaults::WRITE_TIMEOUT))]
    #[serde(rename = "write_timeout_ms")]
    pub write_timeout: Millis,
    /// How long a slow consumer gets to read why it is disconnected, in ms.
    #[arg(id = "slow_grace_ms", long = "slow-grace-ms", env = "MULTIREGION_SLOW_GRACE_MS",
          value_name = "MS", default_value_t = Millis(defaults::SLOW_GRACE))]
    #[serde(rename = "slow_grace_ms")]
    pub slow_grace: Millis,
    /// How often each client is pinged, in ms; one silent for two intervals is dropped.
    #[arg(id = "ping_interval_ms", long = "ping-interval-ms", env = "MULTIREGION_PING_INTERVAL_MS",
          value_name = "MS", default_value_t = Millis(defaults::PING_INTERVAL))]
    #[serde(rename = "ping_interval_ms")]
    pub ping_interval: Millis,
    /// Resumes that may read history at once per region; more wait their turn.
    #[arg(long, env = "MULTIREGION_CONCURRENT_REPLAYS", default_value_t = defaults::CONCURRENT_REPLAYS)]
    pub concurrent_replays: usize,
    /// How often a region renews its presence lease, in ms; a region that stops (killed,
    /// cut off) has its members leave everywhere within about four intervals.
    #[arg(id = "presence_interval_ms", long = "presence-interval-ms", env = "MULTIREGION_PRESENCE_INTERVAL_MS",
          value_name = "MS", default_value_t = Millis(defaults::PRESENCE_INTERVAL))]
    #[serde(rename = "presence_interval_ms")]
    pub presence_interval: Millis,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            max_connections: defaults::MAX_CONNECTIONS,
            client_queue: defaults::CLIENT_QUEUE,
            write_timeout: Millis(defaults::WRITE_TIMEOUT),
            slow_grace: Millis(defaults::SLOW_GRACE),
            ping_interval: Millis(defaults::PING_INTERVAL),
            concurrent_replays: defaults::CONCURRENT_REPLAYS,
            presence_interval: Millis(defaults::PRESENCE_INTERVAL),
        }
    }
}

/// How much one connection may publish.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishLimits {
    /// Sustained publishes per second allowed per connection.
    #[arg(long, env = "MULTIREGION_PUBLISH_RATE", default_value_t = defaults::PUBLISH_RATE)]
    pub publish_rate: u32,
    /// Publishes allowed in one burst per connection.
    #[arg(long, env = "MULTIREGION_PUBLISH_BURST", default_value_t = defaults::PUBLISH_BURST)]
    pub publish_burst: u32,
    /// Frames one connection may have unanswered (publishes in flight, replies not yet
    /// sent); past it the server stops reading that socket until replies go out.
    #[arg(long, env = "MULTIREGION_PUBLISH_PIPELINE", default_value_t = defaults::PUBLISH_PIPELINE)]
    pub publish_pipeline: usize,
    /// Batches of one connection's publishes at the broker at once: with a long link to the
    /// broker, the next batch goes before the last one is answered (still stored in order).
    #[arg(long, env = "MULTIREGION_PUBLISH_BATCHES", default_value_t = defaults::PUBLISH_BATCHES)]
    pub publish_batches: usize,
}

impl Default for PublishLimits {
    fn default() -> Self {
        PublishLimits {
            publish_rate: defaults::PUBLISH_RATE,
            publish_burst: defaults::PUBLISH_BURST,
            publish_pipeline: defaults::PUBLISH_PIPELINE,
            publish_batches: defaults::PUBLISH_BATCHES,
        }
    }
}

/// A setting that must be positive, by its key, for the checks every front end makes.
pub type Positive = (&'static str, u64);

impl ClientLimits {
    /// The settings of this group that must be at least 1, by key.
    pub fn positive(&self) -> [Positive; 6] {
        [
            ("max_connections", self.max_connections as u64),
            ("client_queue", self.client_queue as u64),
            ("write_timeout_ms", self.write_timeout.into()),
            ("ping_interval_ms", self.ping_interval.into()),
            ("concurrent_replays", self.concurrent_replays as u64),
            ("presence_interval_ms", self.presence_interval.into()),
        ]
    }
}

impl PublishLimits {
    /// The settings of this group that must be at least 1, by key.
    pub fn positive(&self) -> [Positive; 4] {
        [
            ("publish_rate", self.publish_rate.into()),
            ("publish_burst", self.publish_burst.into()),
            ("publish_pipeline", self.publish_pipeline as u64),
            ("publish_batches", self.publish_batches as u64),
        ]
    }
}
