//! Choosing the broker the regions share, and saying why.
//!
//! Automatic order: `REDIS_URL` if set; else a Redis at `127.0.0.1:6379` if one answers within
//! a second; else a private `redis-server` the app starts (if one is on the `PATH`); else the
//! embedded broker. `MULTIREGION_BROKER=private|embedded` forces a path. Whatever fails, the
//! next step is tried, so the app always opens: the embedded broker cannot fail.

use crate::error::{Error, Result};
use crate::private_redis::PrivateRedis;
use serde::Serialize;
use server_core::broker::{MemoryBroker, RedisBroker, RedisConfig, SharedBroker};
use server_core::serve::DEFAULT_REDIS_URL;
use std::sync::Arc;
use std::time::Duration;

/// Events kept in the log's history (and ids kept for deduplication).
pub const HISTORY: usize = 10_000;

/// How long the default local Redis has to answer before it is skipped.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a configured Redis URL has to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `MULTIREGION_BROKER`: which path the automatic choice takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrokerMode {
    /// `REDIS_URL`, local Redis, private redis-server, embedded: the first that works.
    #[default]
    Auto,
    /// A private redis-server (embedded if it cannot start).
    Private,
    /// The embedded broker.
    Embedded,
}

impl BrokerMode {
    /// Parse the env value; unknown values are an error naming the allowed ones.
    pub fn parse(value: Option<&str>) -> std::result::Result<BrokerMode, String> {
        match value.map(str::trim) {
            None | Some("") | Some("auto") => Ok(BrokerMode::Auto),
            Some("private") => Ok(BrokerMode::Private),
            Some("embedded") => Ok(BrokerMode::Embedded),
            Some(other) => Err(format!(
                "MULTIREGION_BROKER={other:?} is not auto, private or embedded"
            )),
        }
    }
}

/// One way to get a broker, tried in order by [`choose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A Redis URL given by the user (`REDIS_URL` or the settings panel).
    Url(String),
    /// The Redis at [`DEFAULT_REDIS_URL`], if it answers.
    DefaultLocal,
    /// A private redis-server started by the app.
    Private,
    /// The in-process broker.
    Embedded,
}

/// The steps the automatic choice tries, in order. Pure, so it is unit-tested.
pub fn plan(mode: BrokerMode, redis_url: Option<&str>, redis_server_on_path: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    match mode {
        BrokerMode::Auto => {
            match redis_url.map(str::trim).filter(|u| !u.is_empty()) {
                Some(url) => steps.push(Step::Url(url.into())),
                None => steps.push(Step::DefaultLocal),
            }
            if redis_server_on_path {
                steps.push(Step::Private);
            }
        }
        BrokerMode::Private => steps.push(Step::Private),
        BrokerMode::Embedded => {}
    }
    steps.push(Step::Embedded);
    steps
}

/// What the UI shows about the broker (`broker_status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerStatus {
    /// `redis` or `embedded`.
    pub kind: &'static str,
    /// Which broker and why, in words.
    pub description: String,
    /// The Redis URL, `None` for the embedded broker.
    pub url: Option<String>,
    /// True for the redis-server this app started itself: no other process shares its log.
    pub private: bool,
}

/// A connected broker, its status, and the private redis-server behind it, if any.
pub struct ChosenBroker {
    /// The broker the regions share.
    pub broker: SharedBroker,
    /// What the UI shows.
    pub status: BrokerStatus,
    /// Stopped when this broker is replaced or the app exits.
    pub private: Option<PrivateRedis>,
}

