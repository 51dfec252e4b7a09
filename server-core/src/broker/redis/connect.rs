//! Reaching Redis: one server (`redis://`, or `rediss://` over TLS, trusting the system's CAs
//! or the one in [`RedisConfig::ca_file`]), the primary a set of Sentinels names
//! (`redis+sentinel://`), or a Cluster (`redis+cluster://`); and [`SharedConn`], the one
//! reconnecting connection a broker shares for publishes and history reads.
//!
//! # Timeouts (see docs/guarantees.md)
//! - connect: [`RedisConfig::response_timeout`] (2 s by default) per attempt;
//! - response: the same per request, so a connection that went silent (a partition that drops
//!   packets without a reset) is noticed within it; the connection is then dropped and the
//!   next request opens a new one, so recovery after a heal takes one connect, not TCP's own
//!   give-up time (about 15 s of retransmissions);
//! - TCP keepalive on every socket ([`KEEPALIVE_IDLE`], probes every [`KEEPALIVE_INTERVAL`],
//!   [`KEEPALIVE_PROBES`] of them) and `TCP_USER_TIMEOUT` ([`TCP_USER_TIMEOUT`]), so the
//!   kernel also gives up on a dead peer well before its defaults (2 h idle, ~15 min unacked).

use super::RedisConfig;
use crate::error::{BrokerError, Misconfigured, Result, Unavailable};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::{socket2::TcpKeepalive, TcpSettings};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, Cmd, ConnectionAddr, IntoConnectionInfo, Pipeline, RedisFuture,
    Value,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Idle time before the first keepalive probe.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
/// Time between keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);
/// Unanswered probes before the kernel drops the connection.
pub const KEEPALIVE_PROBES: u32 = 3;
/// How long sent data may stay unacknowledged before the kernel drops the connection.
pub const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);

fn tcp_settings() -> TcpSettings {
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_PROBES);
    TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive)
        .set_user_timeout(TCP_USER_TIMEOUT)
}

/// Where the log lives.
pub(super) enum Target {
    /// One server.
    Single(Client),
    /// The primary that the Sentinels name, asked again at every (re)connect, so a failover
    /// is followed.
    Sentinel(Mutex<SentinelClient>),
    /// A Redis Cluster, by the URLs of the nodes given (the client learns the rest, and
    /// follows slot moves and failovers itself).
    Cluster(Vec<String>),
}

/// rustls needs one process-wide crypto provider; redis-rs does not pick one.
fn install_crypto() {
    // Fails only when one is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn bad_url(url: &str, why: impl std::fmt::Display) -> BrokerError {
    Misconfigured::Url {
        url: url.into(),
        why: why.to_string(),
    }
    .into()
}

/// `h1:p1,h2:p2` as addresses.
fn hosts(url: &str, list: &str) -> Result<Vec<(String, u16)>> {
    list.split(',')
        .map(|hp| {
            let (h, p) = hp
                .rsplit_once(':')
                .ok_or_else(|| bad_url(url, format!("{hp:?} is not HOST:PORT")))?;
            let port = p
                .parse()
                .map_err(|_| bad_url(url, format!("{p:?} is not a port")))?;
            Ok((h.trim_matches(['[', ']']).to_string(), port))
        })
        .collect()
}

