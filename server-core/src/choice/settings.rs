//! The broker's settings ([`BrokerSettings`]): which Redis, or which fallback, and how the
//! log is laid out and acked there. A group of `multiregion serve`'s flags and file keys.

use super::{serve_plan, Step};
use crate::broker::{Acks, RedisConfig};
use crate::defaults;
use crate::settings::Millis;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which broker the regions share, and how the log lives in Redis.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerSettings {
    /// Redis URL of the shared log. Default: redis://127.0.0.1:6379 if it answers, else (with
    /// --private-redis) a private redis-server, else the embedded broker.
    #[arg(long, env = "REDIS_URL", value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// The Redis tried when --redis is not given; if it does not answer, the next step is used.
    #[arg(long, env = "MULTIREGION_DEFAULT_REDIS", default_value = defaults::REDIS_URL, value_name = "URL")]
    pub default_redis: String,
    /// When no Redis is given or answers, start a private redis-server (stopped on exit)
    /// before falling back to the embedded broker: the desktop app's chain.
    #[arg(long, env = "MULTIREGION_PRIVATE_REDIS", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true", value_name = "BOOL")]
    pub private_redis: bool,
    /// Key prefix in Redis (separate logs can share one Redis).
    #[arg(long, env = "MULTIREGION_REDIS_PREFIX", default_value = defaults::REDIS_PREFIX)]
    pub redis_prefix: String,
    /// Partitions the log is split into: each one ordered log (a Redis stream under a hash
    /// tag of its own, spread over a Cluster's shards) holding the channels that hash to it.
    /// Every process sharing the log must say the same (it is checked at connect).
    #[arg(long, env = "MULTIREGION_PARTITIONS", default_value_t = defaults::PARTITIONS)]
    pub partitions: u16,
    /// Events kept in each partition's history (and ids kept for deduplication).
    #[arg(long, env = "MULTIREGION_HISTORY", default_value_t = defaults::HISTORY)]
    pub history: usize,
    /// When a publish is acked: `primary` (once the Redis primary stored it) or `replicas:N`
    /// (only once `WAIT` confirms N replicas hold it; otherwise the client gets a temporary
    /// error and retries by id, which never stores it twice).
    #[arg(long, env = "MULTIREGION_ACKS", default_value_t = Acks::Primary, value_name = "primary|replicas:N")]
    pub acks: Acks,
    /// How long a publish waits for its replicas with `--acks replicas:N`, in milliseconds.
    #[arg(id = "acks_timeout_ms", long = "acks-timeout-ms", env = "MULTIREGION_ACKS_TIMEOUT_MS",
          value_name = "MS", default_value_t = Millis(defaults::ACKS_TIMEOUT))]
    #[serde(rename = "acks_timeout_ms")]
    pub acks_timeout: Millis,
    /// PEM file of the CA that signed the Redis server's certificate (`rediss://`), when it
    /// is not in the system's trust store.
    #[arg(long, env = "MULTIREGION_REDIS_CA", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_ca: Option<PathBuf>,
}

impl BrokerSettings {
    /// The steps `multiregion serve` tries ([`serve_plan`]).
    pub fn plan(&self) -> Vec<Step> {
        serve_plan(
            self.redis.as_deref(),
            &self.default_redis,
            self.private_redis,
        )
    }

    /// The log's settings for every Redis tried (each step of the choice sets the URL).
    pub fn log(&self) -> RedisConfig {
        RedisConfig {
            prefix: self.redis_prefix.clone(),
            partitions: self.partitions,
            history: self.history,
            acks: self.acks,
            ack_timeout: self.acks_timeout.get(),
            ca_file: self.redis_ca.clone(),
            ..RedisConfig::default()
        }
    }
}
