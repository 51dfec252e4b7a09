//! The regions under test: started in-process, in a child process, or already running.
//!
//! In-process regions run on a Tokio runtime of their own whose threads are named
//! [`SERVER_THREAD`], so their CPU time is told apart from the generator's. The child process
//! (`bench serve`) is used where the server's memory must be measured alone.

use crate::bare::BareServer;
use crate::child;
use crate::procfs::{Probe, SERVER_THREAD};
use crate::socketio::BareSio;
use crate::target::{parse_targets, Target};
use redis_process::{RedisOptions, RedisProcess};
use server_core::broker::{BrokerKind, RedisConfig};
use server_core::choice::{self, ChosenBroker, Step};
use server_core::region::RegionConfig;
use server_core::serve::RegionSet;
use std::process::Child;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The settings the bench runs regions with: the defaults, except the per-connection publish
/// rate limit (1,000/s, burst 2,000 by default), raised so a few publisher connections can
/// drive any rate. The client queue (4,096 events) and write timeout (5 s) stay as shipped.
pub fn bench_config(name: &str) -> RegionConfig {
    let mut config = RegionConfig::new(name);
    config.publishing.publish_rate = 1_000_000;
    config.publishing.publish_burst = 1_000_000;
    // The capacity scenario goes past the default cap on purpose.
    config.clients.max_connections = usize::MAX;
    config
}

/// The default region names ([`wire::REGIONS`]), in order; more regions are called `r3`,
/// `r4`, ….
fn region_name(i: usize) -> String {
    wire::REGIONS
        .get(i)
        .map_or(format!("r{i}"), |n| n.to_string())
}

/// The broker chain for `kind`: the embedded log, or a private redis-server started for the
/// run (no fallback: a Redis run that cannot start Redis fails).
fn steps(kind: BrokerKind) -> Vec<Step> {
    match kind {
        BrokerKind::Embedded => vec![Step::Embedded],
        BrokerKind::Redis => vec![Step::Private],
    }
}

/// Start `regions` regions on loopback ephemeral ports sharing the broker `steps` choose
/// (under a key prefix of this run's own).
pub async fn start_cluster(
    regions: usize,
    steps: &[Step],
    shutdown: CancellationToken,
) -> anyhow::Result<(RegionSet, ChosenBroker)> {
    let log = RedisConfig {
        prefix: format!("bench-{}-{:x}", std::process::id(), rand::random::<u32>()),
        ..RedisConfig::default()
    };
    let chosen = choice::choose(steps, &log).await?;
    let mut list = Vec::new();
    for i in 0..regions {
        list.push((bench_config(&region_name(i)), listener()?));
    }
    let cluster = RegionSet::start(list, chosen.broker.clone(), shutdown)?;
    Ok((cluster, chosen))
}

/// Where to connect to `regions`, one per region.
fn targets(regions: &RegionSet) -> Vec<Target> {
    regions
        .regions
        .iter()
        .map(|r| Target::at(r.name.clone(), r.addr))
        .collect()
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
    /// `embedded`, `redis`, `external` or `bare`.
    pub broker: String,
    running: Running,
    // Dropped after the regions (field order): they must not see Redis vanish first.
    redis: Option<RedisProcess>,
}

enum Running {
    InProcess {
        runtime: tokio::runtime::Runtime,
        shutdown: CancellationToken,
        served: Option<Served>,
    },
    Child(Child),
    External,
}

/// What runs on the in-process servers' runtime.
enum Served {
    Regions(RegionSet),
    Bare(BareServer),
    BareSio(BareSio),
}

impl Served {
    async fn stop(self) {
        match self {
            Served::Regions(cluster) => cluster.stop().await,
            Served::Bare(bare) => bare.stop().await,
            Served::BareSio(bare) => bare.stop().await,
        }
    }
}

/// The in-process servers' runtime: 2 workers named [`SERVER_THREAD`].
fn server_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()
}

impl Servers {
    /// Start regions in this process, on their own runtime (2 worker threads); a Redis run
    /// starts a private redis-server through the broker chain.
    pub async fn in_process(broker: BrokerKind, regions: usize) -> anyhow::Result<Self> {
        Self::in_process_on(steps(broker), regions).await
    }

    /// [`Self::in_process`] on a Redis the caller runs (`redis://…`, `redis+cluster://…`),
    /// its CPU measured by the caller.
    pub async fn in_process_at(url: &str, regions: usize) -> anyhow::Result<Self> {
        Self::in_process_on(vec![Step::Url(url.into())], regions).await
    }

