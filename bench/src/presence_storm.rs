//! `bench presence-storm`: what a reconnect storm ([`crate::storm`]) costs the events.
//!
//! In one run on the same regions: a load run (receivers on `global`, events published from
//! every region) without a storm, the baseline; then the storm starts, warms up, and the same
//! load run goes again while it lasts. The report holds the presence changes the storm made
//! per second (its own counts, and each region's `multiregion_presence_changes_total`: the
//! changes it read, every region's), event latency with and without the storm and their
//! ratio, and delivery (lost and duplicated must be 0). After the storm stops, every region's
//! `GET /presence` must list none of its members within [`PresenceStormSpec::converge`]: the
//! time it took, or the ghosts left.
//!
//! The storm's clients are members of a channel of their own in `global`'s partition: their
//! joins and leaves travel in the same presence stream, and are read by the same feed, as the
//! events of `global`; but they receive no events (3,000 more receivers would be another
//! benchmark), and nobody watches their channel, so the frames of joins and leaves sent to
//! watchers are not part of this cost.

use crate::load::{self, LoadResult, LoadSpec};
use crate::region_http::RegionHttp;
use crate::scenario::publishing;
use crate::servers::Servers;
use crate::storm::{Storm, StormSpec, Tally};
use crate::target::Target;
use serde::Serialize;
use server_core::broker::{partition, RedisConfig};
use std::time::{Duration, Instant};

/// The counter of joins and leaves a region read.
const PRESENCE_CHANGES: &str = "multiregion_presence_changes_total";
/// How often the members are read while waiting for the storm's to be gone.
const POLL: Duration = Duration::from_millis(50);

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceStormSpec {
    /// Receiving clients per region (on `global`).
    pub receivers_per_region: usize,
    /// Publisher connections per region.
    pub publishers_per_region: usize,
    /// Events per second, all regions together.
    pub rate: f64,
    /// Seconds of publishing in each load run.
    pub duration: Duration,
    /// The storm.
    pub storm: StormSpec,
    /// How long the storm runs before the load run starts.
    pub warmup: Duration,
    /// How long the storm's members may take to be gone from every region's list.
    pub converge: Duration,
}

/// The first channel named `storm-<i>` in `global`'s partition, so the storm's presence
/// changes share the feed of the events measured (partitions as the bench's Redis has them).
pub fn storm_channel() -> String {
    let partitions = RedisConfig::default().partitions;
    let global = partition::of(wire::GLOBAL, partitions);
    (0..)
        .map(|i| format!("storm-{i}"))
        .find(|c| partition::of(c, partitions) == global)
        .expect("some name lands in every partition")
}

/// What one region read during the storm's load run.
#[derive(Debug, Clone, Serialize)]
pub struct RegionRead {
    /// The region.
    pub region: String,
    /// Joins and leaves (every region's) it read per second, from its `/metrics`.
    pub changes_per_s: f64,
}

/// How the storm's members left every region's list after it stopped.
#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    /// From the storm's last close to the first poll that found none of its members in any
    /// region, ms; `None` when some were left at the bound.
    pub converged_ms: Option<f64>,
    /// The storm's members still listed at the last poll, all regions' answers together.
    pub ghosts: u64,
    /// Members of `global` named like the storm's (`s<k>`) at the last poll (must be 0).
    pub global_ghosts: u64,
}

/// What the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceStormReport {
    /// What ran.
    pub spec: PresenceStormSpec,
    /// `redis` or `external`.
    pub broker: String,
    /// Regions.
    pub regions: usize,
    /// The load run while the storm ran, seconds (connect, publish, drain).
    pub storm_window_s: f64,
    /// What the storm's clients did in that window.
    pub storm: Tally,
    /// Joins + leaves per second the storm's clients made, all regions together.
    pub changes_per_s: f64,
    /// The same per region (each region's own clients).
    pub changes_per_s_per_region: f64,
    /// What every region read (empty when `/metrics` could not be read).
    pub read: Vec<RegionRead>,
    /// The load run without the storm.
    pub baseline: LoadResult,
    /// The same load run during the storm.
    pub during: LoadResult,
    /// p50 during / p50 baseline.
    pub p50_ratio: f64,
    /// p99 during / p99 baseline.
    pub p99_ratio: f64,
    /// After the storm stopped.
    pub convergence: Convergence,
}

impl PresenceStormReport {
    /// Both load runs clean (nothing lost, duplicated or disconnected) and no ghost left.
    pub fn clean(&self) -> bool {
        self.baseline.clean()
            && self.during.clean()
            && self.convergence.ghosts == 0
            && self.convergence.global_ghosts == 0
    }
}

