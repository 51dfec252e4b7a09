//! The latency and throughput scenarios; each measures the floor in the same run and writes
//! JSON and SVG plots to the output directory.

use crate::floor::{self, Floor};
use crate::load::{self, LoadResult, LoadSpec};
use crate::plot::{self, Series};
use crate::servers::Servers;
use anyhow::Context;
use serde::Serialize;
use server_core::broker::BrokerKind;
use std::path::Path;
use std::time::Duration;

/// Floor samples per measurement.
const FLOOR_SAMPLES: usize = 1000;

/// Where the regions come from.
#[derive(Debug, Clone)]
pub enum Setup {
    /// The bench starts them (in-process), with each broker the scenario asks for.
    Own,
    /// Regions already running (`--target`), optionally with the server's pid and a Redis
    /// to measure the floor hop against.
    External {
        /// `http://host:port,…`.
        urls: String,
        /// The server process, for CPU and memory.
        pid: Option<u32>,
        /// Redis for the floor's Redis hop.
        floor_redis: Option<String>,
    },
}

impl Setup {
    /// Start (or point at) the regions for `broker`.
    pub async fn servers(&self, broker: BrokerKind) -> anyhow::Result<Servers> {
        match self {
            Setup::Own => Servers::in_process(broker, 3)
                .await
                .with_context(|| format!("start 3 regions ({broker:?})")),
            Setup::External { urls, pid, .. } => Ok(Servers::external(urls, *pid)),
        }
    }

    /// The brokers to run with: both when the bench starts the regions, else the one given.
    pub fn brokers(&self, own: &[BrokerKind]) -> Vec<BrokerKind> {
        match self {
            Setup::Own => own.to_vec(),
            Setup::External { .. } => vec![BrokerKind::Redis],
        }
    }

    /// How many regions: 3 of our own, or one per `--target` URL.
    pub fn regions(&self) -> usize {
        match self {
            Setup::Own => 3,
            Setup::External { urls, .. } => urls.split(',').count(),
        }
    }

    /// Measure the floor next to `servers`.
    pub async fn floor(&self, servers: &Servers) -> anyhow::Result<Floor> {
        let redis = match self {
            Setup::Own => servers.redis_url(),
            Setup::External { floor_redis, .. } => floor_redis.clone(),
        };
        floor::measure(redis.as_deref(), FLOOR_SAMPLES)
            .await
            .context("measure the floor")
    }
}

/// A load result next to its floor.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// The floor, measured just before the run.
    pub floor: Floor,
    /// Median end-to-end latency / floor median.
    pub p50_over_floor: f64,
    /// p99 end-to-end latency / floor p99.
    pub p99_over_floor_p99: f64,
    /// p99 end-to-end latency / floor median.
    pub p99_over_floor_p50: f64,
    /// The run.
    pub run: LoadResult,
}

impl Measured {
    fn new(floor: Floor, run: LoadResult) -> Self {
        Measured {
            p50_over_floor: run.latency.p50_ms / floor.p50_ms(),
            p99_over_floor_p99: run.latency.p99_ms / floor.p99_ms(),
            p99_over_floor_p50: run.latency.p99_ms / floor.p50_ms(),
            floor,
            run,
        }
    }
}

/// `per_region` publisher connections in each of `regions` regions.
fn publishing(regions: usize, per_region: usize) -> Vec<usize> {
    (0..per_region.max(1)).flat_map(|_| 0..regions).collect()
}

/// Print one result as a line.
pub fn print(m: &Measured) {
    let r = &m.run;
    println!(
        "{:<28} {:>6.0} ev/s  {:>9}/{:<9} lost {} dup {}  p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms  \
         = {:.1}x/{:.1}x floor (p50/p99)  {:.0} deliveries/s  cpu server {:.2} redis {:.2} generator {:.2}  load {:.1}",
        r.label,
        r.target_rate,
        r.delivered,
        r.expected,
        r.lost,
        r.duplicated,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.p999_ms,
        r.latency.max_ms,
        m.p50_over_floor,
        m.p99_over_floor_p99,
        r.deliveries_per_s,
        r.cpu.server_cores,
        r.cpu.redis_cores,
        r.cpu.generator_cores,
        r.load_average[0],
    );
}

/// Write `value` as pretty JSON to `out/name`.
pub fn write_json(out: &Path, name: &str, value: &impl Serialize) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(name), serde_json::to_string_pretty(value)? + "\n")?;
    Ok(())
}

