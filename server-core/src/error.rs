//! Errors at the broker boundary, as data: a kind per way things go wrong, with the cause
//! kept as its source, and whether retrying may help derived from the kind.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What can go wrong talking to a broker.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The broker could not be reached or did not answer in time; retrying may succeed.
    #[error("broker unavailable: {0}")]
    Unavailable(#[from] Unavailable),
    /// The broker answered with something this version does not understand.
    #[error("broker protocol error: {0}")]
    Protocol(#[from] Protocol),
    /// The broker is set up in a way the log cannot work with; the message says what to
    /// change. Retrying does not help.
    #[error("broker misconfigured: {0}")]
    Config(#[from] Misconfigured),
    /// The event was stored, but not confirmed as durable as configured (`--acks
    /// replicas:N`); retrying with the same id stores nothing twice and may succeed.
    #[error("not durable yet: {0}")]
    NotDurable(#[from] NotDurable),
}

impl BrokerError {
    /// True when retrying the same operation later may succeed (the broker is back, the
    /// replicas caught up); false when something must be changed first.
    pub fn temporary(&self) -> bool {
        matches!(
            self,
            BrokerError::Unavailable(_) | BrokerError::NotDurable(_)
        )
    }
}

/// Why the broker could not be reached.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    /// Redis refused or dropped the connection, or did not answer within the response
    /// timeout.
    #[error(transparent)]
    Redis(redis::RedisError),
    /// No connection could be made within this long.
    #[error("no connection to Redis within {0:?}")]
    ConnectTimeout(Duration),
    /// A live read did not answer within its wait plus the grace period.
    #[error("no answer from the broker within {0:?}: the connection stalled")]
    Stalled(Duration),
    /// The region's simulated link is cut off.
    #[error("this region is cut off from the broker (simulated network partition)")]
    CutOff,
    /// A publish that was not tried because an earlier one of its batch failed first.
    #[error("not tried: an earlier publish of this connection failed first ({0})")]
    NotTried(Arc<BrokerError>),
    /// A publish refused because the one sent before it on its connection (this id, of the
    /// same channel) is not stored: storing it would break the order it was sent in.
    #[error("not stored: the publish sent before it ({0:?}) is not stored; retry both, in order")]
    OutOfOrder(String),
}

/// An answer this version does not understand.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Protocol {
    /// Redis answered a command with an error that is not about reaching it.
    #[error(transparent)]
    Redis(redis::RedisError),
    /// A reply of another shape than the command has.
    #[error("expected {expected}, got {got}")]
    Reply {
        /// What the command answers.
        expected: &'static str,
        /// What came, as Redis's value printed.
        got: String,
    },
    /// A stream entry without the fields the log writes.
    #[error("malformed stream entry: {0}")]
    Entry(&'static str),
    /// An entry whose data is not an event.
    #[error("entry data is not an event: {0}")]
    Body(Arc<serde_json::Error>),
    /// The log's epoch changed under every try of one publish.
    #[error("the log epoch kept changing")]
    EpochChurn,
}

/// A setup the log cannot work with, and what to change.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Misconfigured {
    /// The URL cannot be used.
    #[error("bad Redis URL {url}: {why}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The CA file cannot be read.
    #[error("cannot read the Redis CA {}: {source}", path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Arc<std::io::Error>,
    },
    /// Redis may evict keys.
    #[error(
        "Redis at {url} has maxmemory-policy {policy}: it may evict the log's keys, which \
         breaks its offsets. Set maxmemory-policy noeviction (in redis.conf, or CONFIG SET \
         maxmemory-policy noeviction); when memory is full, publishes then fail with a \
         temporary error instead of corrupting the log"
    )]
    Evicting {
        /// The URL.
        url: String,
        /// Its `maxmemory-policy`.
        policy: String,
    },
    /// A cluster URL at a Redis without cluster mode.
    #[error(
        "{url} names a Redis Cluster, but {node} runs without cluster mode: use --redis \
         redis://HOST:PORT for a single Redis (or start the nodes with cluster-enabled yes)"
    )]
    NotACluster {
        /// The URL.
        url: String,
        /// The node asked.
        node: String,
    },
    /// The log is split into another number of partitions than this process's.
    #[error(
        "the log under prefix {prefix} has {found} partitions, but this process is configured \
         with {configured}: start every process of the deployment with --partitions {found}, \
         or use another --redis-prefix for a new log"
    )]
    Partitions {
        /// The log's key prefix.
        prefix: String,
        /// Its partitions.
        found: u16,
        /// This process's.
        configured: u16,
    },
    /// A single-server URL at a node of a cluster.
    #[error(
        "{url} is a node of a Redis Cluster: use --redis redis+cluster://HOST:PORT,… so that \
         commands reach the node that holds the log"
    )]
    ClusterNode {
        /// The URL.
        url: String,
    },
}

/// A publish stored but not confirmed by as many replicas as acks need.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stored at offset {offset}, but only {confirmed} of {needed} replicas confirmed it within {waited:?}")]
pub struct NotDurable {
    /// Where it is stored.
    pub offset: wire::Offset,
    /// Replicas that confirmed it.
    pub confirmed: i64,
    /// Replicas acks need.
    pub needed: u32,
    /// How long `WAIT` waited.
    pub waited: Duration,
}

impl From<redis::RedisError> for BrokerError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            Unavailable::Redis(e).into()
        } else {
            Protocol::Redis(e).into()
        }
    }
}

/// Result alias for broker operations.
pub type Result<T> = std::result::Result<T, BrokerError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a retry may help follows from the kind, and the cause stays reachable.
    #[test]
    fn temporary_follows_the_kind_and_the_source_is_kept() {
        let io = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let e = BrokerError::from(io);
        assert!(e.temporary() && matches!(e, BrokerError::Unavailable(Unavailable::Redis(_))));
        assert!(std::error::Error::source(&e).is_some());
        assert!(BrokerError::from(Unavailable::CutOff).temporary());
        let config = BrokerError::from(Misconfigured::ClusterNode {
            url: "redis://x".into(),
        });
        assert!(!config.temporary());
        assert!(config.to_string().contains("redis+cluster://"), "{config}");
        let not_tried = Unavailable::NotTried(Arc::new(
            Unavailable::Stalled(Duration::from_secs(5)).into(),
        ));
        assert!(not_tried.to_string().contains("stalled"), "{not_tried}");
    }
}
