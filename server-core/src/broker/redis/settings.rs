//! Settings of Redis that break the log, refused at connect with what to change; and the
//! ones that only weaken it, warned about.
//!
//! - `maxmemory-policy` other than `noeviction`: Redis may evict the offset counter, the
//!   epoch or the id index, which breaks offsets and deduplication. Refused.
//! - A `redis+cluster://` URL pointed at a Redis without cluster mode (and a `redis://` URL
//!   pointed at a cluster node, where every command of another slot fails). Refused.
//! - No persistence at all (no RDB snapshots, no AOF) while acks do not wait for replicas: a
//!   restart loses the log (announced to clients with a new epoch, but lost). Warned.
//!
//! A Redis that refuses `CONFIG` (managed services often do) is not checked, with a warning.

use super::connect::Target;
use super::{Acks, RedisBroker};
use crate::error::{Misconfigured, Result};
use redis::{InfoDict, Value};

/// Check the settings of the Redis behind `broker`: an error says what to change; the
/// warnings returned say what weakens the log.
pub(super) async fn check(broker: &RedisBroker) -> Result<Vec<String>> {
    let url = broker.inner.config.url.clone();
    let config = match &broker.inner.target {
        Target::Cluster(nodes) => cluster_config(broker, &url, nodes).await?,
        _ => single_config(broker, &url).await?,
    };
    let config = match config {
        Ok(v) => pairs(&v),
        Err(e) => {
            return Ok(vec![format!(
                "Redis refused CONFIG GET ({e}): maxmemory-policy and persistence are not \
                 checked; make sure maxmemory-policy is noeviction"
            )]);
        }
    };
    judge(&url, &config, broker.inner.config.acks)
}

/// A cluster: its first node must run in cluster mode; the settings are read from it (the
/// nodes of one cluster share them; through the cluster client, CONFIG would go to every
/// node). The outer error refuses the URL; the inner one is CONFIG GET's own.
async fn cluster_config(
    broker: &RedisBroker,
    url: &str,
    nodes: &[String],
) -> Result<redis::RedisResult<Value>> {
    let first = nodes.first().map(String::as_str).unwrap_or_default();
    if cluster_enabled(first).await == Some(false) {
        return Err(Misconfigured::NotACluster {
            url: url.into(),
            node: first.into(),
        }
        .into());
    }
    broker
        .with_conn(|mut c| async move { redis::cmd("PING").query_async::<()>(&mut c).await })
        .await?;
    Ok(match plain(first).await {
        Some(mut conn) => config_get().query_async::<Value>(&mut conn).await,
        None => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "cannot reach the first node",
        ))),
    })
}

/// One server (or the primary the Sentinels name): it must not be a cluster node.
async fn single_config(broker: &RedisBroker, url: &str) -> Result<redis::RedisResult<Value>> {
    let info: InfoDict = broker
        .with_conn(
            |mut c| async move { redis::cmd("INFO").arg("cluster").query_async(&mut c).await },
        )
        .await?;
    if info.get::<i64>("cluster_enabled") == Some(1) {
        return Err(Misconfigured::ClusterNode { url: url.into() }.into());
    }
    let (_, mut conn) = broker
        .inner
        .conn
        .get(&broker.inner.target, &broker.inner.config)
        .await?;
    Ok(config_get().query_async::<Value>(&mut conn).await)
}

/// What `config` (CONFIG GET's pairs) means for the log: an eviction policy refuses it; no
/// persistence with acks by the primary only is a warning.
fn judge(url: &str, config: &[(String, String)], acks: Acks) -> Result<Vec<String>> {
    let get = |name: &str| {
        config
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(policy) = get("maxmemory-policy") {
        if policy != "noeviction" {
            return Err(Misconfigured::Evicting {
                url: url.into(),
                policy: policy.into(),
            }
            .into());
        }
    }
    let persists =
        get("save").is_some_and(|s| !s.trim().is_empty()) || get("appendonly") == Some("yes");
    let mut warnings = Vec::new();
    if !persists && acks == Acks::Primary {
        warnings.push(
            "Redis persists nothing (no save points, appendonly no) and acks do not wait for \
             replicas: a Redis restart loses the whole log (clients are told with an epoch \
             frame). Enable appendonly yes, or use --acks replicas:N with a replica"
                .to_string(),
        );
    }
    Ok(warnings)
}

/// `CONFIG GET` answers a flat array (RESP2) or a map (RESP3).
fn pairs(v: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => String::new(),
    };
    match v {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((text(k), text(v))),
                _ => None,
            })
            .collect(),
        Value::Map(items) => items.iter().map(|(k, v)| (text(k), text(v))).collect(),
        _ => Vec::new(),
    }
}

fn config_get() -> redis::Cmd {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET")
        .arg("maxmemory-policy")
        .arg("save")
        .arg("appendonly");
    cmd
}

/// A plain connection to one server, or `None` if it cannot be had within 2 s.
async fn plain(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
        .set_response_timeout(Some(std::time::Duration::from_secs(2)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .ok()
}

/// Whether the Redis at `url` runs in cluster mode (`None` when it cannot be asked).
async fn cluster_enabled(url: &str) -> Option<bool> {
    let mut conn = plain(url).await?;
    let info: InfoDict = redis::cmd("INFO")
        .arg("cluster")
        .query_async(&mut conn)
        .await
        .ok()?;
    Some(info.get::<i64>("cluster_enabled") == Some(1))
}
