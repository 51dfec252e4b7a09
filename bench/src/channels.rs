//! The channels scenario (`bench channels`), one run of each part:
//!
//! - **(a) spread**: the highest clean publish rate (nothing lost, p99 under a limit; found
//!   like the throughput search) with every publish on 1 channel and spread over 100, on one
//!   Redis and on a Redis Cluster of 3 primaries, with the CPU each Redis process spent per
//!   stored publish. One channel is one partition, one slot, one primary; 100 channels spread
//!   over the 12 partitions and so over the shards (docs/scaling.md).
//! - **(b) fan-out**: `clients` per region each following one of 100 channels, publishes
//!   spread over the channels at `rate`, against today's broadcast of the same deliveries
//!   (every client on `global`, `rate / 100`) on the regions and on the bare broadcast server:
//!   deliveries/s, p99 and server CPU per delivery.
//!
//! Writes `channels.json` to the output directory.

use crate::cluster::RedisCluster;
use crate::load::{self, LoadResult, LoadSpec};
use crate::procfs::process_seconds;
use crate::scenario::{publishing, write_json, Setup};
use crate::servers::Servers;
use crate::throughput::Search;
use anyhow::Context;
use serde::Serialize;
use server_core::broker::BrokerKind;
use std::path::Path;
use std::time::Duration;

/// Channels of the spread runs and of the fan-out run.
pub const MANY: usize = 100;
/// Primaries of the Cluster.
const SHARDS: usize = 3;
/// Publisher connections per region in the spread runs.
const PUBLISHERS: usize = 2;

/// One step of a spread search: the run, and each Redis process's CPU during it.
#[derive(Debug, Clone, Serialize)]
pub struct SpreadStep {
    /// The run (one receiver per channel per region: every publish reaches 3 clients, the
    /// publishes are measured, not the fan-out).
    pub run: LoadResult,
    /// Per Redis process (a Cluster: one per shard, in slot order): CPU cores used, over
    /// the whole run (connecting and draining included).
    pub redis_cores: Vec<f64>,
    /// Per Redis process: CPU µs per stored publish (all shards' publishes counted).
    pub redis_us_per_publish: Vec<f64>,
    /// Per Redis process: its share of the Redis CPU of the step.
    pub redis_share: Vec<f64>,
}

/// One deployment × channel count: every step and the best clean one.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    /// `redis` or `cluster-3`.
    pub deployment: String,
    /// Channels the publishes were spread over.
    pub channels: usize,
    /// Every step, in the order tried.
    pub steps: Vec<SpreadStep>,
    /// The highest clean rate's step.
    pub best: Option<SpreadStep>,
}

/// Part (b): the same deliveries over channels and as a broadcast.
#[derive(Debug, Clone, Serialize)]
pub struct Fanout {
    /// `clients` per region over [`MANY`] channels at `rate`.
    pub channels: LoadResult,
    /// `clients` per region on `global` at `rate / MANY`.
    pub broadcast: LoadResult,
    /// The bare broadcast server at the broadcast's clients and rate.
    pub bare: LoadResult,
}

/// Everything `bench channels` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Channels {
    /// p99 limit of a clean spread step.
    pub p99_limit_ms: f64,
    /// Part (a).
    pub spread: Vec<Spread>,
    /// Part (b).
    pub fanout: Fanout,
}

/// Run both parts and write `channels.json`.
pub async fn channels(
    out: &Path,
    p99_limit_ms: f64,
    start_rate: f64,
    duration: Duration,
    max_steps: usize,
    clients: usize,
    rate: f64,
) -> anyhow::Result<Channels> {
    let search = SearchSpec {
        p99_limit_ms,
        start_rate,
        duration,
        max_steps,
    };
    let mut spread = Vec::new();
    for channels in [1, MANY] {
        let servers = Servers::in_process(BrokerKind::Redis, 3).await?;
        let pids: Vec<u32> = servers.probe.redis_pid.into_iter().collect();
        spread.push(search.run(&servers, "redis", &pids, channels).await?);
        servers.stop().await;
    }
    for channels in [1, MANY] {
        let cluster = RedisCluster::start(SHARDS)?;
        let servers = Servers::in_process_at(&cluster.url(), 3)
            .await
            .context("start 3 regions on the cluster")?;
        let name = format!("cluster-{SHARDS}");
        spread.push(
            search
                .run(&servers, &name, &cluster.pids(), channels)
                .await?,
        );
        servers.stop().await;
    }
    let fanout = fanout(clients, rate, duration).await?;
    let result = Channels {
        p99_limit_ms,
        spread,
        fanout,
    };
    summary(&result);
    write_json(out, "channels.json", &result)?;
    Ok(result)
}

/// How a spread search runs.
struct SearchSpec {
    p99_limit_ms: f64,
    start_rate: f64,
    duration: Duration,
    max_steps: usize,
}

