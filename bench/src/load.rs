//! One load run: connect the clients, publish at a rate, wait for the fan-out to drain, and
//! merge what every client saw into one [`LoadResult`].

use crate::clock::now_us;
use crate::procfs::CpuUse;
use crate::publisher::{self, Acks};
use crate::receiver::{self, Received, Sample};
use crate::servers::Servers;
use crate::stats::{self, Latency, TimelinePoint};
use futures_util::{stream, StreamExt};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Connections opened at once while connecting clients.
const CONNECT_CONCURRENCY: usize = 32;
/// Quiet time between connecting and publishing.
const SETTLE: Duration = Duration::from_millis(300);

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Name in the report and the progress line.
    pub label: String,
    /// Receiving clients per region.
    pub clients_per_region: usize,
    /// Indexes of the regions that publish (one publisher connection each).
    pub publishing_regions: Vec<usize>,
    /// Events per second, all publishers together.
    pub rate: f64,
    /// How long to publish.
    pub duration: Duration,
    /// How long to wait after the last publish for deliveries to finish.
    pub drain: Duration,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// Name of the run.
    pub label: String,
    /// `embedded`, `redis` or `external`.
    pub broker: String,
    /// Regions.
    pub regions: usize,
    /// Receiving clients per region (publisher connections not included).
    pub clients_per_region: usize,
    /// Publisher connections.
    pub publishers: usize,
    /// Publish rate asked for (events/s).
    pub target_rate: f64,
    /// Publishes sent.
    pub sent: u64,
    /// Publishes stored (acked, not duplicate).
    pub stored: u64,
    /// Publishes refused or acked as duplicates.
    pub refused: u64,
    /// Deliveries expected: stored × receiving clients.
    pub expected: u64,
    /// Unique deliveries.
    pub delivered: u64,
    /// Expected but never delivered.
    pub lost: u64,
    /// Delivered more than once.
    pub duplicated: u64,
    /// Clients the server closed before the end (e.g. slow consumers).
    pub closed_early: usize,
    /// Why the first of them was closed.
    pub close_reason: Option<String>,
    /// End-to-end latency, publisher send → client receive.
    pub latency: Latency,
    /// Unique deliveries per second, first send to last delivery.
    pub deliveries_per_s: f64,
    /// CPU used while publishing and draining.
    pub cpu: CpuUse,
    /// Server CPU time per unique delivery, µs (`/proc` ticks are 10 ms: runs of a few
    /// seconds are needed for two digits).
    pub server_cpu_us_per_delivery: f64,
    /// Resident memory of the server at the end (in-process: the whole bench process), MiB.
    pub rss_mib: f64,
    /// Text bytes received per delivery (frame size on the wire, less the frame header).
    pub bytes_per_delivery: f64,
    /// `/proc/loadavg` (1, 5, 15 min) at the end: how busy the machine was, others included.
    pub load_average: [f64; 3],
    /// Latency by send instant (250 ms buckets).
    pub timeline: Vec<TimelinePoint>,
    /// Latency CDF: `(ms, fraction)`.
    pub cdf: Vec<(f64, f64)>,
}

impl LoadResult {
    /// Nothing lost, nothing duplicated, nobody disconnected.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.closed_early == 0
    }
}