impl Target {
    /// Parse `config.url`.
    pub(super) fn new(config: &RedisConfig) -> Result<Target> {
        let url = config.url.as_str();
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            let (list, master) = rest
                .split_once('/')
                .ok_or_else(|| bad_url(url, "expected redis+sentinel://HOST:PORT,…/MASTER_NAME"))?;
            if master.is_empty() {
                return Err(bad_url(url, "the master name is missing after the /"));
            }
            let sentinels = hosts(url, list)?
                .into_iter()
                .map(|(host, port)| ConnectionAddr::Tcp(host, port));
            let client = SentinelClientBuilder::new(sentinels, master, SentinelServerType::Master)
                .and_then(|b| {
                    b.set_client_to_redis_tcp_settings(tcp_settings())
                        .set_client_to_sentinel_tcp_settings(tcp_settings())
                        .build()
                })
                .map_err(|e| bad_url(url, e))?;
            return Ok(Target::Sentinel(Mutex::new(client)));
        }
        if let Some(list) = url.strip_prefix("redis+cluster://") {
            let nodes: Vec<String> = hosts(url, list.trim_end_matches('/'))?
                .into_iter()
                .map(|(h, p)| format!("redis://{h}:{p}"))
                .collect();
            // Checked once here; each connection gets a client of its own timeouts.
            cluster_client(&nodes, config.response_timeout, config.response_timeout)
                .map_err(|e| bad_url(url, e))?;
            return Ok(Target::Cluster(nodes));
        }
        let info = url
            .into_connection_info()
            .map_err(|e| bad_url(url, e))?
            .set_tcp_settings(tcp_settings());
        let client = match &config.ca_file {
            // `rediss://` trusting one CA (a private one): the system's CAs are not used.
            Some(ca) => {
                install_crypto();
                let pem = std::fs::read(ca).map_err(|e| Misconfigured::Ca {
                    path: ca.clone(),
                    source: Arc::new(e),
                })?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                Client::build_with_tls(info, certs)
            }
            None => {
                if url.starts_with("rediss://") {
                    install_crypto();
                }
                Client::open(info)
            }
        };
        Ok(Target::Single(client.map_err(|e| bad_url(url, e))?))
    }

    /// A new connection whose every request fails after `response` without an answer.
    pub(super) async fn connect(&self, connect: Duration, response: Duration) -> Result<RedisConn> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect))
            .set_response_timeout(Some(response));
        let conn = async {
            match self {
                Target::Single(client) => client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(RedisConn::Single),
                Target::Sentinel(client) => client
                    .lock()
                    .await
                    .get_async_connection_with_config(&config)
                    .await
                    .map(RedisConn::Single),
                Target::Cluster(nodes) => match cluster_client(nodes, connect, response) {
                    Ok(client) => client.get_async_connection().await.map(RedisConn::Cluster),
                    Err(e) => Err(e),
                },
            }
        };
        // Asking the Sentinels and then the primary is two connects: bound the whole.
        match tokio::time::timeout(connect * 3, conn).await {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(Unavailable::ConnectTimeout(connect * 3).into()),
        }
    }
}

/// A cluster client whose connections connect within `connect` and fail a request after
/// `response` without an answer, retries included.
///
/// Both timeouts are set on the builder: redis-rs also bounds every cluster request by an
/// overall timeout, which only the builder sets (to its response timeout) and
/// `ClusterConfig` leaves alone. A blocking read's longer response timeout given through
/// `ClusterConfig` was therefore cut at the builder's 2 s, so every idle `XREAD BLOCK 2000`
/// failed as timed out.
fn cluster_client(
    nodes: &[String],
    connect: Duration,
    response: Duration,
) -> redis::RedisResult<ClusterClient> {
    ClusterClientBuilder::new(nodes.to_vec())
        .connection_timeout(connect)
        .response_timeout(response)
        .overall_response_timeout(Some(response))
        .tcp_settings(tcp_settings())
        .retries(3)
        .min_retry_wait(50)
        .max_retry_wait(500)
        .build()
}

/// A connection to one server or to a cluster.
#[derive(Clone)]
pub(super) enum RedisConn {
    /// One server (directly or found through the Sentinels).
    Single(MultiplexedConnection),
    /// A cluster (routes each command to the node of its key's slot).
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

/// One connection shared by every publish and history read of a broker (multiplexed: requests
/// are pipelined on it, none waits for another's answer). Opened on first use; dropped when a
/// request fails with an I/O error or a timeout, so the next request opens a fresh one (to the
/// current primary, when the Sentinels name another).
pub(super) struct SharedConn {
    current: Mutex<Option<(u64, RedisConn)>>,
}

impl SharedConn {
    pub(super) fn new() -> Self {
        SharedConn {
            current: Mutex::new(None),
        }
    }

    /// The connection (opening one if there is none) and its generation, for [`Self::failed`].
    pub(super) async fn get(
        &self,
        target: &Target,
        config: &RedisConfig,
    ) -> Result<(u64, RedisConn)> {
        // A tokio Mutex: it is held across the connect, so concurrent callers wait for one
        // connect instead of each opening their own.
        let mut current = self.current.lock().await;
        if let Some((generation, conn)) = current.as_ref() {
            return Ok((*generation, conn.clone()));
        }
        let conn = target
            .connect(config.response_timeout, config.request_timeout())
            .await?;
        let generation = rand::random();
        *current = Some((generation, conn.clone()));
        Ok((generation, conn))
    }

    /// A request on connection `generation` failed with `error`: if the connection itself is
    /// in doubt (I/O error, timeout, closed), drop it so the next request reconnects.
    pub(super) async fn failed(&self, generation: u64, error: &redis::RedisError) {
        if !is_connection_error(error) {
            return;
        }
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|(g, _)| *g == generation) {
            tracing::info!(%error, "dropping the Redis connection; the next request reconnects");
            *current = None;
        }
    }
}

/// Errors after which a connection cannot be trusted any more.
pub(super) fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
        )
}

/// Errors of a connection found closed (not one that went silent): repeating the request on
/// a new connection costs nothing.
pub(super) fn was_closed(e: &redis::RedisError) -> bool {
    !e.is_timeout()
        && (e.is_connection_dropped()
            || e.is_io_error()
            || matches!(
                e.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
            ))
}
