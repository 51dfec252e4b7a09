//! Scenario (b): the highest publish rate the regions sustain cleanly (nothing lost, p99 under
//! a limit), found by doubling then bisecting, each step also run on the bare broadcast server
//! at the same rate; then the bare server's own highest clean rate, searched on from there.

use crate::floor::Floor;
use crate::load::{self, LoadResult, LoadSpec};
use crate::measured::{print, Measured};
use crate::plot::{self, Series};
use crate::scenario::{publishing, write_json, Setup};
use crate::servers::Servers;
use anyhow::Context;
use serde::Serialize;
use server_core::broker::BrokerKind;
use std::path::Path;
use std::time::Duration;

/// Scenario (b)'s answer: every step tried and the best clean one, for the regions and for
/// the bare broadcast server.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// p99 limit a step must stay under.
    pub p99_limit_ms: f64,
    /// Every step of the regions, in the order tried, each against the bare run at its rate.
    pub steps: Vec<Measured>,
    /// The highest rate with nothing lost and p99 under the limit.
    pub best: Option<Measured>,
    /// Every step of the bare server: one at each rate the regions tried (run just after
    /// theirs), then its own search on.
    pub bare_steps: Vec<Measured>,
    /// The bare server's highest clean rate.
    pub bare_best: Option<Measured>,
    /// `best` rate / `bare_best` rate (the target is at least 0.8).
    pub best_over_bare: Option<f64>,
}

impl Throughput {
    /// Keep a step of the bare server, and it as `bare_best` when it is `clean` and faster.
    fn add_bare(&mut self, step: Measured, clean: impl Fn(&Measured) -> bool) {
        let rate = step.run.target_rate;
        if clean(&step)
            && self
                .bare_best
                .as_ref()
                .is_none_or(|x| x.run.target_rate < rate)
        {
            self.bare_best = Some(step.clone());
        }
        self.bare_steps.push(step);
    }

    /// Set `best_over_bare` and print the comparison line.
    fn compare(&mut self) {
        if let (Some(best), Some(bare_best)) = (&self.best, &self.bare_best) {
            self.best_over_bare = Some(best.run.target_rate / bare_best.run.target_rate);
        }
        let rate_of = |m: &Option<Measured>| m.as_ref().map_or(0.0, |m| m.run.target_rate);
        println!(
            "throughput: best clean rate {:.0} events/s, bare broadcast floor {:.0} events/s: {:.2}x",
            rate_of(&self.best),
            rate_of(&self.bare_best),
            self.best_over_bare.unwrap_or(0.0),
        );
    }
}

/// The rates tried so far, clean or not, and the next rate to try.
#[derive(Debug, Default)]
pub(crate) struct Search {
    tried: Vec<(f64, bool)>,
}

impl Search {
    pub(crate) fn record(&mut self, rate: f64, ok: bool) {
        self.tried.push((rate, ok));
    }

    /// Double while clean, halve while not, then bisect to within 10 %; `None` when done.
    pub(crate) fn next(&self) -> Option<f64> {
        let good = self
            .tried
            .iter()
            .filter(|t| t.1)
            .map(|t| t.0)
            .reduce(f64::max);
        // An unclean rate under a clean one (noise) says nothing about the rates above.
        let bad = self
            .tried
            .iter()
            .filter(|t| !t.1 && good.is_none_or(|g| t.0 > g))
            .map(|t| t.0)
            .reduce(f64::min);
        match (good, bad) {
            (Some(g), None) => Some(g * 2.0),
            (None, Some(b)) if b >= 2.0 => Some(b / 2.0),
            (Some(g), Some(b)) if (b - g) / g > 0.1 => Some((g + b) / 2.0),
            _ => None,
        }
    }
}

/// One step: `clients` per region, one publisher per region, `rate` for `duration`.
async fn step(
    servers: &Servers,
    name: &str,
    clients: usize,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let spec = LoadSpec {
        label: format!("throughput-{name}-{rate:.0}"),
        clients_per_region: clients,
        publishing_regions: publishing(servers.targets.len(), 1),
        rate,
        duration,
        drain: Duration::from_secs(20),
        channels: 1,
    };
    load::run(servers, &spec)
        .await
        .with_context(|| format!("run {}", spec.label))
}

/// Scenario (b): the highest publish rate with 0 lost and p99 under `p99_limit_ms`, found by
/// doubling from `start_rate` and then bisecting, `clients` per region; each step is also run
/// on the bare broadcast server, whose own best is then searched for (at most `max_steps`
/// more steps).
pub async fn throughput(
    setup: &Setup,
    out: &Path,
    clients: usize,
    p99_limit_ms: f64,
    start_rate: f64,
    duration: Duration,
    max_steps: usize,
) -> anyhow::Result<Throughput> {
    let broker = setup.brokers(&[BrokerKind::Redis])[0];
    let servers = setup.servers(broker).await?;
    let floor = setup.floor(&servers).await?;
    let bare = setup.bare().await?;
    let steps = Steps {
        clients,
        duration,
        p99_limit_ms,
        floor,
        bare_floor: Floor {
            redis_hop: None,
            ..floor
        },
    };
    let mut result = Throughput {
        p99_limit_ms,
        steps: Vec::new(),
        best: None,
        bare_steps: Vec::new(),
        bare_best: None,
        best_over_bare: None,
    };
    let search = steps
        .paired(&servers, &bare, start_rate, max_steps, &mut result)
        .await?;
    servers.stop().await;
    steps.bare_on(&bare, search, max_steps, &mut result).await?;
    bare.stop().await;
    result.compare();
    plots(out, clients * setup.regions(), &result, floor)?;
    write_json(out, "throughput.json", &result)?;
    Ok(result)
}