/// Run `spec` against `servers`.
pub async fn run(servers: &Servers, spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let tag: Arc<str> = format!("b{:x}-", rand::random::<u32>()).into();
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let urls: Vec<String> = servers
        .targets
        .iter()
        .flat_map(|t| std::iter::repeat_n(t.url.clone(), spec.clients_per_region))
        .collect();
    let receivers = urls.len();
    let mut connected = stream::iter(urls)
        .map(|url| async move { receiver::connect(&url).await })
        .buffer_unordered(CONNECT_CONCURRENCY);
    let mut tasks = Vec::with_capacity(receivers);
    while let Some(ws) = connected.next().await {
        tasks.push(tokio::spawn(receiver::receive(
            ws?,
            tag.clone(),
            delivered.clone(),
            stop.clone(),
        )));
    }
    let mut pubs = Vec::new();
    for (i, &region) in spec.publishing_regions.iter().enumerate() {
        let target = servers
            .targets
            .get(region)
            .ok_or_else(|| anyhow::anyhow!("no region {region}"))?;
        pubs.push((receiver::connect(&target.url).await?, format!("{tag}{i}-")));
    }
    tokio::time::sleep(SETTLE).await;

    let per_publisher = spec.rate / pubs.len().max(1) as f64;
    let acks: Vec<Arc<Acks>> = pubs.iter().map(|_| Arc::default()).collect();
    let cpu_start = servers.probe.mark();
    let start_us = now_us();
    let started = Instant::now();
    let publishing: Vec<_> = pubs
        .into_iter()
        .zip(&acks)
        .map(|((ws, tag), acks)| {
            tokio::spawn(publisher::publish(
                ws,
                tag,
                per_publisher,
                spec.duration,
                acks.clone(),
            ))
        })
        .collect();
    let progress = Progress::new(&spec.label);
    let sent = || {
        acks.iter()
            .map(|a| a.sent.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    let stored = || {
        acks.iter()
            .map(|a| a.stored.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    while publishing.iter().any(|p| !p.is_finished()) {
        progress.show(
            started,
            sent(),
            delivered.load(Ordering::Relaxed),
            stored() * receivers as u64,
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for p in publishing {
        p.await??;
    }
    let expected = stored() * receivers as u64;
    let deadline = Instant::now() + spec.drain;
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        progress.show(started, sent(), delivered.load(Ordering::Relaxed), expected);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = cpu_start.until(&servers.probe.mark());
    let rss = servers.probe.server_rss();
    progress.done(started, sent(), delivered.load(Ordering::Relaxed), expected);
    stop.cancel();
    let mut seen = Vec::with_capacity(tasks.len());
    for t in tasks {
        seen.push(t.await?);
    }
    let broken = acks
        .iter()
        .map(|a| a.broken.load(Ordering::Relaxed))
        .sum::<u64>();
    let refused = acks
        .iter()
        .map(|a| a.refused.load(Ordering::Relaxed) + a.duplicate.load(Ordering::Relaxed))
        .sum();
    let mut result = merge(
        servers,
        spec,
        seen,
        sent(),
        stored(),
        refused,
        start_us,
        cpu,
        rss,
    );
    if broken > 0 {
        result.closed_early += broken as usize;
        result.close_reason.get_or_insert(format!(
            "{broken} publisher connection(s) closed by the server"
        ));
    }
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
fn merge(
    servers: &Servers,
    spec: &LoadSpec,
    seen: Vec<Received>,
    sent: u64,
    stored: u64,
    refused: u64,
    start_us: u64,
    cpu: CpuUse,
    rss: u64,
) -> LoadResult {
    let receivers = seen.len() as u64;
    let delivered: u64 = seen.iter().map(|r| r.unique).sum();
    let duplicated = seen.iter().map(|r| r.duplicated).sum();
    let bytes: u64 = seen.iter().map(|r| r.bytes).sum();
    let last_us = seen.iter().map(|r| r.last_us).max().unwrap_or(start_us);
    let closed: Vec<String> = seen.iter().filter_map(|r| r.closed.clone()).collect();
    let samples: Vec<Sample> = seen.into_iter().flat_map(|r| r.samples).collect();
    let mut sorted: Vec<u32> = samples.iter().map(|s| s.latency_us).collect();
    sorted.sort_unstable();
    let expected = stored * receivers;
    let span_s = (last_us.saturating_sub(start_us) as f64 / 1e6).max(1e-3);
    LoadResult {
        label: spec.label.clone(),
        broker: servers.broker.clone(),
        regions: servers.targets.len(),
        clients_per_region: spec.clients_per_region,
        publishers: spec.publishing_regions.len(),
        target_rate: spec.rate,
        sent,
        stored,
        refused,
        expected,
        delivered,
        lost: expected.saturating_sub(delivered),
        duplicated,
        closed_early: closed.len(),
        close_reason: closed.first().cloned(),
        latency: stats::summarize(&sorted),
        deliveries_per_s: delivered as f64 / span_s,
        cpu,
        server_cpu_us_per_delivery: cpu.server_seconds * 1e6 / delivered.max(1) as f64,
        rss_mib: rss as f64 / (1024.0 * 1024.0),
        bytes_per_delivery: bytes as f64 / delivered.max(1) as f64,
        load_average: load_average(),
        timeline: stats::timeline(&samples, 250),
        cdf: stats::cdf(&sorted),
    }
}

fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split(' ').map(|v| v.parse().unwrap_or(0.0));
    [(); 3].map(|()| it.next().unwrap_or(0.0))
}

/// A one-line progress report on stderr, redrawn in place on a terminal.
struct Progress {
    label: String,
    tty: bool,
    last: std::cell::Cell<Option<Instant>>,
}

impl Progress {
    fn new(label: &str) -> Self {
        Progress {
            label: label.into(),
            tty: std::io::stderr().is_terminal(),
            last: std::cell::Cell::new(None),
        }
    }

    fn show(&self, started: Instant, sent: u64, delivered: u64, expected: u64) {
        let due = self
            .last
            .get()
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
        if !self.tty || !due {
            return;
        }
        self.last.set(Some(Instant::now()));
        eprint!(
            "\r{}",
            line(&self.label, started, sent, delivered, expected)
        );
        let _ = std::io::stderr().flush();
    }

    fn done(&self, started: Instant, sent: u64, delivered: u64, expected: u64) {
        let cr = if self.tty { "\r" } else { "" };
        eprintln!(
            "{cr}{}",
            line(&self.label, started, sent, delivered, expected)
        );
    }
}

fn line(label: &str, started: Instant, sent: u64, delivered: u64, expected: u64) -> String {
    format!(
        "{label}: {:>5.1}s  published {sent:>7}  delivered {delivered:>9}/{expected:<9}",
        started.elapsed().as_secs_f64()
    )
}
