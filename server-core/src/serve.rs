//! Running regions in one process (the broker they share is chosen by [`crate::choice`]).

use crate::broker::SharedBroker;
use crate::region::{self, RegionConfig};
use crate::sim::Link;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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
    /// region started here (plus any peers it already names), so the UI finds them all. A
    /// peer named like a region started here sets the URL advertised for it (`--public-url`,
    /// `--peer`); otherwise a local region is advertised at its listening address.
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
                let mut peers: Vec<wire::RegionInfo> = local
                    .iter()
                    .map(|l| {
                        config
                            .peers
                            .iter()
                            .find(|p| p.name == l.name)
                            .unwrap_or(l)
                            .clone()
                    })
                    .collect();
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
