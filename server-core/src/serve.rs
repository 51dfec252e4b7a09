//! Running regions in one process, and choosing the broker they share.

use crate::broker::{Link, MemoryBroker, RedisBroker, RedisConfig, SharedBroker};
use crate::error::BrokerError;
use crate::region::{self, RegionConfig};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The default regions and their default ports.
pub const DEFAULT_REGIONS: [(&str, u16); 3] = [("as", 4000), ("us", 4001), ("eu", 4002)];

/// The Redis tried when none is configured.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Default port of a region: its place in [`DEFAULT_REGIONS`], else after them.
pub fn default_port(name: &str, base: u16, index: usize) -> u16 {
    let i = DEFAULT_REGIONS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(DEFAULT_REGIONS.len() + index);
    base.saturating_add(i as u16)
}

/// Which broker was chosen, and why, in words for the first log line and the UI.
#[derive(Clone)]
pub struct BrokerChoice {
    /// The broker.
    pub broker: SharedBroker,
    /// e.g. `redis at redis://127.0.0.1:6379` or `embedded (no Redis answered at …)`.
    pub description: String,
}

/// Pick the broker: `redis` if given (failing if it cannot be reached), else the Redis at
/// `default_redis` (normally [`DEFAULT_REDIS_URL`]) if it answers within a second, else the
/// embedded log.
pub async fn choose_broker(
    redis: Option<&str>,
    default_redis: &str,
    prefix: &str,
    history: usize,
) -> Result<BrokerChoice, BrokerError> {
    let base = RedisConfig {
        prefix: prefix.into(),
        history,
        ..RedisConfig::new(default_redis)
    };
    choose_broker_with(redis, default_redis, base).await
}

/// [`choose_broker`] with every Redis setting but the URL taken from `base` (acks, CA, …).
pub async fn choose_broker_with(
    redis: Option<&str>,
    default_redis: &str,
    base: RedisConfig,
) -> Result<BrokerChoice, BrokerError> {
    let history = base.history;
    let config = |url: &str| RedisConfig {
        url: url.into(),
        ..base.clone()
    };
    if let Some(url) = redis {
        let broker = RedisBroker::connect(config(url))
            .await
            .map_err(|e| match e {
                // A setting to change: the message says which.
                BrokerError::Config(_) => e,
                e => BrokerError::Unavailable(format!(
                    "could not use Redis at {url} ({e}); start redis-server there, fix the URL, \
                 or leave it out to use the embedded broker"
                )),
            })?;
        return Ok(BrokerChoice {
            description: describe(url, &broker),
            broker: Arc::new(broker),
        });
    }
    let probe = tokio::time::timeout(
        Duration::from_secs(1),
        RedisBroker::connect(config(default_redis)),
    )
    .await;
    match probe {
        Ok(Ok(broker)) => Ok(BrokerChoice {
            description: describe(default_redis, &broker),
            broker: Arc::new(broker),
        }),
        _ => Ok(BrokerChoice {
            broker: Arc::new(MemoryBroker::new(history)),
            description: format!(
                "embedded (in-process, this process only): no Redis answered at \
                 {default_redis}; pass --redis <url> to share events between machines"
            ),
        }),
    }
}

/// `redis at URL`, with what weakens the log, if anything (so the first log line says it).
fn describe(url: &str, broker: &RedisBroker) -> String {
    let mut text = format!("redis at {url}");
    for warning in broker.warnings() {
        text.push_str(&format!(" (warning: {warning})"));
    }
    text
}

/// Bind `ip:port`; with `fallback`, a taken port is replaced by a free one.
pub async fn bind(ip: IpAddr, port: u16, fallback: bool) -> std::io::Result<TcpListener> {
    match TcpListener::bind(SocketAddr::new(ip, port)).await {
        Err(e) if fallback && e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(port, "port taken; using a free one");
            TcpListener::bind(SocketAddr::new(ip, 0)).await
        }
        r => r,
    }
}

/// A running region.
pub struct RegionHandle {
    /// Region name.
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its link to the broker.
    pub link: Link,
    task: JoinHandle<std::io::Result<()>>,
}

/// Regions running in this process, stopped together.
pub struct Cluster {
    /// The running regions, in start order.
    pub regions: Vec<RegionHandle>,
    shutdown: CancellationToken,
}

impl Cluster {
    /// Start one region per `(config, listener)`. Each config's `peers` is filled with every
    /// region started here (plus any peers it already names), so the UI finds them all.
    pub fn start(
        regions: Vec<(RegionConfig, TcpListener)>,
        broker: SharedBroker,
        shutdown: CancellationToken,
    ) -> std::io::Result<Cluster> {
        let mut local = Vec::new();
        for (config, listener) in &regions {
            let addr = listener.local_addr()?;
            local.push(wire::RegionInfo {
                name: config.name.clone(),
                url: format!("http://{}", url_host(addr)),
            });
        }
        let handles = regions
            .into_iter()
            .map(|(mut config, listener)| {
                let mut peers = local.clone();
                peers.extend(
                    config
                        .peers
                        .drain(..)
                        .filter(|p| !local.iter().any(|l| l.name == p.name)),
                );
                config.peers = peers;
                let name = config.name.clone();
                let link = config.link.clone();
                let addr = listener.local_addr()?;
                let task = tokio::spawn(region::run(
                    config,
                    broker.clone(),
                    listener,
                    shutdown.clone(),
                ));
                Ok(RegionHandle {
                    name,
                    addr,
                    link,
                    task,
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Cluster {
            regions: handles,
            shutdown,
        })
    }

    /// The broker link of the region called `name` (latency, cut-off).
    pub fn link(&self, name: &str) -> Option<Link> {
        self.regions
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.link.clone())
    }

    /// Address of the region called `name`.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.regions.iter().find(|r| r.name == name).map(|r| r.addr)
    }

    /// Wait until every region has stopped (after the shutdown token is cancelled).
    pub async fn wait(self) {
        for r in self.regions {
            match r.task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(region = %r.name, error = %e, "region failed"),
                Err(e) => tracing::error!(region = %r.name, error = %e, "region task panicked"),
            }
        }
    }

    /// Cancel the shutdown token and wait for every region to stop.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.wait().await;
    }
}

/// `127.0.0.1:4000`, `[::1]:4000`; `0.0.0.0` is shown as `127.0.0.1` for local links.
fn url_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}
