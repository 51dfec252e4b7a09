//! `chaos [--minutes M] [--seed S] [--plan] [--strict] [--cluster]`: the chaos run (what `cargo xtask chaos` runs, after
//! building `multiregion`). Prints the schedule, the faults as they happen, and the figures;
//! exits 1 on any violation (printing the seed, the schedule and the first counterexample),
//! 2 on bad arguments, 3 when the bed could not be run. `--plan` prints the schedule only;
//! `--strict` checks the rule (no announcement at all under durable acks) instead of
//! the documented promise; `--cluster` runs Redis as a Cluster (three primaries with a replica
//! each) instead of under Sentinel.

use testbed::chaos::{self, ChaosConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut minutes, mut seed) = (2.0, None);
    let plan_only = args.iter().any(|a| a == "--plan");
    let strict = args.iter().any(|a| a == "--strict");
    let cluster = args.iter().any(|a| a == "--cluster");
    let flags = ["--plan", "--strict", "--cluster"];
    let mut it = args.iter().filter(|a| !flags.contains(&a.as_str()));
    while let Some(a) = it.next() {
        let value = it.next();
        match (a.as_str(), value.map(String::as_str)) {
            ("--minutes", Some(m)) if m.parse::<f64>().is_ok() => {
                minutes = m.parse().unwrap_or(2.0)
            }
            ("--seed", Some(s)) if s.parse::<u64>().is_ok() => seed = s.parse().ok(),
            _ => {
                eprintln!("usage: chaos [--minutes M] [--seed S] [--plan] [--strict] [--cluster]");
                std::process::exit(2)
            }
        }
    }
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 % 1_000_000)
    });
    if plan_only {
        let config = ChaosConfig::new(seed, minutes);
        let length = config.map_or(std::time::Duration::from_secs(30), |c| c.faults_for);
        let plan = chaos::nemesis::schedule(seed, length, chaos::deploy::CLIENTS.len());
        print!("{}", chaos::print_schedule(seed, &plan));
        return;
    }
    let outcome = ChaosConfig::new(seed, minutes)
        .map(|c| ChaosConfig {
            strict,
            topology: match cluster {
                true => chaos::topology::Topology::Cluster,
                false => chaos::topology::Topology::Sentinel,
            },
            ..c
        })
        .and_then(chaos::run);
    match outcome {
        Ok(o) => {
            println!("{}", o.report());
            if !o.verdict.violations.is_empty() {
                std::process::exit(1)
            }
        }
        Err(e) => {
            eprintln!("chaos (seed {seed}): {e}");
            std::process::exit(3)
        }
    }
}
