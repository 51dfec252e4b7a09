//! `cargo xtask chaos`: minutes of random, overlapping faults while every region publishes,
//! then a quiet period, then a proof over the whole recorded history (Jepsen's method).
//!
//! [`run`] brings up the chaos bed ([`deploy`]: its own network-namespace hosts, `mrch-…` in
//! `10.203.77.128/25`, so it runs alongside the testbed), starts the clients ([`workload`]),
//! applies the schedule drawn from the seed ([`nemesis`], [`executor`]), heals everything,
//! waits until every publish is acked and every subscriber caught up (bounded), removes the
//! bed, and checks the history ([`checker`]). The same seed gives the same schedule and the
//! same client choices; the timing of a real network does not repeat, so a violation is
//! reported with the seed, the schedule and the first counterexample, to rerun and to turn
//! into a scenario test.
//!
//! # Layout
//! - [`rng`]: the seeded generator.
//! - [`nemesis`]: the faults and the schedule.
//! - [`deploy`]: the bed: Redis primary + replica + three Sentinels, three regions, clients.
//! - [`executor`]: the schedule applied to the bed, resources sampled.
//! - [`workload`]: publishers and subscribers that record everything; `publisher`: the
//!   pipelined publisher; `subscriber`: one subscriber.
//! - [`history`]: what is recorded.
//! - [`checker`]: the properties, as pure functions over a history.
//! - [`resources`]: RSS and open FDs from `/proc`.
//! - `presence`: the presence lists at the end, while connected and after every close.
//! - [`topology`]: Sentinel (the default) or Cluster (`--cluster`): the data nodes, the
//!   regions' Redis URL, which primary a kill takes.
//! - `snapshot`: Redis put back to an older snapshot (a fault of the nemesis).

pub mod checker;
pub mod deploy;
pub mod executor;
pub mod history;
pub mod nemesis;
mod presence;
mod publisher;
pub mod resources;
pub mod rng;
mod snapshot;
mod subscriber;
pub mod topology;
pub mod workload;

use crate::bed::Options;
use crate::Result;
use checker::Verdict;
use history::History;
use nemesis::Planned;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// A chaos run's settings.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// The seed of the schedule and of every client's choices.
    pub seed: u64,
    /// How long faults are applied (the schedule's length).
    pub faults_for: Duration,
    /// Bound on the quiet period: every publish acked and every subscriber caught up within it.
    pub quiet: Duration,
    /// Pause between one publisher's new ids.
    pub every: Duration,
    /// The rule: with durable acks, no announcement at all and no second delivery
    /// (see [`history::History::strict`]); by default the documented promise is checked.
    pub strict: bool,
    /// The Redis deployment (Sentinel by default).
    pub topology: topology::Topology,
    /// Where the bed's processes come from and log to.
    pub options: Options,
}

impl ChaosConfig {
    /// `minutes` of faults (at least 30 s) from `seed`, with the defaults.
    pub fn new(seed: u64, minutes: f64) -> Result<ChaosConfig> {
        let mut options = Options::new()?;
        options.log_dir = std::env::temp_dir().join("multiregion-chaos-logs");
        Ok(ChaosConfig {
            seed,
            faults_for: Duration::from_secs_f64((minutes * 60.0).max(30.0)),
            quiet: Duration::from_secs(90),
            every: Duration::from_millis(50),
            strict: false,
            topology: topology::Topology::default(),
            options,
        })
    }
}

/// What a run found.
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The schedule.
    pub schedule: Vec<Planned>,
    /// The checker's verdict.
    pub verdict: Verdict,
    /// How long the quiet period took until everything was acked and caught up.
    pub quiet_took: Option<Duration>,
    /// The recorded history.
    pub history: History,
}

/// The schedule, one fault a line.
pub fn print_schedule(seed: u64, schedule: &[Planned]) -> String {
    let mut out = format!("chaos schedule (seed {seed}, {} faults):\n", schedule.len());
    for p in schedule {
        let _ = writeln!(out, "  {p}");
    }
    out
}

/// Run the chaos test: bed up, clients, faults, quiet, bed down, check.
pub fn run(config: ChaosConfig) -> Result<Outcome> {
    let schedule = nemesis::schedule(config.seed, config.faults_for, deploy::CLIENTS.len());
    eprint!("{}", print_schedule(config.seed, &schedule));
    let mut bed = deploy::Deployment::up(config.options.clone(), config.topology)?;
    let redis = match config.topology {
        topology::Topology::Sentinel => "Sentinel: r1 primary, r2 replica",
        topology::Topology::Cluster => "Cluster: r1..r6, three primaries with a replica each",
    };
    eprintln!("chaos: bed up ({redis}; {})", bed.region_command(0));
    let mut rng = rng::Rng::new(config.seed);
    let mut history = History::new(true);
    history.strict = config.strict;
    let load = workload::Workload::start(bed.token(), config.every, &mut rng, history);
    {
        let mut exec = executor::Executor::new(&mut bed, &load, &schedule);
        exec.run(config.faults_for);
        exec.sample();
    }
    load.record(|h| h.quiet_at = Some(h.now()));
    eprintln!(
        "chaos: every fault healed; quiet period (at most {:?})",
        config.quiet
    );
    let (quiet_took, history) = {
        let (took, h) = finish_sampled(load, &mut bed, config.quiet);
        (took, h)
    };
    drop(bed);
    let verdict = checker::check(&history);
    Ok(Outcome {
        seed: config.seed,
        schedule,
        verdict,
        quiet_took,
        history,
    })
}

