//! The three regional servers running inside the app, and switching their broker.

use crate::error::{Error, Result};
use server_core::choice::{BrokerStatus, ChosenBroker};
use server_core::defaults;
use server_core::region::RegionConfig;
use server_core::serve::{self, RegionSet};
use tokio_util::sync::CancellationToken;

/// The running regions and the broker they share (none before start and after shutdown).
#[derive(Default)]
pub struct Regions {
    running: Option<Running>,
    /// Ports the regions got the first time, reused when the broker changes.
    ports: Vec<(String, u16)>,
}

struct Running {
    cluster: RegionSet,
    chosen: ChosenBroker,
}

impl Regions {
    /// Start the default regions on `chosen`: ports 4000-4002, or free ones where those are
    /// taken (another instance, another program), so the app always opens.
    pub async fn start(&mut self, chosen: ChosenBroker) -> Result<()> {
        let ports: Vec<(String, u16)> = if self.ports.is_empty() {
            defaults::REGIONS
                .iter()
                .map(|(name, port)| (name.to_string(), *port))
                .collect()
        } else {
            self.ports.clone()
        };
        let mut listeners = Vec::new();
        for (name, port) in &ports {
            // Loopback only (the default bind): the app is for this machine.
            let listener = serve::bind(defaults::BIND, *port, true).await?;
            listeners.push((RegionConfig::new(name.clone()), listener));
        }
        let cluster = RegionSet::start(listeners, chosen.broker.clone(), CancellationToken::new())?;
        self.ports = cluster
            .regions
            .iter()
            .map(|r| (r.name.clone(), r.addr.port()))
            .collect();
        for r in &cluster.regions {
            tracing::info!(region = %r.name, addr = %r.addr, "region started");
        }
        self.running = Some(Running { cluster, chosen });
        Ok(())
    }

    /// Move the regions to `chosen` (already connected, so a bad broker never stops the
    /// running ones): stop them, restart them on the same ports, then stop the old broker's
    /// private redis-server, if any.
    pub async fn switch(&mut self, chosen: ChosenBroker) -> Result<BrokerStatus> {
        let old = self.running.take();
        if let Some(old) = &old {
            tracing::info!(from = %old.chosen.status.description, to = %chosen.status.description, "switching broker");
        }
        let previous = match old {
            Some(Running {
                cluster,
                chosen: old_chosen,
            }) => {
                cluster.stop().await;
                Some(old_chosen)
            }
            None => None,
        };
        let status = chosen.status.clone();
        let started = self.start(chosen).await;
        if let Some(previous) = previous {
            previous.release().await;
        }
        started.map(|()| status)
    }

    /// The regions as the UI connects to them, with their actual addresses.
    pub fn regions(&self) -> Result<Vec<wire::RegionInfo>> {
        let running = self.running.as_ref().ok_or(Error::Stopped)?;
        Ok(running
            .cluster
            .regions
            .iter()
            .map(|r| wire::RegionInfo {
                name: r.name.clone(),
                url: format!("http://{}", r.addr),
            })
            .collect())
    }

    /// The broker the regions use.
    pub fn status(&self) -> Result<BrokerStatus> {
        Ok(self
            .running
            .as_ref()
            .ok_or(Error::Stopped)?
            .chosen
            .status
            .clone())
    }

    /// Stop every region, wait for their tasks, then stop the private redis-server.
    /// Idempotent.
    pub async fn shutdown(&mut self) {
        if let Some(Running { cluster, chosen }) = self.running.take() {
            tracing::info!("stopping the regions");
            cluster.stop().await;
            chosen.release().await;
            tracing::info!("regions stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_core::broker::RedisConfig;
    use server_core::choice::{choose, Step};

    async fn embedded() -> ChosenBroker {
        choose(&[Step::Embedded], &RedisConfig::default())
            .await
            .expect("embedded")
    }

    /// Taken default ports never stop the app from starting; the regions report real ports.
    #[tokio::test]
    async fn falls_back_to_free_ports_and_frees_them_on_shutdown() {
        // Hold 4000 (if nobody else does) so the fallback is exercised either way.
        let _held = std::net::TcpListener::bind("127.0.0.1:4000");
        let mut regions = Regions::default();
        regions.start(embedded().await).await.expect("start");
        let infos = regions.regions().expect("regions");
        assert_eq!(
            infos.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["as", "us", "eu"]
        );
        assert_ne!(infos[0].url, "http://127.0.0.1:4000");
        let ports = regions.ports.clone();
        regions.shutdown().await;
        assert!(matches!(regions.regions(), Err(Error::Stopped)));
        for (_, port) in ports {
            assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err());
        }
    }

    /// Switching the broker keeps the ports and reports the new status.
    #[tokio::test]
    async fn switch_keeps_the_ports() {
        // Ephemeral ports, so a parallel test cannot take them between stop and restart.
        let mut regions = Regions {
            running: None,
            ports: ["as", "us", "eu"].map(|n| (n.to_string(), 0)).to_vec(),
        };
        regions.start(embedded().await).await.expect("start");
        let before = regions.regions().expect("regions");
        let status = regions.switch(embedded().await).await.expect("switch");
        assert_eq!(status.kind, wire::BrokerKind::Embedded);
        assert_eq!(regions.regions().expect("regions"), before);
        regions.shutdown().await;
    }
}
