//! Running regions in one process: [`RegionSet`] (regions started together on listeners
//! the caller bound, stopped together), and [`Deployment`], `multiregion serve`'s settings of
//! which regions run where, with what it takes to start them from those settings (ports,
//! peers, public URLs, the simulated WAN preset). The broker they share is chosen by
//! [`crate::choice`].

use crate::broker::SharedBroker;
use crate::defaults;
use crate::region::{self, Identity, RegionConfig};
use crate::settings::{AccessConfig, ClientLimits, PublishLimits};
use crate::sim::Link;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
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
pub struct RegionSet {
    /// The running regions, in start order.
    pub regions: Vec<RegionHandle>,
    shutdown: CancellationToken,
}

impl RegionSet {
    /// Start one region per `(config, listener)`, each with a simulated link that is off.
    /// See [`Self::start_linked`].
    pub fn start(
        regions: Vec<(RegionConfig, TcpListener)>,
        broker: SharedBroker,
        shutdown: CancellationToken,
    ) -> std::io::Result<RegionSet> {
        let linked = regions
            .into_iter()
            .map(|(config, listener)| (config, Link::default(), listener))
            .collect();
        Self::start_linked(linked, broker, shutdown)
    }

    /// Start one region per `(config, link, listener)`. Each config's `peers` is filled with
    /// every region started here (plus any peers it already names), so the UI finds them
    /// all. A peer named like a region started here sets the URL advertised for it
    /// (`--public-url`, `--peer`); otherwise a local region is advertised at its listening
    /// address.
    pub fn start_linked(
        regions: Vec<(RegionConfig, Link, TcpListener)>,
        broker: SharedBroker,
        shutdown: CancellationToken,
    ) -> std::io::Result<RegionSet> {
        let mut local = Vec::new();
        for (config, _, listener) in &regions {
            local.push(wire::RegionInfo {
                name: config.identity.name.clone(),
                url: format!("http://{}", url_host(listener.local_addr()?)),
            });
        }
        let handles = regions
            .into_iter()
            .map(|(mut config, link, listener)| {
                config.identity.peers =
                    advertised(&local, std::mem::take(&mut config.identity.peers));
                let name = config.identity.name.clone();
                let addr = listener.local_addr()?;
                let task = tokio::spawn(region::run(
                    config,
                    broker.clone(),
                    link.clone(),
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
        Ok(RegionSet {
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

/// What one region lists in `/regions`: every region of this process (at the URL a peer of
/// the same name gives, else its own), then the other peers.
fn advertised(local: &[wire::RegionInfo], peers: Vec<wire::RegionInfo>) -> Vec<wire::RegionInfo> {
    let mut list: Vec<wire::RegionInfo> = local
        .iter()
        .map(|l| peers.iter().find(|p| p.name == l.name).unwrap_or(l).clone())
        .collect();
    list.extend(
        peers
            .into_iter()
            .filter(|p| !local.iter().any(|l| l.name == p.name)),
    );
    list
}

/// `127.0.0.1:4000`, `[::1]:4000`; `0.0.0.0` is shown as `127.0.0.1` for local links.
fn url_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// Which regions this process runs, where, and how browsers reach them.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Region to run (repeatable).
    #[arg(long = "region", value_name = "NAME", default_values_t = defaults::REGIONS.map(|(n, _)| n.to_string()))]
    pub regions: Vec<String>,
    /// Address to bind. Anything but loopback exposes the regions to the network: use --token.
    #[arg(long, env = "MULTIREGION_BIND", default_value_t = defaults::BIND)]
    pub bind: IpAddr,
    /// Port of the first default region (as); us and eu follow it.
    #[arg(long, env = "MULTIREGION_PORT_BASE", default_value_t = defaults::REGIONS[0].1)]
    pub port_base: u16,
    /// Port of the region, when exactly one --region is given.
    #[arg(long, env = "MULTIREGION_PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Directory of the built UI to serve at `/`.
    #[arg(long, env = "MULTIREGION_UI_DIR", value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_dir: Option<PathBuf>,
    /// Another region the UI should connect to, as NAME=URL (repeatable).
    #[arg(long = "peer", value_name = "NAME=URL")]
    pub peers: Vec<String>,
    /// The URL browsers reach this region at, advertised in `/regions` (default: the bound
    /// address, with 0.0.0.0 shown as 127.0.0.1). `URL` with one --region, else `NAME=URL`
    /// (repeatable). Pages served from it are accepted by every region that lists it.
    #[arg(long = "public-url", value_name = "[NAME=]URL")]
    pub public_urls: Vec<String>,
}

/// Why a [`Deployment`] could not start; nothing is left running.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// `--port` with several regions.
    #[error("--port needs exactly one --region (use --port-base for several)")]
    PortNeedsOneRegion,
    /// A `--peer` that is not `NAME=URL`.
    #[error("--peer {0:?} is not NAME=URL")]
    BadPeer(String),
    /// A bare `--public-url` with several regions.
    #[error("--public-url {0:?} needs exactly one --region; with several use NAME=URL")]
    PublicUrlNeedsOneRegion(String),
    /// A `--public-url` that is neither a URL nor `NAME=URL`.
    #[error("--public-url {0:?} is neither URL nor NAME=URL")]
    BadPublicUrl(String),
    /// A port that cannot be listened on.
    #[error("region {region}: cannot listen on {bind}:{port} (is another server using it? pick another with --port-base or --port): {source}")]
    Bind {
        /// The region.
        region: String,
        /// The address.
        bind: IpAddr,
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// A `--sim` preset that does not exist.
    #[error("--sim {0:?} is not one of {names}", names = wire::sim::presets::NAMES.join(", "))]
    UnknownPreset(String),
    /// Starting a region failed.
    #[error("cannot start the regions: {0}")]
    Start(#[from] std::io::Error),
}

/// The settings every region of a deployment shares.
pub struct Shared<'a> {
    /// Who may act on them.
    pub access: &'a AccessConfig,
    /// What each client may hold.
    pub clients: &'a ClientLimits,
    /// What each connection may publish.
    pub publishing: &'a PublishLimits,
    /// The simulated WAN preset (`off`, `global`; see [`wire::sim::presets`]).
    pub sim: &'a str,
}

impl Deployment {
    /// Bind every region's port, and start the regions on `broker` with `shared` settings,
    /// each advertising this deployment's peers and public URLs and on its link of the
    /// `sim` preset; they run until `shutdown` is cancelled.
    pub async fn start(
        &self,
        shared: Shared<'_>,
        broker: SharedBroker,
        shutdown: CancellationToken,
    ) -> Result<RegionSet, DeploymentError> {
        if self.port.is_some() && self.regions.len() != 1 {
            return Err(DeploymentError::PortNeedsOneRegion);
        }
        if !self.bind.is_loopback() && shared.access.token.is_none() {
            tracing::warn!(bind = %self.bind, "listening beyond loopback without --token: anyone on the network can publish");
        }
        let peers = self.peers()?;
        if let Some(dir) = &self.ui_dir {
            if !dir.join("index.html").is_file() {
                tracing::warn!(dir = %dir.display(), "no index.html in --ui-dir: build the UI first; serving the API only");
            }
        }
        let mut regions = Vec::new();
        for (i, name) in self.regions.iter().enumerate() {
            let port = self
                .port
                .unwrap_or_else(|| defaults::port(name, self.port_base, i));
            let listener =
                bind(self.bind, port, false)
                    .await
                    .map_err(|source| DeploymentError::Bind {
                        region: name.clone(),
                        bind: self.bind,
                        port,
                        source,
                    })?;
            let config = RegionConfig {
                identity: Identity {
                    name: name.clone(),
                    peers: peers.clone(),
                    ui_dir: self.ui_dir.clone(),
                },
                access: shared.access.clone(),
                clients: shared.clients.clone(),
                publishing: shared.publishing.clone(),
            };
            let link = Link::default();
            let preset = wire::sim::presets::settings(shared.sim, name)
                .ok_or_else(|| DeploymentError::UnknownPreset(shared.sim.to_owned()))?;
            link.set(preset);
            regions.push((config, link, listener));
        }
        let set = RegionSet::start_linked(regions, broker, shutdown)?;
        for r in &set.regions {
            tracing::info!(region = %r.name, "open http://{}", r.addr);
        }
        Ok(set)
    }

    /// The `--peer`s, then the `--public-url`s, as `/regions` entries; a public URL
    /// overrides the bound address of a local region, as a `--peer` with its name does.
    fn peers(&self) -> Result<Vec<wire::RegionInfo>, DeploymentError> {
        let mut peers = Vec::new();
        for p in &self.peers {
            let (name, url) = p
                .split_once('=')
                .ok_or_else(|| DeploymentError::BadPeer(p.clone()))?;
            peers.push(info(name, url));
        }
        for v in &self.public_urls {
            let p = if v.starts_with("http://") || v.starts_with("https://") {
                match self.regions.as_slice() {
                    [one] => info(one, v),
                    _ => return Err(DeploymentError::PublicUrlNeedsOneRegion(v.clone())),
                }
            } else {
                let (n, u) = v
                    .split_once('=')
                    .ok_or_else(|| DeploymentError::BadPublicUrl(v.clone()))?;
                info(n, u)
            };
            peers.retain(|q| q.name != p.name);
            peers.push(p);
        }
        Ok(peers)
    }
}

fn info(name: &str, url: &str) -> wire::RegionInfo {
    wire::RegionInfo {
        name: name.into(),
        url: url.trim_end_matches('/').into(),
    }
}