/// Let the workload settle, check presence while every subscriber is connected, close the
/// clients and check that nobody is left listed; then take a last resource sample of each
/// region into the history.
fn finish_sampled(
    load: workload::Workload,
    bed: &mut deploy::Deployment,
    quiet: Duration,
) -> (Option<Duration>, History) {
    let took = load.settle(quiet);
    let exact = presence::exact_while_connected(&load, bed);
    let mut history = load.close();
    history.presence_connected = exact;
    history.presence_after = (0..3)
        .map(|r| {
            (
                nemesis::REGIONS[r].to_owned(),
                presence::members_left(bed, r),
            )
        })
        .collect();
    for r in 0..3 {
        if let Some(pid) = bed.pid(deploy::Node::Region(r)) {
            if let Some(s) = resources::sample(pid, history.now()) {
                history.resources[r].push(s);
            }
        }
    }
    (took, history)
}

impl Outcome {
    /// The run's figures, and the first violation with its context.
    pub fn report(&self) -> String {
        let v = &self.verdict;
        let h = &self.history;
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &h.faults {
            *kinds.entry(f.1).or_default() += 1;
        }
        let mut out = String::new();
        let _ = writeln!(out, "== chaos run, seed {}", self.seed);
        let _ = writeln!(
            out,
            "faults applied: {} of {} planned",
            h.faults.len(),
            self.schedule.len()
        );
        for (k, n) in &kinds {
            let _ = writeln!(out, "  {n:>4}  {k}");
        }
        let _ = writeln!(
            out,
            "events: {} published, {} acked, {} publish attempts (retries included)",
            v.published, v.acked, v.attempts
        );
        let _ = writeln!(
            out,
            "subscribers: {}; events received {}; deliveries checked (acked event × subscriber owed it) {} of {} (acked × subscribers; the rest were acked before a subscriber's first welcome)",
            h.subscribers.len(),
            v.received,
            v.deliveries_checked,
            v.acked * h.subscribers.len()
        );
        let _ = writeln!(
            out,
            "announcements (gap, epoch): {}{}",
            v.announcements,
            if h.strict {
                " (strict: none allowed)"
            } else {
                " (allowed when they cover no acked event, or one a restore lost)"
            }
        );
        let _ = writeln!(
            out,
            "acked events a restore of an older snapshot lost, announced (event × subscriber owed it): {}",
            v.lost_to_restores
        );
        let ms =
            |m: Option<u64>| m.map_or("never".into(), |m| format!("{:.1} s", m as f64 / 1000.0));
        let _ = writeln!(
            out,
            "longest heal → every subscriber caught up: {}; quiet period to all acked and caught up: {}",
            ms(v.heal_to_caught_up),
            ms(self.quiet_took.map(|d| d.as_millis() as u64))
        );
        if let Some((heal, sub, id)) = &v.slowest {
            let _ = writeln!(
                out,
                "  (the heal at {:.1} s; the last to get its events was {sub}, with {id})",
                *heal as f64 / 1000.0
            );
        }
        for (r, (rss0, fd0, rss1, fd1)) in v.resources.iter().enumerate() {
            let _ = writeln!(
                out,
                "region {}: RSS {} → {} MiB, open FDs {fd0} → {fd1}",
                nemesis::REGIONS[r],
                rss0 / 1024,
                rss1 / 1024
            );
        }
        let left: Vec<String> = h
            .presence_after
            .iter()
            .map(|(r, c)| {
                format!(
                    "{r} {}",
                    c.as_ref().map_or_else(|e| e.clone(), |n| n.0.to_string())
                )
            })
            .collect();
        let wrong = h
            .presence_connected
            .iter()
            .filter(|(_, _, d)| !matches!(d, Ok((g, m)) if g.is_empty() && m.is_empty()))
            .count();
        let _ = writeln!(
            out,
            "presence while every subscriber connected: {} of {} lists (region × channel) exact",
            h.presence_connected.len() - wrong,
            h.presence_connected.len()
        );
        let _ = writeln!(
            out,
            "presence after every client closed (members of ch0): {}",
            left.join(", ")
        );
        let _ = writeln!(out, "violations: {}", v.violations.len());
        if let Some(first) = v.violations.first() {
            let mut by: BTreeMap<char, usize> = BTreeMap::new();
            for x in &v.violations {
                *by.entry(x.property).or_default() += 1;
            }
            let _ = writeln!(out, "  by property: {by:?}");
            let _ = writeln!(out, "first counterexample: {}", first.what);
            for more in v.violations.iter().skip(1).take(19) {
                let _ = writeln!(out, "  then: {}", more.what);
            }
            out.push_str(&checker::around(h, first));
            let mut dumped = std::collections::BTreeSet::new();
            for si in v.violations.iter().filter_map(|x| x.at.map(|a| a.0)) {
                if !dumped.insert(si) {
                    continue;
                }
                let sub = &h.subscribers[si];
                let path =
                    std::env::temp_dir().join(format!("chaos-seed-{}-{}.txt", self.seed, sub.name));
                let record: String = sub
                    .seen
                    .iter()
                    .map(|(ms, seen)| format!("{ms:>8} ms  {seen:?}\n"))
                    .collect();
                if std::fs::write(&path, record).is_ok() {
                    let _ = writeln!(out, "{}'s whole record: {}", sub.name, path.display());
                }
            }
            let all: String = v
                .violations
                .iter()
                .map(|x| format!("{}\n", x.what))
                .collect();
            let path =
                std::env::temp_dir().join(format!("chaos-seed-{}-violations.txt", self.seed));
            if std::fs::write(&path, all).is_ok() {
                let _ = writeln!(out, "every violation: {}", path.display());
            }
            out.push_str(&print_schedule(self.seed, &self.schedule));
            let _ = writeln!(out, "rerun: cargo xtask chaos --seed {}", self.seed);
        }
        out
    }
}
