//! The Socket.IO scenario: the original system's traffic on our regions. `clients` Socket.IO
//! clients per region over WebSocket, `emitters` clients in the first region (AS) that emit
//! `message`s at a rate (split between them), then faster (doubling) until a step is no
//! longer clean (something refused, lost, duplicated, or a client disconnected). A
//! connection's messages are stored in order, in pipelined batches (issue 22), so one
//! emitter can drive the whole rate (`--emitters 1`); several emitters are how a page
//! population drives a region.
//!
//! Each step also runs, right after ours, on the bare Socket.IO floor ([`bare`]: socketioxide
//! broadcasting with its in-memory adapter, no broker) at the same rate with the same
//! clients, and is reported as ours over it (p50, p99, delivered). `--rates` runs a fixed
//! list of rates instead of doubling (every one, clean or not).
//!
//! The clients (a minimal Socket.IO client over the WebSocket transport) are in [`client`].

mod bare;
mod client;

pub use bare::BareSio;

use crate::clock::now_us;
use crate::procfs::CpuUse;
use crate::receiver::Ws;
use crate::scenario::write_json;
use crate::servers::Servers;
use crate::stats::{self, Latency};
use client::{connect, emit, receive, Seen, DRAIN};
use serde::Serialize;
use server_core::broker::BrokerKind;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One step of the scenario.
#[derive(Debug, Clone, Serialize)]
pub struct SioStep {
    /// Messages per second emitted in AS.
    pub rate: f64,
    /// Receiving Socket.IO clients (all regions).
    pub receivers: usize,
    /// Emitting clients in AS (the rate is split between them).
    pub emitters: usize,
    /// Messages emitted.
    pub sent: u64,
    /// Messages acknowledged as stored (the rest were refused, e.g. `rate_limited` when a
    /// connection's messages queue up faster than they are stored one at a time).
    pub stored: u64,
    /// `broadcast`s expected: stored × receivers.
    pub expected: u64,
    /// Unique `broadcast`s received.
    pub delivered: u64,
    /// Expected but never received.
    pub lost: u64,
    /// Received again (a sequence number not above the last one seen).
    pub duplicated: u64,
    /// Clients (receivers and emitters) the server disconnected before the end.
    pub closed_early: usize,
    /// End-to-end latency, emit → `broadcast` received.
    pub latency: Latency,
    /// Unique deliveries per second, first emit to last delivery.
    pub deliveries_per_s: f64,
    /// CPU used while emitting and draining.
    pub cpu: CpuUse,
    /// `/proc/loadavg` (1 min) at the end: how busy the machine was, others included.
    pub load_1m: f64,
    /// The same step on the bare Socket.IO floor, and ours over it (absent on the floor's
    /// own steps, and when the floor was not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bare: Option<Box<OverBare>>,
}

/// A step against the same step on the bare Socket.IO floor.
#[derive(Debug, Clone, Serialize)]
pub struct OverBare {
    /// Our p50 / the floor's.
    pub p50: f64,
    /// Our p99 / the floor's.
    pub p99: f64,
    /// Our delivered fraction / the floor's, each of every message sent (delivered / (sent ×
    /// receivers)): a message refused counts as not delivered.
    pub delivered: f64,
    /// The floor's step.
    pub step: SioStep,
}

impl OverBare {
    fn new(ours: &SioStep, bare: SioStep) -> OverBare {
        let fraction =
            |s: &SioStep| s.delivered as f64 / (s.sent * s.receivers as u64).max(1) as f64;
        OverBare {
            p50: ours.latency.p50_ms / bare.latency.p50_ms.max(1e-3),
            p99: ours.latency.p99_ms / bare.latency.p99_ms.max(1e-3),
            delivered: fraction(ours) / fraction(&bare).max(1e-9),
            step: bare,
        }
    }
}

/// The name of the bare floor's runs (`socketio-bare`, and `broker` of its servers).
pub const BARE: &str = "bare";

/// The rates of a scenario: `rates` as given, every one run; or from `start_rate`, doubling,
/// at most `max_steps`, until a step of ours is not clean.
#[derive(Debug, Clone)]
pub enum Rates {
    /// These rates, in order, clean or not.
    Fixed(Vec<f64>),
    /// Doubling from the first, until a step is not clean.
    Doubling {
        /// The first rate, messages/s.
        start: f64,
        /// Most steps.
        max_steps: usize,
    },
}

