//! Choosing the broker the regions share, and saying why: one chain for `multiregion serve`,
//! the desktop app and the bench.
//!
//! A choice is a list of [`Step`]s tried in order; the first that works is used and the
//! reasons the earlier ones were skipped go into its description. The usual chain is: a
//! Redis URL the user gave (`--redis`, `REDIS_URL`) → the Redis at
//! [`defaults::REDIS_URL`] if it answers within [`defaults::PROBE_TIMEOUT`] → a private
//! `redis-server` (only when the caller asks for that step) → the embedded broker, which
//! cannot fail. [`serve_plan`] and [`plan`] build the lists the CLI and the desktop use.

use crate::broker::{BrokerKind, MemoryBroker, RedisBroker, RedisConfig, SharedBroker};
use crate::defaults;
use redis_process::{RedisOptions, RedisProcess};
use std::sync::Arc;
use std::time::Duration;

/// One way to get a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A Redis URL the user gave; it has [`defaults::CONNECT_TIMEOUT`] to connect.
    Url(String),
    /// A Redis that is used only if it answers within [`defaults::PROBE_TIMEOUT`].
    Local(String),
    /// A private redis-server started for this process on a free port, stopped on release.
    Private,
    /// The in-process broker (never fails).
    Embedded,
}

/// Which path the desktop's automatic choice takes (`MULTIREGION_BROKER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrokerMode {
    /// `REDIS_URL` or the local Redis, then a private redis-server, then embedded.
    #[default]
    Auto,
    /// A private redis-server (embedded if it cannot start).
    Private,
    /// The embedded broker.
    Embedded,
}

impl BrokerMode {
    /// Parse `auto`, `private` or `embedded` (unset or empty: auto); anything else is an
    /// error naming the allowed values.
    pub fn parse(value: Option<&str>) -> Result<BrokerMode, UnknownMode> {
        match value.map(str::trim) {
            None | Some("") | Some("auto") => Ok(BrokerMode::Auto),
            Some("private") => Ok(BrokerMode::Private),
            Some("embedded") => Ok(BrokerMode::Embedded),
            Some(other) => Err(UnknownMode(other.to_owned())),
        }
    }
}

/// A `MULTIREGION_BROKER` value that is not a [`BrokerMode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MULTIREGION_BROKER={0:?} is not auto, private or embedded")]
pub struct UnknownMode(pub String);

/// The desktop's chain: in `Auto`, `redis_url` (if set) instead of the default local Redis,
/// then a private redis-server if `private` (redis-server is on the PATH), then embedded.
/// Every plan ends at the embedded broker, so the app always opens. Pure.
pub fn plan(mode: BrokerMode, redis_url: Option<&str>, private: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    match mode {
        BrokerMode::Auto => {
            match redis_url.map(str::trim).filter(|u| !u.is_empty()) {
                Some(url) => steps.push(Step::Url(url.into())),
                None => steps.push(Step::Local(defaults::REDIS_URL.into())),
            }
            if private {
                steps.push(Step::Private);
            }
        }
        BrokerMode::Private => steps.push(Step::Private),
        BrokerMode::Embedded => {}
    }
    steps.push(Step::Embedded);
    steps
}

/// `multiregion serve`'s chain: the `--redis` URL alone (an unreachable one is an error, not
/// a fallback), else `local` if it answers, else a private redis-server if `private`
/// (`--private-redis`: the desktop's chain), else embedded. Pure.
pub fn serve_plan(redis: Option<&str>, local: &str, private: bool) -> Vec<Step> {
    match redis {
        Some(url) => vec![Step::Url(url.into())],
        None if private => vec![Step::Local(local.into()), Step::Private, Step::Embedded],
        None => vec![Step::Local(local.into()), Step::Embedded],
    }
}

pub use wire::BrokerStatus;

/// A connected broker, what is said about it, and the private redis-server behind it.
pub struct ChosenBroker {
    /// The broker the regions share.
    pub broker: SharedBroker,
    /// Kind, description, URL.
    pub status: BrokerStatus,
    /// The private redis-server, if this choice started one: killed when dropped, stopped
    /// gracefully by [`release`](Self::release).
    pub private: Option<RedisProcess>,
}

impl ChosenBroker {
    /// Stop the private redis-server, if any (gracefully, on a blocking thread). Call it once
    /// the regions on this broker have stopped.
    pub async fn release(self) {
        if let Some(redis) = self.private {
            let _ = tokio::task::spawn_blocking(move || redis.stop()).await;
        }
    }
}

/// Why no broker could be chosen (only when the plan does not end at [`Step::Embedded`]).
#[derive(Debug, thiserror::Error)]
pub enum ChoiceError {
    /// A Redis URL could not be used.
    #[error("could not use Redis at {url} ({reason})")]
    Redis {
        /// The URL.
        url: String,
        /// Why, in words.
        reason: String,
    },
    /// The private redis-server could not be started or reached.
    #[error("could not start a private redis-server: {0}")]
    Private(String),
}

