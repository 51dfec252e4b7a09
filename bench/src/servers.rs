//! The regions under test: started in-process, in a child process, or already running.
//!
//! In-process regions run on a Tokio runtime of their own whose threads are named
//! [`SERVER_THREAD`], so their CPU time is told apart from the generator's. The child process
//! (`bench serve`) is used where the server's memory must be measured alone.

use crate::procfs::{Probe, SERVER_THREAD};
use crate::redis_server::RedisServer;
use anyhow::{bail, Context};
use server_core::broker::{MemoryBroker, RedisBroker, RedisConfig, SharedBroker};
use server_core::region::RegionConfig;
use server_core::serve::Cluster;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Region names, in order; more regions are called `r3`, `r4`, ….
const NAMES: [&str; 3] = ["as", "us", "eu"];

/// Which broker the regions share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerChoice {
    /// The in-process log.
    Embedded,
    /// A private redis-server started by the bench.
    Redis,
}

/// One region to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Region name (or `host:port` for `--target`).
    pub name: String,
    /// `ws://host:port/ws`.
    pub url: String,
}

/// The settings the bench runs regions with: the defaults, except the per-connection publish
/// rate limit (1,000/s, burst 2,000 by default), raised so a few publisher connections can
/// drive any rate. The client queue (4,096 events) and write timeout (5 s) stay as shipped.
pub fn bench_config(name: &str) -> RegionConfig {
    RegionConfig {
        publish_rate: 1_000_000,
        publish_burst: 1_000_000,
        ..RegionConfig::new(name)
    }
}

fn region_name(i: usize) -> String {
    NAMES.get(i).map_or(format!("r{i}"), |n| n.to_string())
}

/// Start `regions` regions on loopback ephemeral ports sharing `broker`.
pub async fn start_cluster(
    regions: usize,
    redis_url: Option<String>,
    shutdown: CancellationToken,
) -> anyhow::Result<Cluster> {
    let broker: SharedBroker = match redis_url {
        Some(url) => {
            let config = RedisConfig {
                prefix: format!("bench-{}-{:x}", std::process::id(), rand::random::<u32>()),
                ..RedisConfig::new(url)
            };
            Arc::new(RedisBroker::connect(config).await?)
        }
        None => Arc::new(MemoryBroker::new(10_000)),
    };
    let mut list = Vec::new();
    for i in 0..regions {
        list.push((bench_config(&region_name(i)), listener()?));
    }
    Ok(Cluster::start(list, broker, shutdown)?)
}

/// A loopback listener on a free port (the regions set TCP_NODELAY on what they accept).
fn listener() -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse().expect("an address"))?;
    socket.listen(1024)
}

/// The regions under test and what keeps them running.
pub struct Servers {
    /// Where to connect, one per region.
    pub targets: Vec<Target>,
    /// What to measure CPU and memory of.
    pub probe: Probe,
    /// `embedded`, `redis` or `external`.
    pub broker: String,
    running: Running,
    // Dropped after the regions (field order): they must not see Redis vanish first.
    redis: Option<RedisServer>,
}

enum Running {
    InProcess {
        runtime: tokio::runtime::Runtime,
        shutdown: CancellationToken,
        cluster: Option<Cluster>,
    },
    Child(Child),
    External,
}

impl Servers {
    /// Start regions in this process, on their own runtime (2 worker threads).
    pub async fn in_process(broker: BrokerChoice, regions: usize) -> anyhow::Result<Self> {
        let redis = start_redis(broker)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(SERVER_THREAD)
            .enable_all()
            .build()?;
        let shutdown = CancellationToken::new();
        let url = redis.as_ref().map(RedisServer::url);
        let cluster = runtime
            .spawn(start_cluster(regions, url, shutdown.clone()))
            .await??;
        let targets = cluster
            .regions
            .iter()
            .map(|r| Target {
                name: r.name.clone(),
                url: format!("ws://{}/ws", r.addr),
            })
            .collect();
        Ok(Servers {
            targets,
            probe: Probe {
                server_pid: None,
                redis_pid: redis.as_ref().map(RedisServer::pid),
            },
            broker: format!("{broker:?}").to_lowercase(),
            running: Running::InProcess {
                runtime,
                shutdown,
                cluster: Some(cluster),
            },
            redis,
        })
    }