impl Rates {
    /// The rate after `done` steps, if one is due (`last_clean`: the previous step's).
    fn next(&self, done: usize, last_clean: bool) -> Option<f64> {
        match self {
            Rates::Fixed(rates) => rates.get(done).copied(),
            Rates::Doubling { start, max_steps } => (done < (*max_steps).max(1)
                && (done == 0 || last_clean))
                .then(|| start * 2f64.powi(done as i32)),
        }
    }
}

impl SioStep {
    /// Nothing lost, nothing duplicated, nobody disconnected.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.closed_early == 0 && self.stored == self.sent
    }
}

/// Run the scenario on `servers` (the regions: Redis) at `rates`, `step` each, every step
/// then on the bare Socket.IO floor (started here, in-process). Writes `socketio.json`: our
/// steps, each with its floor step and ratios in `bare`.
pub async fn scenario(
    servers: Servers,
    out: &Path,
    clients: usize,
    emitters: usize,
    rates: Rates,
    step: Duration,
) -> anyhow::Result<Vec<SioStep>> {
    let floor = Servers::bare_socketio_in_process().await?;
    let mut steps: Vec<SioStep> = Vec::new();
    while let Some(rate) = rates.next(steps.len(), steps.last().is_none_or(SioStep::clean)) {
        let mut s = run_step(&servers, clients, emitters, rate, step).await?;
        let b = run_step(&floor, clients, emitters, rate, step).await?;
        s.bare = Some(Box::new(OverBare::new(&s, b)));
        print(&s);
        steps.push(s);
    }
    servers.stop().await;
    floor.stop().await;
    write_json(out, "socketio.json", &steps)?;
    Ok(steps)
}

/// The broker the scenario runs on.
pub const BROKER: BrokerKind = BrokerKind::Redis;

/// Our line, then the floor's and ours over it.
fn print(s: &SioStep) {
    print_line("socketio", s);
    if let Some(b) = &s.bare {
        print_line("  bare", &b.step);
        println!(
            "  / bare socket.io floor  p50 {:.1}x  p99 {:.1}x  delivered {:.3}x",
            b.p50, b.p99, b.delivered
        );
    }
}

fn print_line(label: &str, s: &SioStep) {
    println!(
        "{label} {:>6.0} msg/s  stored {}/{}  {:>9}/{:<9} lost {} dup {} closed {}  p50 {:.2} p99 {:.2} max {:.2} ms  {:.0} deliveries/s  cpu server {:.2} redis {:.2} generator {:.2}  load {:.1}",
        s.rate, s.stored, s.sent, s.delivered, s.expected, s.lost, s.duplicated, s.closed_early,
        s.latency.p50_ms, s.latency.p99_ms, s.latency.max_ms, s.deliveries_per_s,
        s.cpu.server_cores, s.cpu.redis_cores, s.cpu.generator_cores, s.load_1m,
    );
}

/// One step: connect, emit at `rate` for `duration`, drain, count.
pub async fn run_step(
    servers: &Servers,
    clients: usize,
    emitters: usize,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<SioStep> {
    let tag: Arc<str> = format!("s{:x}-", rand::random::<u32>()).into();
    let progress = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let tasks = connect_receivers(servers, clients, &tag, &progress, &stop).await?;
    let emitting = connect_emitters(servers, emitters, &tag).await?;
    let per_emitter = rate / emitting.len() as f64;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu_start = servers.probe.mark();
    let start_us = now_us();
    let emitted = emit_all(emitting, per_emitter, duration).await?;
    let expected = emitted.stored * tasks.len() as u64;
    let deadline = Instant::now() + DRAIN;
    while progress.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = cpu_start.until(&servers.probe.mark());
    stop.cancel();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await?);
    }
    let counted = Counted {
        seen: &seen,
        emitted: &emitted,
        start_us,
    };
    Ok(counted.step(rate, emitters.max(1), cpu))
}