/// Connect to the Redis at `url`, failing with a message for the UI.
pub async fn connect_url(url: &str) -> Result<SharedBroker> {
    let failed = |reason: String| Error::Redis {
        url: url.into(),
        reason,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, RedisBroker::connect(RedisConfig::new(url))).await {
        Ok(Ok(broker)) => Ok(Arc::new(broker)),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(failed(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// A broker for a URL the user typed in the settings panel.
pub async fn from_url(url: &str) -> Result<ChosenBroker> {
    let broker = connect_url(url).await?;
    Ok(redis_choice(
        broker,
        url,
        format!("Redis at {url} (set in the app)"),
    ))
}

/// Try `steps` in order and return the first broker that works; the description says which
/// one and why the earlier ones were skipped.
pub async fn choose(steps: &[Step]) -> ChosenBroker {
    let mut skipped: Vec<String> = Vec::new();
    for step in steps {
        match step {
            Step::Url(url) => match connect_url(url).await {
                Ok(b) => return redis_choice(b, url, format!("Redis at {url} (REDIS_URL)")),
                Err(e) => skipped.push(format!("REDIS_URL: {e}")),
            },
            Step::DefaultLocal => {
                let probe = tokio::time::timeout(
                    PROBE_TIMEOUT,
                    RedisBroker::connect(RedisConfig::new(DEFAULT_REDIS_URL)),
                )
                .await;
                match probe {
                    Ok(Ok(b)) => {
                        let why = format!("local Redis at {DEFAULT_REDIS_URL}");
                        return redis_choice(Arc::new(b), DEFAULT_REDIS_URL, why);
                    }
                    _ => skipped.push(format!("no Redis answered at {DEFAULT_REDIS_URL}")),
                }
            }
            Step::Private => match start_private().await {
                Ok(chosen) => return with_reasons(chosen, &skipped),
                Err(e) => skipped.push(e.to_string()),
            },
            Step::Embedded => break,
        }
    }
    if PrivateRedis::find().is_none() && !steps.contains(&Step::Private) {
        skipped.push("no redis-server on the PATH".into());
    }
    let chosen = ChosenBroker {
        broker: Arc::new(MemoryBroker::new(HISTORY)),
        status: BrokerStatus {
            kind: "embedded",
            description: "Embedded broker (in this app only; events are not shared with other \
                          processes and are lost on exit)"
                .into(),
            url: None,
            private: false,
        },
        private: None,
    };
    with_reasons(chosen, &skipped)
}

async fn start_private() -> Result<ChosenBroker> {
    let redis = PrivateRedis::start().await?;
    let url = redis.url();
    let broker = match connect_url(&url).await {
        Ok(b) => b,
        Err(e) => {
            redis.stop().await;
            return Err(e);
        }
    };
    let mut chosen = redis_choice(
        broker,
        &url,
        format!("private redis-server started by the app at {url} (stopped on exit)"),
    );
    chosen.private = Some(redis);
    chosen.status.private = true;
    Ok(chosen)
}

fn redis_choice(broker: SharedBroker, url: &str, description: String) -> ChosenBroker {
    ChosenBroker {
        broker,
        status: BrokerStatus {
            kind: "redis",
            description,
            url: Some(url.into()),
            private: false,
        },
        private: None,
    }
}

fn with_reasons(mut chosen: ChosenBroker, skipped: &[String]) -> ChosenBroker {
    if !skipped.is_empty() {
        chosen.status.description =
            format!("{}: {}", chosen.status.description, skipped.join("; "));
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Auto tries `REDIS_URL` instead of the default local Redis, then private, then embedded.
    #[test]
    fn auto_prefers_redis_url_then_private_then_embedded() {
        assert_eq!(
            plan(BrokerMode::Auto, Some("redis://h:1"), true),
            [
                Step::Url("redis://h:1".into()),
                Step::Private,
                Step::Embedded
            ]
        );
        assert_eq!(
            plan(BrokerMode::Auto, None, true),
            [Step::DefaultLocal, Step::Private, Step::Embedded]
        );
        assert_eq!(
            plan(BrokerMode::Auto, Some("  "), false),
            [Step::DefaultLocal, Step::Embedded]
        );
    }

    /// The env override forces a path, always ending at the embedded broker.
    #[test]
    fn override_forces_a_path() {
        assert_eq!(
            plan(BrokerMode::Private, Some("redis://h:1"), true),
            [Step::Private, Step::Embedded]
        );
        assert_eq!(
            plan(BrokerMode::Embedded, Some("redis://h:1"), true),
            [Step::Embedded]
        );
    }

    /// `MULTIREGION_BROKER` values; a typo is an error that lists the allowed ones.
    #[test]
    fn parses_the_mode() {
        assert_eq!(BrokerMode::parse(None), Ok(BrokerMode::Auto));
        assert_eq!(BrokerMode::parse(Some("auto")), Ok(BrokerMode::Auto));
        assert_eq!(BrokerMode::parse(Some("private")), Ok(BrokerMode::Private));
        assert_eq!(
            BrokerMode::parse(Some("embedded")),
            Ok(BrokerMode::Embedded)
        );
        assert!(BrokerMode::parse(Some("redis"))
            .unwrap_err()
            .contains("auto, private or embedded"));
    }

    /// The embedded broker is labelled as such and has no URL.
    #[tokio::test]
    async fn embedded_is_labelled() {
        let chosen = choose(&plan(BrokerMode::Embedded, None, false)).await;
        assert_eq!(chosen.status.kind, "embedded");
        assert_eq!(chosen.status.url, None);
        assert!(chosen.status.description.starts_with("Embedded broker"));
        assert!(chosen.private.is_none());
    }

    /// An unreachable `REDIS_URL` is skipped with its reason, and the next step is used.
    #[tokio::test]
    async fn unreachable_url_falls_through_with_reason() {
        let chosen = choose(&[Step::Url("redis://127.0.0.1:1".into()), Step::Embedded]).await;
        assert_eq!(chosen.status.kind, "embedded");
        assert!(chosen.status.description.contains("redis://127.0.0.1:1"));
    }

    /// A bad URL typed by the user is an error that names it.
    #[tokio::test]
    async fn bad_url_is_an_error() {
        let err = from_url("not a url").await.err().expect("error");
        assert!(err.to_string().contains("not a url"));
    }

    /// The private path starts redis-server, and the status carries its URL.
    #[tokio::test]
    async fn private_path_starts_redis_server() {
        if crate::private_redis::redis_missing() {
            return;
        }
        let chosen = choose(&plan(BrokerMode::Private, None, true)).await;
        let private = chosen.private.expect("private redis");
        assert_eq!(chosen.status.kind, "redis");
        assert_eq!(chosen.status.url, Some(private.url()));
        private.stop().await;
    }
}