/// How every step of the search is run and judged.
struct Steps {
    clients: usize,
    duration: Duration,
    p99_limit_ms: f64,
    /// The round trip and Redis hop, for the regions' runs.
    floor: Floor,
    /// The same without the Redis hop, for the bare server's (it has no Redis).
    bare_floor: Floor,
}

impl Steps {
    /// Clean: nothing lost, something delivered, p99 under the limit.
    fn ok(&self, m: &Measured) -> bool {
        m.run.clean() && m.run.delivered > 0 && m.run.latency.p99_ms <= self.p99_limit_ms
    }

    /// The regions' search from `start_rate` (at most `max_steps`), each rate run on `servers`
    /// and then on `bare`; the bare server's search so far, to go on from.
    async fn paired(
        &self,
        servers: &Servers,
        bare: &Servers,
        start_rate: f64,
        max_steps: usize,
        result: &mut Throughput,
    ) -> anyhow::Result<Search> {
        let (mut ours, mut theirs) = (Search::default(), Search::default());
        let mut rate = Some(start_rate);
        for _ in 0..max_steps {
            let Some(r) = rate else { break };
            let run = step(servers, &servers.broker, self.clients, r, self.duration).await?;
            let bare_run = step(bare, &bare.broker, self.clients, r, self.duration).await?;
            let m = Measured::new(self.floor, run, Some(&bare_run));
            let b = Measured::new(self.bare_floor, bare_run, None);
            print(&m);
            print(&b);
            ours.record(r, self.ok(&m));
            theirs.record(r, self.ok(&b));
            if self.ok(&m) {
                result.best = Some(m.clone());
            }
            result.steps.push(m);
            result.add_bare(b, |m| self.ok(m));
            rate = ours.next();
        }
        Ok(theirs)
    }

    /// The bare server's own best, searched on from what the paired steps showed (at most
    /// `max_steps` more).
    async fn bare_on(
        &self,
        bare: &Servers,
        mut theirs: Search,
        max_steps: usize,
        result: &mut Throughput,
    ) -> anyhow::Result<()> {
        for _ in 0..max_steps {
            let Some(r) = theirs.next() else { break };
            let b = Measured::new(
                self.bare_floor,
                step(bare, &bare.broker, self.clients, r, self.duration).await?,
                None,
            );
            print(&b);
            theirs.record(r, self.ok(&b));
            result.add_bare(b, |m| self.ok(m));
        }
        Ok(())
    }
}

fn plots(out: &Path, clients: usize, result: &Throughput, floor: Floor) -> anyhow::Result<()> {
    if let Some(best) = &result.best {
        plot::timeline(
            &out.join("throughput-best-timeline.svg"),
            &format!("{}: latency over time", best.run.label),
            &best.run.timeline,
        )?;
        let mut series = vec![Series {
            name: best.run.label.clone(),
            points: &best.run.cdf,
        }];
        if let Some(bare) = &result.bare_best {
            series.push(Series {
                name: bare.run.label.clone(),
                points: &bare.run.cdf,
            });
        }
        plot::cdf(
            &out.join("throughput-best-cdf.svg"),
            "latency CDF at the highest clean rate",
            &series,
            Some(floor.p50_ms()),
        )?;
    }
    let curve = |steps: &[Measured]| {
        let mut c: Vec<(f64, f64)> = steps
            .iter()
            .map(|m| (m.run.target_rate, m.run.latency.p99_ms))
            .collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c
    };
    let (ours, bare) = (curve(&result.steps), curve(&result.bare_steps));
    plot::lines(
        &out.join("throughput-p99.svg"),
        "p99 latency by publish rate",
        ("events/s published", "p99 latency (ms)"),
        &[
            Series {
                name: format!("{clients} clients"),
                points: &ours,
            },
            Series {
                name: format!("{clients} clients, bare broadcast server"),
                points: &bare,
            },
        ],
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubling while clean, halving while not, bisecting between, done within 10 %; an
    /// unclean rate under a clean one is ignored.
    #[test]
    fn searches_like_a_bisection() {
        let mut s = Search::default();
        s.record(100.0, true);
        assert_eq!(s.next(), Some(200.0));
        s.record(200.0, false);
        assert_eq!(s.next(), Some(150.0));
        s.record(150.0, true);
        s.record(175.0, true);
        s.record(187.5, true);
        assert_eq!(s.next(), None);
        let mut s = Search::default();
        s.record(100.0, false);
        assert_eq!(s.next(), Some(50.0));
        s.record(50.0, true);
        s.record(40.0, false);
        assert_eq!(s.next(), Some(75.0));
    }
}