    /// Start regions in a child process (`bench serve`), so its memory is the server's alone.
    pub fn child(broker: BrokerChoice, regions: usize) -> anyhow::Result<Self> {
        let redis = start_redis(broker)?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["serve", "--regions", &regions.to_string()]);
        if let Some(r) = &redis {
            cmd.args(["--redis-url", &r.url()]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("start the server child process")?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let Some(list) = line.trim().strip_prefix("ready ") else {
            let _ = child.kill();
            bail!("the server child did not start: {line:?}");
        };
        let targets = parse_targets(list, true);
        Ok(Servers {
            targets,
            probe: Probe {
                server_pid: Some(child.id()),
                redis_pid: redis.as_ref().map(RedisServer::pid),
            },
            broker: format!("{broker:?}").to_lowercase(),
            running: Running::Child(child),
            redis,
        })
    }

    /// Regions already running at `urls` (`http://host:port,…`); `pid` is the server's, if
    /// known, for CPU and memory.
    pub fn external(urls: &str, pid: Option<u32>) -> Self {
        Servers {
            targets: parse_targets(urls, false),
            probe: Probe {
                server_pid: pid,
                redis_pid: None,
            },
            broker: "external".into(),
            running: Running::External,
            redis: None,
        }
    }

    /// URL of the private redis-server, if the bench started one.
    pub fn redis_url(&self) -> Option<String> {
        self.redis.as_ref().map(RedisServer::url)
    }

    /// Stop the regions (closing every socket) and then Redis.
    pub async fn stop(mut self) {
        if let Running::InProcess {
            runtime,
            shutdown,
            cluster,
        } = &mut self.running
        {
            shutdown.cancel();
            if let Some(c) = cluster.take() {
                let _ = runtime.spawn(c.stop()).await;
            }
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.running, Running::External) {
            Running::InProcess {
                runtime, shutdown, ..
            } => {
                shutdown.cancel();
                runtime.shutdown_background();
            }
            Running::Child(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Running::External => {}
        }
    }
}

fn start_redis(broker: BrokerChoice) -> anyhow::Result<Option<RedisServer>> {
    Ok(match broker {
        BrokerChoice::Redis => Some(RedisServer::start()?),
        BrokerChoice::Embedded => None,
    })
}

/// `http://h:p,…` or `ws://h:p/ws,…` into targets; `named` lists are `name=url`.
fn parse_targets(list: &str, named: bool) -> Vec<Target> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (name, url) = match item.split_once('=') {
                Some((n, u)) if named => (n.to_string(), u.to_string()),
                _ => (String::new(), item.trim().to_string()),
            };
            let host = url
                .trim_start_matches("http://")
                .trim_start_matches("ws://")
                .trim_end_matches('/')
                .trim_end_matches("/ws")
                .to_string();
            Target {
                name: if name.is_empty() { host.clone() } else { name },
                url: format!("ws://{host}/ws"),
            }
        })
        .collect()
}

/// `bench serve`: run regions until stdin closes (the parent exited) and print
/// `ready name=ws://…,…` once they listen.
pub async fn serve_child(regions: usize, redis_url: Option<String>) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let cluster = start_cluster(regions, redis_url, shutdown.clone()).await?;
    let list: Vec<String> = cluster
        .regions
        .iter()
        .map(|r| format!("{}=ws://{}/ws", r.name, r.addr))
        .collect();
    println!("ready {}", list.join(","));
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    })
    .await?;
    cluster.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Targets accept http or ws URLs, with or without `/ws`, named or not.
    #[test]
    fn parses_targets() {
        let t = parse_targets("http://127.0.0.1:4000,ws://127.0.0.1:4001/ws", false);
        assert_eq!(t[0].url, "ws://127.0.0.1:4000/ws");
        assert_eq!(t[1].url, "ws://127.0.0.1:4001/ws");
        let t = parse_targets("as=ws://127.0.0.1:5/ws", true);
        assert_eq!(
            (t[0].name.as_str(), t[0].url.as_str()),
            ("as", "ws://127.0.0.1:5/ws")
        );
    }
}