impl SearchSpec {
    /// The search on `servers` (whose Redis processes are `pids`) over `channels`.
    async fn run(
        &self,
        servers: &Servers,
        deployment: &str,
        pids: &[u32],
        channels: usize,
    ) -> anyhow::Result<Spread> {
        let mut spread = Spread {
            deployment: deployment.into(),
            channels,
            steps: Vec::new(),
            best: None,
        };
        let mut search = Search::default();
        let mut rate = Some(self.start_rate);
        for _ in 0..self.max_steps {
            let Some(r) = rate else { break };
            let spec = LoadSpec {
                label: format!("spread-{deployment}-{channels}ch-{r:.0}"),
                // One follower per channel per region: every publish reaches 3 clients.
                clients_per_region: channels,
                publishing_regions: publishing(servers.targets.len(), PUBLISHERS),
                rate: r,
                duration: self.duration,
                drain: Duration::from_secs(20),
                channels,
            };
            let before: Vec<f64> = pids.iter().map(|&p| process_seconds(p)).collect();
            let started = std::time::Instant::now();
            let run = load::run(servers, &spec)
                .await
                .with_context(|| format!("run {}", spec.label))?;
            let step = SpreadStep::new(run, pids, &before, started.elapsed());
            let ok = step.run.clean()
                && step.run.stored > 0
                && step.run.latency.p99_ms <= self.p99_limit_ms;
            print_step(&step, ok);
            search.record(r, ok);
            if ok && spread.best.as_ref().is_none_or(|b| b.run.target_rate < r) {
                spread.best = Some(step.clone());
            }
            spread.steps.push(step);
            rate = search.next();
        }
        Ok(spread)
    }
}

impl SpreadStep {
    /// `run`, with the Redis CPU of `pids` since `before` (their CPU seconds then), over
    /// the `took` the whole run took (connecting and draining included).
    fn new(run: LoadResult, pids: &[u32], before: &[f64], took: Duration) -> Self {
        let span = took.as_secs_f64().max(1e-3);
        let used: Vec<f64> = pids
            .iter()
            .zip(before)
            .map(|(&p, b)| (process_seconds(p) - b).max(0.0))
            .collect();
        let total: f64 = used.iter().sum();
        SpreadStep {
            redis_cores: used.iter().map(|u| u / span).collect(),
            redis_us_per_publish: used
                .iter()
                .map(|u| u * 1e6 / run.stored.max(1) as f64)
                .collect(),
            redis_share: used.iter().map(|u| u / total.max(1e-9)).collect(),
            run,
        }
    }
}

fn print_step(step: &SpreadStep, ok: bool) {
    let r = &step.run;
    let per: Vec<String> = step
        .redis_us_per_publish
        .iter()
        .zip(&step.redis_share)
        .map(|(us, share)| format!("{us:.1} µs ({:.0} %)", share * 100.0))
        .collect();
    println!(
        "{:<34} stored {}/{} lost {} dup {} p50 {:.2} p99 {:.2} ms  redis cpu/publish {}  {}",
        r.label,
        r.stored,
        r.sent,
        r.lost,
        r.duplicated,
        r.latency.p50_ms,
        r.latency.p99_ms,
        per.join(", "),
        if ok { "clean" } else { "not clean" },
    );
}

/// Part (b): channels, the broadcast of the same deliveries, and the bare server.
async fn fanout(clients: usize, rate: f64, duration: Duration) -> anyhow::Result<Fanout> {
    let spec = |label: &str, rate: f64, channels: usize| LoadSpec {
        label: label.into(),
        clients_per_region: clients,
        publishing_regions: publishing(3, 1),
        rate,
        duration,
        drain: Duration::from_secs(30),
        channels,
    };
    let servers = Servers::in_process(BrokerKind::Redis, 3).await?;
    let channels = load::run(&servers, &spec("fanout-channels", rate, MANY)).await?;
    let broadcast = load::run(&servers, &spec("fanout-broadcast", rate / MANY as f64, 1)).await?;
    servers.stop().await;
    let bare_servers = Setup::Own.bare().await?;
    let bare = load::run(&bare_servers, &spec("fanout-bare", rate / MANY as f64, 1)).await?;
    bare_servers.stop().await;
    Ok(Fanout {
        channels,
        broadcast,
        bare,
    })
}

/// The figures docs/scaling.md and docs/performance.md quote.
fn summary(c: &Channels) {
    for s in &c.spread {
        match &s.best {
            Some(b) => println!(
                "spread {} {} channel(s): best clean {:.0} publishes/s, p99 {:.2} ms, redis µs/publish by process {:?}, shares {:?}",
                s.deployment,
                s.channels,
                b.run.target_rate,
                b.run.latency.p99_ms,
                b.redis_us_per_publish.iter().map(|v| (v * 10.0).round() / 10.0).collect::<Vec<_>>(),
                b.redis_share.iter().map(|v| (v * 100.0).round()).collect::<Vec<_>>(),
            ),
            None => println!("spread {} {} channel(s): no clean step", s.deployment, s.channels),
        }
    }
    for r in [&c.fanout.channels, &c.fanout.broadcast, &c.fanout.bare] {
        println!(
            "fanout {}: {:.0} deliveries/s, p99 {:.2} ms, server {:.2} µs/delivery, lost {} dup {}",
            r.label,
            r.deliveries_per_s,
            r.latency.p99_ms,
            r.server_cpu_us_per_delivery,
            r.lost,
            r.duplicated
        );
    }
}
