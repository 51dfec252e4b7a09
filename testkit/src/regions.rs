//! Regions on ephemeral loopback ports, stopped when dropped.

use crate::{Client, PATIENCE};
use server_core::broker::SharedBroker;
use server_core::region::RegionConfig;
use server_core::serve::RegionSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Regions running on ephemeral loopback ports.
pub struct Regions {
    /// The running regions (`None` after [`stop`](Self::stop)).
    pub cluster: Option<RegionSet>,
    /// Cancelled on drop.
    pub shutdown: CancellationToken,
}

impl Regions {
    /// Start the regions `names` on `broker` with default settings.
    pub async fn start(names: &[&str], broker: SharedBroker) -> Self {
        Self::start_with(names, broker, |_| {}).await
    }

    /// Start the regions `names`, each config changed by `tweak` first.
    pub async fn start_with(
        names: &[&str],
        broker: SharedBroker,
        tweak: impl Fn(&mut RegionConfig),
    ) -> Self {
        let mut regions = Vec::new();
        for name in names {
            let mut config = RegionConfig::new(*name);
            tweak(&mut config);
            regions.push((config, TcpListener::bind("127.0.0.1:0").await.unwrap()));
        }
        let shutdown = CancellationToken::new();
        let cluster = RegionSet::start(regions, broker, shutdown.clone()).unwrap();
        Regions {
            cluster: Some(cluster),
            shutdown,
        }
    }

    /// Wait until region `name` has read the log up to `offset` (its `/health`), so a client
    /// that connects next is welcomed at that offset. Fails the test after [`PATIENCE`].
    pub async fn wait_for_offset(&self, name: &str, offset: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let health: wire::Health = crate::http_get_json(self.addr(name), "/health").await;
            if health.offset >= offset {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "region {name} did not read up to offset {offset} (it is at {})",
                health.offset
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The simulated link of the region called `name` to the broker.
    pub fn link(&self, name: &str) -> server_core::sim::Link {
        self.cluster.as_ref().unwrap().link(name).unwrap()
    }

    /// Where the region called `name` listens.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.cluster.as_ref().unwrap().addr(name).unwrap()
    }

    /// `each` connected clients (welcome read) on every region of `names`, region by region.
    pub async fn clients(&self, names: &[&str], each: usize) -> Vec<Client> {
        let mut clients = Vec::new();
        for name in names {
            for _ in 0..each {
                clients.push(Client::connect(self.addr(name)).await);
            }
        }
        clients
    }

    /// Stop every region and wait for them.
    pub async fn stop(&mut self) {
        if let Some(c) = self.cluster.take() {
            c.stop().await;
        }
    }
}

impl Drop for Regions {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
