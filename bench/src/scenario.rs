//! Where the regions come from, and the latency scenario; each scenario measures its floors
//! in the same run (see [`crate::measured`]) and writes JSON and SVG plots to the output
//! directory. The throughput search is in [`crate::throughput`].

use crate::bare;
use crate::floor::{self, Floor};
use crate::load::{self, LoadSpec};
use crate::measured::{print, Measured};
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

    /// Start the bare broadcast server, to be driven like the regions in the same run and
    /// measured as they are: in-process next to our own in-process regions, in a child
    /// process (CPU from `/proc/<pid>`) next to `--target` regions. It always runs on this
    /// machine: it is this machine's floor.
    pub async fn bare(&self) -> anyhow::Result<Servers> {
        let servers = match self {
            Setup::Own => Servers::bare_in_process(bare::WRITE_BATCH).await,
            Setup::External { .. } => Servers::bare(bare::WRITE_BATCH),
        };
        servers.context("start the bare broadcast server")
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

/// One run of `spec` on a bare broadcast server started for it (its [`wire::REGIONS`]
/// ports), next to the WebSocket floor.
async fn bare_run(setup: &Setup, spec: LoadSpec) -> anyhow::Result<Measured> {
    let bare = setup.bare().await?;
    let ws_floor = floor::measure(None, FLOOR_SAMPLES).await?;
    let run = load::run(&bare, &spec)
        .await
        .with_context(|| format!("run {}", spec.label))?;
    bare.stop().await;
    Ok(Measured::new(ws_floor, run, None))
}

/// `per_region` publisher connections in each of `regions` regions.
pub fn publishing(regions: usize, per_region: usize) -> Vec<usize> {
    (0..per_region.max(1)).flat_map(|_| 0..regions).collect()
}

/// Write `value` as pretty JSON to `out/name`.
pub fn write_json(out: &Path, name: &str, value: &impl Serialize) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(name), serde_json::to_string_pretty(value)? + "\n")?;
    Ok(())
}

/// Scenario (a): `clients` per region, `rate` events/s published from every region, on the
/// bare broadcast server, then on the regions with each broker, then on the bare server again;
/// every run of the regions is reported as ratios to the round-trip + Redis-hop floor and to
/// the bare run of the two with the lower p99 (the machine's load drifts over a scenario; a
/// floor is the best the bare server did in the run, and the JSON keeps both).
pub async fn latency(
    setup: &Setup,
    out: &Path,
    clients: usize,
    rate: f64,
    duration: Duration,
    publishers: usize,
) -> anyhow::Result<Vec<Measured>> {
    let spec = |label: String, regions: usize| LoadSpec {
        label,
        clients_per_region: clients,
        publishing_regions: publishing(regions, publishers),
        rate,
        duration,
        drain: Duration::from_secs(30),
        channels: 1,
    };
    let before = bare_run(setup, spec("latency-bare".into(), wire::REGIONS.len())).await?;
    print(&before);
    let mut ours = Vec::new();
    for broker in setup.brokers(&[BrokerKind::Embedded, BrokerKind::Redis]) {
        let servers = setup.servers(broker).await?;
        let floor = setup.floor(&servers).await?;
        let spec = spec(format!("latency-{}", servers.broker), servers.targets.len());
        let run = load::run(&servers, &spec)
            .await
            .with_context(|| format!("run {}", spec.label))?;
        servers.stop().await;
        ours.push((floor, run));
    }
    let after = bare_run(
        setup,
        spec("latency-bare-after".into(), wire::REGIONS.len()),
    )
    .await?;
    print(&after);
    let best = [&before, &after]
        .into_iter()
        .min_by(|a, b| a.run.latency.p99_ms.total_cmp(&b.run.latency.p99_ms))
        .map(|m| m.run.clone())
        .expect("two bare runs");
    println!(
        "(the bare floor below is {}: the lower p99 of the two)",
        best.label
    );
    let mut runs = vec![before];
    for (floor, run) in ours {
        let m = Measured::new(floor, run, Some(&best));
        print(&m);
        runs.push(m);
    }
    runs.push(after);
    for m in &runs {
        plot::timeline(
            &out.join(format!("{}-timeline.svg", m.run.label)),
            &format!("{}: latency over time", m.run.label),
            &m.run.timeline,
        )?;
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
