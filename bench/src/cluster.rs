//! A private Redis Cluster for the channels scenario: `N` primaries without replicas or
//! persistence on loopback, made with `redis-cli --cluster create`, stopped when dropped.
//! Each node's pid is kept, so the CPU each shard spends per publish can be read.

use anyhow::{bail, Context};
use redis_process::{free_port, RedisOptions, RedisProcess};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the cluster may take to agree on its slots.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running cluster of primaries.
pub struct RedisCluster {
    nodes: Vec<RedisProcess>,
}

fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl RedisCluster {
    /// Start `primaries` nodes and make them one cluster covering every slot.
    pub fn start(primaries: usize) -> anyhow::Result<Self> {
        let mut nodes = Vec::with_capacity(primaries);
        for _ in 0..primaries {
            let bus = free_port()?.to_string();
            let options = RedisOptions {
                extra_args: ["--cluster-enabled", "yes", "--cluster-port", &bus]
                    .map(String::from)
                    .to_vec(),
                ..RedisOptions::default()
            };
            nodes.push(RedisProcess::start(options).context("start a cluster node")?);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .context("run redis-cli --cluster create (apt-get install redis-tools)")?;
        if !out.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let cluster = RedisCluster { nodes };
        cluster.wait_ok()?;
        Ok(cluster)
    }

    fn wait_ok(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + PATIENCE;
        for n in &self.nodes {
            loop {
                let info = cli(n.port(), &["CLUSTER", "INFO"]);
                if info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384") {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("the cluster did not reach cluster_state:ok: {info}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// `redis+cluster://…` of every node.
    pub fn url(&self) -> String {
        let addrs: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis+cluster://{}", addrs.join(","))
    }

    /// Each node's pid, in the order the slots were given out (node `i` holds the `i`-th
    /// range of slots).
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(RedisProcess::pid).collect()
    }
}