/// Scenario (a): `clients` per region, `rate` events/s published from every region.
pub async fn latency(
    setup: &Setup,
    out: &Path,
    clients: usize,
    rate: f64,
    duration: Duration,
    publishers: usize,
) -> anyhow::Result<Vec<Measured>> {
    let mut runs = Vec::new();
    for broker in setup.brokers(&[BrokerKind::Embedded, BrokerKind::Redis]) {
        let servers = setup.servers(broker).await?;
        let floor = setup.floor(&servers).await?;
        let spec = LoadSpec {
            label: format!("latency-{}", servers.broker),
            clients_per_region: clients,
            publishing_regions: publishing(servers.targets.len(), publishers),
            rate,
            duration,
            drain: Duration::from_secs(30),
        };
        let run = load::run(&servers, &spec)
            .await
            .with_context(|| format!("run {}", spec.label))?;
        servers.stop().await;
        let m = Measured::new(floor, run);
        print(&m);
        plot::timeline(
            &out.join(format!("{}-timeline.svg", m.run.label)),
            &format!("{}: latency over time", m.run.label),
            &m.run.timeline,
        )?;
        runs.push(m);
    }
    let series: Vec<Series> = runs
        .iter()
        .map(|m| Series {
            name: m.run.label.clone(),
            points: &m.run.cdf,
        })
        .collect();
    let floor = runs.iter().map(|m| m.floor.p50_ms()).fold(0.0, f64::max);
    plot::cdf(
        &out.join("latency-cdf.svg"),
        "latency CDF",
        &series,
        Some(floor),
    )?;
    write_json(out, "latency.json", &runs)?;
    Ok(runs)
}

/// Scenario (b)'s answer: every step tried and the best clean one.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// p99 limit a step must stay under.
    pub p99_limit_ms: f64,
    /// Every step, in the order tried.
    pub steps: Vec<Measured>,
    /// The highest rate with nothing lost and p99 under the limit.
    pub best: Option<Measured>,
}

/// Scenario (b): the highest publish rate with 0 lost and p99 under `p99_limit_ms`, found by
/// doubling from `start_rate` and then bisecting, `clients` per region.
pub async fn throughput(
    setup: &Setup,
    out: &Path,
    clients: usize,
    p99_limit_ms: f64,
    start_rate: f64,
    step: Duration,
    max_steps: usize,
) -> anyhow::Result<Throughput> {
    let broker = setup.brokers(&[BrokerKind::Redis])[0];
    let servers = setup.servers(broker).await?;
    let floor = setup.floor(&servers).await?;
    let (mut good, mut bad): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = start_rate;
    let mut result = Throughput {
        p99_limit_ms,
        steps: Vec::new(),
        best: None,
    };
    for _ in 0..max_steps {
        let spec = LoadSpec {
            label: format!("throughput-{}-{rate:.0}", servers.broker),
            clients_per_region: clients,
            publishing_regions: publishing(servers.targets.len(), 1),
            rate,
            duration: step,
            drain: Duration::from_secs(20),
        };
        let run = load::run(&servers, &spec)
            .await
            .with_context(|| format!("run {}", spec.label))?;
        let m = Measured::new(floor, run);
        print(&m);
        let ok = m.run.clean() && m.run.delivered > 0 && m.run.latency.p99_ms <= p99_limit_ms;
        if ok {
            good = Some(rate);
            result.best = Some(m.clone());
        } else {
            bad = Some(rate);
        }
        result.steps.push(m);
        rate = match (good, bad) {
            (Some(g), None) => g * 2.0,
            (None, Some(b)) if b >= 2.0 => b / 2.0,
            (Some(g), Some(b)) if (b - g) / g > 0.1 => (g + b) / 2.0,
            _ => break,
        };
    }
    servers.stop().await;
    if let Some(best) = &result.best {
        plot::timeline(
            &out.join("throughput-best-timeline.svg"),
            &format!("{}: latency over time", best.run.label),
            &best.run.timeline,
        )?;
        let series = [Series {
            name: best.run.label.clone(),
            points: &best.run.cdf,
        }];
        plot::cdf(
            &out.join("throughput-best-cdf.svg"),
            "latency CDF at the highest clean rate",
            &series,
            Some(floor.p50_ms()),
        )?;
    }
    let curve: Vec<(f64, f64)> = {
        let mut c: Vec<_> = result
            .steps
            .iter()
            .map(|m| (m.run.target_rate, m.run.latency.p99_ms))
            .collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c
    };
    plot::lines(
        &out.join("throughput-p99.svg"),
        "p99 latency by publish rate",
        ("events/s published", "p99 latency (ms)"),
        &[Series {
            name: format!("{} clients", clients * setup.regions()),
            points: &curve,
        }],
        None,
    )?;
    write_json(out, "throughput.json", &result)?;
    Ok(result)
}