/// Run the baseline, then the storm with the same load, on `servers`.
pub async fn run(
    servers: &Servers,
    spec: &PresenceStormSpec,
) -> anyhow::Result<PresenceStormReport> {
    let http = RegionHttp::new()?;
    let regions = servers.targets.len();
    let load = |label: &str| LoadSpec {
        label: label.into(),
        clients_per_region: spec.receivers_per_region,
        publishing_regions: publishing(regions, spec.publishers_per_region),
        rate: spec.rate,
        duration: spec.duration,
        drain: Duration::from_secs(30),
        channels: 1,
    };
    let baseline = load::run(servers, &load("presence-storm-baseline")).await?;

    let storm = Storm::start(&servers.targets, &spec.storm);
    tokio::time::sleep(spec.warmup).await;
    let (tally_before, read_before) = (storm.tally(), read_counters(&http, servers).await);
    let started = Instant::now();
    let during = load::run(servers, &load("presence-storm-during")).await;
    let window = started.elapsed().as_secs_f64();
    let (tally_after, read_after) = (storm.tally(), read_counters(&http, servers).await);
    storm.stop().await;
    let convergence = converge(&http, &servers.targets, spec).await;
    let during = during?;

    let made = tally_after.since(&tally_before);
    let read = match (read_before, read_after) {
        (Some(before), Some(after)) => servers
            .targets
            .iter()
            .zip(before.iter().zip(&after))
            .map(|(t, (b, a))| RegionRead {
                region: t.name.clone(),
                changes_per_s: (a - b) / window,
            })
            .collect(),
        _ => Vec::new(),
    };
    let changes_per_s = made.changes() as f64 / window;
    Ok(PresenceStormReport {
        spec: spec.clone(),
        broker: servers.broker.clone(),
        regions,
        storm_window_s: window,
        storm: made,
        changes_per_s,
        changes_per_s_per_region: changes_per_s / regions.max(1) as f64,
        read,
        p50_ratio: ratio(during.latency.p50_ms, baseline.latency.p50_ms),
        p99_ratio: ratio(during.latency.p99_ms, baseline.latency.p99_ms),
        baseline,
        during,
        convergence: convergence?,
    })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// Every region's [`PRESENCE_CHANGES`], in target order; `None` when one could not be read.
async fn read_counters(http: &RegionHttp, servers: &Servers) -> Option<Vec<f64>> {
    let mut values = Vec::with_capacity(servers.targets.len());
    for t in &servers.targets {
        values.push(http.counter(t, PRESENCE_CHANGES).await.ok()?);
    }
    Some(values)
}

/// Poll every region's members of the storm's channel (and of `global`) until none of the
/// storm's is listed, at most `spec.converge`.
async fn converge(
    http: &RegionHttp,
    targets: &[Target],
    spec: &PresenceStormSpec,
) -> anyhow::Result<Convergence> {
    let stopped = Instant::now();
    let deadline = stopped + spec.converge;
    loop {
        let (mut ghosts, mut global_ghosts) = (0, 0);
        for t in targets {
            ghosts += http.members(t, &spec.storm.channel).await?.count;
            let global = http.members(t, wire::GLOBAL).await?;
            global_ghosts += global.members.iter().filter(|m| is_storms(&m.name)).count() as u64;
        }
        let done = ghosts == 0 && global_ghosts == 0;
        if done || Instant::now() >= deadline {
            return Ok(Convergence {
                converged_ms: done.then(|| stopped.elapsed().as_secs_f64() * 1e3),
                ghosts,
                global_ghosts,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A storm client's name: `s` and digits.
fn is_storms(name: &str) -> bool {
    name.strip_prefix('s')
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// One line per figure.
pub fn print(r: &PresenceStormReport) {
    for l in [&r.baseline, &r.during] {
        println!(
            "{:<26} {:>7}/{:<7} lost {} dup {} closed {}  p50 {:.2} p99 {:.2} max {:.2} ms  \
             cpu server {:.2} redis {:.2} generator {:.2}",
            l.label,
            l.delivered,
            l.expected,
            l.lost,
            l.duplicated,
            l.closed_early,
            l.latency.p50_ms,
            l.latency.p99_ms,
            l.latency.max_ms,
            l.cpu.server_cores,
            l.cpu.redis_cores,
            l.cpu.generator_cores,
        );
    }
    let read: Vec<String> = r
        .read
        .iter()
        .map(|x| format!("{} {:.0}", x.region, x.changes_per_s))
        .collect();
    println!(
        "storm: {} joins {} leaves {} failures in {:.1} s: {:.0} changes/s ({:.0} per region); \
         read per region: {}",
        r.storm.joins,
        r.storm.leaves,
        r.storm.failures,
        r.storm_window_s,
        r.changes_per_s,
        r.changes_per_s_per_region,
        if read.is_empty() {
            "n/a".into()
        } else {
            read.join(", ")
        },
    );
    println!(
        "during / baseline: p50 {:.2}x p99 {:.2}x; converged {}; ghosts {} (global {})",
        r.p50_ratio,
        r.p99_ratio,
        r.convergence
            .converged_ms
            .map_or("not within the bound".into(), |ms| format!("in {ms:.0} ms")),
        r.convergence.ghosts,
        r.convergence.global_ghosts,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The storm's channel shares `global`'s partition and is a valid channel name.
    #[test]
    fn the_storm_channel_is_in_globals_partition() {
        let c = storm_channel();
        let p = RedisConfig::default().partitions;
        assert_eq!(partition::of(&c, p), partition::of(wire::GLOBAL, p));
        assert!(wire::channel::check_name(&c).is_ok(), "{c}");
    }

    /// Storm names are told apart from the receivers' `anon-…` and from other names.
    #[test]
    fn tells_storm_names_apart() {
        assert!(is_storms("s0") && is_storms("s2999"));
        assert!(!is_storms("s") && !is_storms("anon-1a2b") && !is_storms("sam"));
    }
}