    async fn in_process_on(steps: Vec<Step>, regions: usize) -> anyhow::Result<Self> {
        let runtime = server_runtime()?;
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let (cluster, mut chosen) = runtime
            .spawn(async move { start_cluster(regions, &steps, token).await })
            .await??;
        let redis = chosen.private.take();
        Ok(Servers {
            targets: targets(&cluster),
            probe: Probe {
                server_pid: None,
                redis_pid: redis.as_ref().and_then(RedisProcess::pid),
            },
            broker: chosen.status.kind.as_str().into(),
            running: Running::InProcess {
                runtime,
                shutdown,
                served: Some(Served::Regions(cluster)),
            },
            redis,
        })
    }

    /// Start the bare broadcast server ([`crate::bare`]) in this process, on a runtime like
    /// the in-process regions' (2 workers named [`SERVER_THREAD`]), so it is measured the
    /// way they are.
    pub async fn bare_in_process(write_batch: usize) -> anyhow::Result<Self> {
        Self::served_in_process(crate::bare::BROKER, move |token| async move {
            let bare = BareServer::start(0, write_batch, token).await?;
            Ok((bare.targets(), Served::Bare(bare)))
        })
        .await
    }

    /// Start the bare Socket.IO server ([`crate::socketio::BareSio`]) in this process, on a
    /// runtime like the in-process regions' (2 workers named [`SERVER_THREAD`]).
    pub async fn bare_socketio_in_process() -> anyhow::Result<Self> {
        Self::served_in_process(crate::socketio::BARE, |token| async move {
            let bare = BareSio::start(token).await?;
            Ok((bare.targets(), Served::BareSio(bare)))
        })
        .await
    }

    /// What `start` serves (with a shutdown token of its own) on the in-process servers'
    /// runtime, labelled `broker`, with no Redis to measure.
    async fn served_in_process<F, Fut>(broker: &str, start: F) -> anyhow::Result<Self>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<(Vec<Target>, Served)>> + Send + 'static,
    {
        let runtime = server_runtime()?;
        let shutdown = CancellationToken::new();
        let (targets, served) = runtime.spawn(start(shutdown.clone())).await??;
        Ok(Servers {
            targets,
            probe: Probe {
                server_pid: None,
                redis_pid: None,
            },
            broker: broker.into(),
            running: Running::InProcess {
                runtime,
                shutdown,
                served: Some(served),
            },
            redis: None,
        })
    }

    /// Start regions in a child process (`bench serve`), so its memory is the server's alone.
    pub fn child(broker: BrokerKind, regions: usize) -> anyhow::Result<Self> {
        let redis = match broker {
            BrokerKind::Redis => Some(RedisProcess::start(RedisOptions::default())?),
            BrokerKind::Embedded => None,
        };
        let mut args = vec!["serve".to_string(), "--regions".into(), regions.to_string()];
        if let Some(r) = &redis {
            args.extend(["--redis-url".into(), r.url()]);
        }
        Self::spawn(&args, broker.as_str(), redis)
    }

    /// Start the bare broadcast server ([`crate::bare`]) in a child process
    /// (`bench bare-server`), so its CPU is read from `/proc` like a server child's.
    pub fn bare(write_batch: usize) -> anyhow::Result<Self> {
        let args = [
            "bare-server".to_string(),
            "--port-base".into(),
            "0".into(),
            "--write-batch".into(),
            write_batch.to_string(),
        ];
        Self::spawn(&args, crate::bare::BROKER, None)
    }

    /// Run this executable with `args` until the returned value is dropped (the handshake
    /// of [`crate::child`]).
    fn spawn(args: &[String], broker: &str, redis: Option<RedisProcess>) -> anyhow::Result<Self> {
        let (child, targets) = child::spawn(args)?;
        Ok(Servers {
            targets,
            probe: Probe {
                server_pid: Some(child.id()),
                redis_pid: redis.as_ref().and_then(RedisProcess::pid),
            },
            broker: broker.into(),
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
        self.redis.as_ref().map(RedisProcess::url)
    }

    /// Stop the regions (closing every socket) and then Redis.
    pub async fn stop(mut self) {
        if let Running::InProcess {
            runtime,
            shutdown,
            served,
        } = &mut self.running
        {
            shutdown.cancel();
            if let Some(s) = served.take() {
                let _ = runtime.spawn(s.stop()).await;
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

/// `bench serve`: run regions until stdin closes (the parent exited) and print
/// `ready name=ws://…,…` once they listen.
pub async fn serve_child(regions: usize, redis_url: Option<String>) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let steps = match redis_url {
        Some(url) => vec![Step::Url(url)],
        None => vec![Step::Embedded],
    };
    let (cluster, _chosen) = start_cluster(regions, &steps, shutdown.clone()).await?;
    child::ready_until_parent_exits(&targets(&cluster)).await?;
    cluster.stop().await;
    Ok(())
}