/// `clients` Socket.IO receivers in every region, each a task counting `tag`'s broadcasts.
async fn connect_receivers(
    servers: &Servers,
    clients: usize,
    tag: &Arc<str>,
    progress: &Arc<AtomicU64>,
    stop: &CancellationToken,
) -> anyhow::Result<Vec<JoinHandle<Seen>>> {
    let mut tasks = Vec::new();
    for target in &servers.targets {
        for _ in 0..clients {
            let ws = connect(&target.url).await?;
            tasks.push(tokio::spawn(receive(
                ws,
                tag.clone(),
                progress.clone(),
                stop.clone(),
            )));
        }
    }
    Ok(tasks)
}

/// `emitters` (at least one) Socket.IO clients in the first region, each with its tag.
async fn connect_emitters(
    servers: &Servers,
    emitters: usize,
    tag: &str,
) -> anyhow::Result<Vec<(Ws, String)>> {
    let mut emitting = Vec::new();
    for e in 0..emitters.max(1) {
        emitting.push((
            connect(&servers.targets[0].url).await?,
            format!("{tag}{e}-"),
        ));
    }
    Ok(emitting)
}

/// What the emitters of a step did, summed.
struct Emitted {
    sent: u64,
    stored: u64,
    /// Emitters the server disconnected.
    broken: usize,
}

/// Every emitter at `per_emitter` messages/s for `duration`, at once; their sums.
async fn emit_all(
    emitting: Vec<(Ws, String)>,
    per_emitter: f64,
    duration: Duration,
) -> anyhow::Result<Emitted> {
    let runs: Vec<_> = emitting
        .into_iter()
        .map(|(ws, tag)| tokio::spawn(async move { emit(ws, &tag, per_emitter, duration).await }))
        .collect();
    let mut emitted = Emitted {
        sent: 0,
        stored: 0,
        broken: 0,
    };
    for r in runs {
        let (s, st, b) = r.await??;
        emitted.sent += s;
        emitted.stored += st;
        emitted.broken += usize::from(b);
    }
    Ok(emitted)
}

/// What a step counted: what each receiver saw, what the emitters did, and when the first
/// emit went out (µs, process clock).
struct Counted<'a> {
    seen: &'a [Seen],
    emitted: &'a Emitted,
    start_us: u64,
}

impl Counted<'_> {
    /// The step at `rate` with `emitters`, which used `cpu`.
    fn step(&self, rate: f64, emitters: usize, cpu: CpuUse) -> SioStep {
        let Counted {
            seen,
            emitted,
            start_us,
        } = *self;
        let receivers = seen.len();
        let expected = emitted.stored * receivers as u64;
        let delivered: u64 = seen.iter().map(|s| s.unique).sum();
        let last_us = seen.iter().map(|s| s.last_us).max().unwrap_or(start_us);
        let mut sorted: Vec<u32> = seen
            .iter()
            .flat_map(|s| s.samples.iter().map(|x| x.latency_us))
            .collect();
        sorted.sort_unstable();
        let span_s = (last_us.saturating_sub(start_us) as f64 / 1e6).max(1e-3);
        SioStep {
            rate,
            receivers,
            emitters,
            sent: emitted.sent,
            stored: emitted.stored,
            expected,
            delivered,
            lost: expected.saturating_sub(delivered),
            duplicated: seen.iter().map(|s| s.duplicated).sum(),
            closed_early: seen.iter().filter(|s| s.closed).count() + emitted.broken,
            latency: stats::summarize(&sorted),
            deliveries_per_s: delivered as f64 / span_s,
            cpu,
            load_1m: load_1m(),
            bare: None,
        }
    }
}

fn load_1m() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed rates all run; doubling stops after an unclean step or at the step limit.
    #[test]
    fn rates_fixed_or_doubling() {
        let fixed = Rates::Fixed(vec![1000.0, 2000.0, 4000.0]);
        assert_eq!(fixed.next(1, false), Some(2000.0));
        assert_eq!(fixed.next(3, true), None);
        let doubling = Rates::Doubling {
            start: 500.0,
            max_steps: 3,
        };
        assert_eq!(doubling.next(0, false), Some(500.0));
        assert_eq!(doubling.next(2, true), Some(2000.0));
        assert_eq!(doubling.next(2, false), None);
        assert_eq!(doubling.next(3, true), None);
    }
}