/// Try `steps` in order and return the first broker that works, its description saying
/// which and why earlier steps were skipped. If every step fails, the last step's error; an
/// empty plan chooses the embedded broker.
///
/// `log` holds the log's settings for every Redis tried (each step replaces its `url`: prefix,
/// history, acks, CA, timeouts); its `history` is also what the embedded broker keeps.
pub async fn choose(steps: &[Step], log: &RedisConfig) -> Result<ChosenBroker, ChoiceError> {
    let mut skipped: Vec<String> = Vec::new();
    let mut last = None;
    for step in steps {
        let tried = match step {
            Step::Url(url) => connect(url, log, defaults::CONNECT_TIMEOUT)
                .await
                .map(|broker| redis_choice(broker, url, format!("redis at {url}"))),
            Step::Local(url) => match connect(url, log, defaults::PROBE_TIMEOUT).await {
                Ok(broker) => Ok(redis_choice(broker, url, format!("redis at {url}"))),
                Err(_) => Err(ChoiceError::Redis {
                    url: url.clone(),
                    reason: "no answer".into(),
                }),
            },
            Step::Private => start_private(log).await,
            Step::Embedded => Ok(embedded(log)),
        };
        match tried {
            Ok(mut chosen) => {
                if !skipped.is_empty() {
                    chosen.status.description =
                        format!("{}: {}", chosen.status.description, skipped.join("; "));
                }
                return Ok(chosen);
            }
            Err(e) => {
                skipped.push(match (step, &e) {
                    (Step::Local(url), _) => format!("no Redis answered at {url}"),
                    _ => e.to_string(),
                });
                last = Some(e);
            }
        }
    }
    match last {
        Some(e) => Err(e),
        None => Ok(embedded(log)),
    }
}

/// Connect to the Redis at `url` within `timeout`. A setting of that Redis that would break
/// the log (an evicting `maxmemory-policy`, a cluster URL on a plain Redis) fails here with
/// what to change.
async fn connect(
    url: &str,
    log: &RedisConfig,
    timeout: Duration,
) -> Result<RedisBroker, ChoiceError> {
    let config = RedisConfig {
        url: url.into(),
        ..log.clone()
    };
    let failed = |reason: String| ChoiceError::Redis {
        url: url.into(),
        reason,
    };
    match tokio::time::timeout(timeout, RedisBroker::connect(config)).await {
        Ok(Ok(broker)) => Ok(broker),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(failed(format!("no answer within {} s", timeout.as_secs()))),
    }
}

async fn start_private(log: &RedisConfig) -> Result<ChosenBroker, ChoiceError> {
    let options = RedisOptions {
        start_timeout: Duration::from_secs(5),
        ..RedisOptions::default()
    };
    let redis = tokio::task::spawn_blocking(move || RedisProcess::start(options))
        .await
        .map_err(|e| ChoiceError::Private(e.to_string()))?
        .map_err(|e| ChoiceError::Private(e.to_string()))?;
    let url = redis.url();
    let broker = match connect(&url, log, defaults::CONNECT_TIMEOUT).await {
        Ok(b) => b,
        Err(e) => {
            let _ = tokio::task::spawn_blocking(move || redis.stop()).await;
            return Err(ChoiceError::Private(e.to_string()));
        }
    };
    let mut chosen = redis_choice(
        broker,
        &url,
        format!("private redis-server at {url}, started by this process and stopped on exit"),
    );
    chosen.private = Some(redis);
    chosen.status.private = true;
    Ok(chosen)
}

/// A Redis choice; what weakens the log (no persistence with acks by the primary only) is
/// added to the description, so the first log line and the desktop say it.
fn redis_choice(broker: RedisBroker, url: &str, mut description: String) -> ChosenBroker {
    for warning in broker.warnings() {
        description.push_str(&format!(" (warning: {warning})"));
    }
    ChosenBroker {
        broker: Arc::new(broker),
        status: BrokerStatus {
            kind: BrokerKind::Redis,
            description,
            url: Some(url.into()),
            private: false,
        },
        private: None,
    }
}

/// The embedded broker, with the log's history and partitions.
fn embedded(log: &RedisConfig) -> ChosenBroker {
    ChosenBroker {
        broker: Arc::new(MemoryBroker::with_partitions(log.history, log.partitions)),
        status: BrokerStatus {
            kind: BrokerKind::Embedded,
            description: "Embedded broker (in-process: events are not shared with other \
                          processes and are lost on exit)"
                .into(),
            url: None,
            private: false,
        },
        private: None,
    }
}

mod settings;

pub use self::settings::BrokerSettings;

#[cfg(test)]
mod tests;
