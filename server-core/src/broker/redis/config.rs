//! How to reach and lay out the Redis log ([`RedisConfig`]), and when publishes are acked
//! ([`Acks`]).

use crate::defaults;
use std::path::PathBuf;
use std::time::Duration;

/// When a publish is acknowledged to its client. Written as `primary` or `replicas:N` (flags,
/// files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Acks {
    /// As soon as the primary stored it: as durable as the primary's persistence.
    #[default]
    Primary,
    /// Only once `WAIT` confirms that this many replicas hold it too; otherwise the publish
    /// fails with a temporary error (the client retries by id, which stores nothing twice).
    Replicas(u32),
}

impl std::str::FromStr for Acks {
    type Err = BadAcks;

    /// `primary` or `replicas:N` (N ≥ 1).
    fn from_str(s: &str) -> std::result::Result<Self, BadAcks> {
        if s == "primary" {
            return Ok(Acks::Primary);
        }
        match s.strip_prefix("replicas:").map(str::parse::<u32>) {
            Some(Ok(n)) if n >= 1 => Ok(Acks::Replicas(n)),
            _ => Err(BadAcks(s.to_owned())),
        }
    }
}

impl std::fmt::Display for Acks {
    /// As [`FromStr`](std::str::FromStr) reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Acks::Primary => f.write_str("primary"),
            Acks::Replicas(n) => write!(f, "replicas:{n}"),
        }
    }
}

impl TryFrom<String> for Acks {
    type Error = BadAcks;

    fn try_from(s: String) -> std::result::Result<Self, BadAcks> {
        s.parse()
    }
}

impl From<Acks> for String {
    fn from(acks: Acks) -> String {
        acks.to_string()
    }
}

/// A value of `--acks` that is neither `primary` nor `replicas:N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected `primary` or `replicas:N` with N ≥ 1")]
pub struct BadAcks(pub String);

/// How to reach and lay out the Redis log.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port[/db]`, `rediss://…` (TLS), `redis+sentinel://h1:p1,h2:p2/MASTER`,
    /// or `redis+cluster://h1:p1,h2:p2`.
    pub url: String,
    /// Key prefix, so several independent logs can share one Redis.
    pub prefix: String,
    /// Partitions the log is split into: every process sharing the log must agree.
    pub partitions: u16,
    /// Events kept per partition (and ids kept for deduplication).
    pub history: usize,
    /// How long a connect or a request may wait for an answer before it fails as
    /// unavailable (and the connection is replaced).
    pub response_timeout: Duration,
    /// When publishes are acked.
    pub acks: Acks,
    /// With [`Acks::Replicas`], how long `WAIT` waits for the replicas.
    pub ack_timeout: Duration,
    /// PEM file of the CA that signed the server's certificate (`rediss://`), when it is not
    /// in the system's trust store.
    pub ca_file: Option<PathBuf>,
}

impl RedisConfig {
    /// Defaults for `url`: prefix `mrs`, 12 partitions, history 10,000, 2 s response timeout, acks by the
    /// primary (1 s `WAIT` when replicas are asked for), the system's CAs.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: defaults::REDIS_PREFIX.into(),
            partitions: defaults::PARTITIONS,
            history: defaults::HISTORY,
            response_timeout: defaults::REDIS_RESPONSE_TIMEOUT,
            acks: Acks::Primary,
            ack_timeout: defaults::ACKS_TIMEOUT,
            ca_file: None,
        }
    }
}

impl RedisConfig {
    /// How long a request on the shared connection may wait for its answer: the response
    /// timeout, plus the `WAIT` for replicas when acks need them (a publish's answer
    /// legitimately waits that long; a shorter timeout would fail every publish whose
    /// replicas are slow as "unavailable", and drop the connection).
    pub fn request_timeout(&self) -> Duration {
        match self.acks {
            Acks::Primary => self.response_timeout,
            Acks::Replicas(_) => self.response_timeout + self.ack_timeout,
        }
    }
}

impl Default for RedisConfig {
    /// The defaults, at [`defaults::REDIS_URL`].
    fn default() -> Self {
        RedisConfig::new(defaults::REDIS_URL)
    }
}

#[cfg(test)]
mod tests {
    use super::Acks;

    /// `--acks` takes `primary` or `replicas:N` with N ≥ 1, and says what it expects otherwise.
    #[test]
    fn acks_parse_primary_and_replicas() {
        assert_eq!("primary".parse::<Acks>(), Ok(Acks::Primary));
        assert_eq!("replicas:2".parse::<Acks>(), Ok(Acks::Replicas(2)));
        for bad in ["replicas:0", "replicas:", "replicas:x", "all", ""] {
            let err = bad.parse::<Acks>().unwrap_err().to_string();
            assert!(err.contains("replicas:N"), "{bad}: {err}");
        }
    }
}
