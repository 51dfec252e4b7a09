//! One load run: connect the clients, publish at a rate, wait for the fan-out to drain, and
//! merge what every client saw into one [`LoadResult`].

use crate::clock::now_us;
use crate::procfs::{CpuMark, CpuUse};
use crate::progress::Progress;
use crate::publisher::{self, Acks};
use crate::receiver::{self, Received, Sample, Ws};
use crate::receivers::Receivers;
use crate::servers::Servers;
use crate::stats::{self, Latency, TimelinePoint};
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Channels (1: every client on `global`). With more, each receiver follows one
    /// ([`channel_name`]), the receivers of a region spread evenly over them, and the
    /// publishes take them in turn: each reaches only its channel's followers.
    pub channels: usize,
}

/// The name of channel `k` of a run over `channels` channels: `global` when there is one,
/// else `bench-k`.
pub fn channel_name(k: usize, channels: usize) -> String {
    match channels {
        0 | 1 => wire::GLOBAL.into(),
        _ => format!("bench-{k}"),
    }
}

/// The index `k` of the `bench-k` channel a frame names (the scan the receivers use: no
/// JSON parse).
pub fn channel_index(text: &str) -> Option<usize> {
    let key = r#""channel":"bench-"#;
    let at = text.find(key)? + key.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
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
    /// Channels the publishes and receivers were spread over (1: `global`).
    pub channels: usize,
    /// Publish rate asked for (events/s).
    pub target_rate: f64,
    /// Publishes sent.
    pub sent: u64,
    /// Publishes stored (acked, not duplicate).
    pub stored: u64,
    /// Publishes refused or acked as duplicates.
    pub refused: u64,
    /// Deliveries expected: each stored publish × the receiving clients of its channel.
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

/// Run `spec` against `servers`: connect every client, publish for `spec.duration`, drain,
/// then merge what every client saw.
pub async fn run(servers: &Servers, spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let mut clients = Clients::connect(servers, spec).await?;
    let progress = Progress::new(&spec.label);
    let span = Span::start(servers);
    let answers = clients.publish(spec, &progress, &span).await?;
    clients.drain(spec, &progress, &span, &answers).await;
    let cpu = span.cpu_start.until(&servers.probe.mark());
    let rss = servers.probe.server_rss();
    let expected = clients.expected(&answers);
    progress.done(span.started, answers.sent(), clients.delivered(), expected);
    let seen = clients.stop().await?;
    let mut result = merge(
        servers,
        spec,
        seen,
        &answers,
        expected,
        span.start_us,
        cpu,
        rss,
    );
    answers.count_broken(&mut result);
    Ok(result)
}

/// One run's clients, connected: the receivers already counting, the publishers'
/// connections not yet publishing.
struct Clients {
    receivers: Receivers,
    publishers: Vec<Ws>,
}

impl Clients {
    /// Connect `spec.clients_per_region` receivers to every region (a few at a time), then one
    /// publisher connection per publishing region, then let the servers settle.
    async fn connect(servers: &Servers, spec: &LoadSpec) -> anyhow::Result<Clients> {
        let mut receivers = Receivers::new(format!("b{:x}-", rand::random::<u32>()));
        receivers
            .connect_over(
                &servers.targets,
                spec.clients_per_region,
                CONNECT_CONCURRENCY,
                spec.channels,
            )
            .await?;
        let mut publishers = Vec::new();
        for &region in &spec.publishing_regions {
            let target = servers
                .targets
                .get(region)
                .ok_or_else(|| anyhow::anyhow!("no region {region}"))?;
            publishers.push(receiver::connect(&target.url).await?);
        }
        tokio::time::sleep(SETTLE).await;
        Ok(Clients {
            receivers,
            publishers,
        })
    }

    /// Unique deliveries so far, all receivers together.
    fn delivered(&self) -> u64 {
        self.receivers.delivered()
    }

    /// Deliveries owed so far: each stored publish to every follower of its channel.
    fn expected(&self, answers: &Answers) -> u64 {
        let channels = answers.channels();
        (0..channels)
            .map(|k| answers.stored_on(k) * self.receivers.followers(k))
            .sum()
    }

    /// Publish `spec.rate` (split evenly over the publishers) for `spec.duration`, showing
    /// progress, until every publisher has its answers (or gave up waiting).
    async fn publish(
        &mut self,
        spec: &LoadSpec,
        progress: &Progress,
        span: &Span,
    ) -> anyhow::Result<Answers> {
        let per_publisher = spec.rate / self.publishers.len().max(1) as f64;
        let channels = spec.channels.max(1);
        let answers = Answers(
            self.publishers
                .iter()
                .map(|_| Arc::new(Acks::over(channels)))
                .collect(),
        );
        let publishing: Vec<_> = std::mem::take(&mut self.publishers)
            .into_iter()
            .zip(&answers.0)
            .enumerate()
            .map(|(i, (ws, acks))| {
                tokio::spawn(publisher::publish(
                    ws,
                    format!("{}{i}-", self.receivers.tag),
                    per_publisher,
                    spec.duration,
                    channels,
                    acks.clone(),
                ))
            })
            .collect();
        while publishing.iter().any(|p| !p.is_finished()) {
            let expected = self.expected(&answers);
            progress.show(span.started, answers.sent(), self.delivered(), expected);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for p in publishing {
            p.await??;
        }
        Ok(answers)
    }

    /// Wait (at most `spec.drain`) until every stored publish has reached every receiver.
    async fn drain(&self, spec: &LoadSpec, progress: &Progress, span: &Span, answers: &Answers) {
        let expected = self.expected(answers);
        let deadline = Instant::now() + spec.drain;
        while self.delivered() < expected && Instant::now() < deadline {
            progress.show(span.started, answers.sent(), self.delivered(), expected);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop every receiver: what each one saw.
    async fn stop(mut self) -> anyhow::Result<Vec<Received>> {
        Ok(self.receivers.stop().await?)
    }
}

/// The measured span: from just before the first publish to the end of the drain.
struct Span {
    cpu_start: CpuMark,
    /// The first publish's instant on [`crate::clock`] (µs).
    start_us: u64,
    started: Instant,
}

impl Span {
    fn start(servers: &Servers) -> Span {
        Span {
            cpu_start: servers.probe.mark(),
            start_us: now_us(),
            started: Instant::now(),
        }
    }
}

/// What the publishers were answered, one [`Acks`] per publisher, summed over them.
struct Answers(Vec<Arc<Acks>>);

impl Answers {
    fn sum(&self, count: impl Fn(&Acks) -> u64) -> u64 {
        self.0.iter().map(|a| count(a)).sum()
    }

    fn sent(&self) -> u64 {
        self.sum(|a| a.sent.load(Ordering::Relaxed))
    }

    fn stored(&self) -> u64 {
        self.sum(|a| a.stored.load(Ordering::Relaxed))
    }

    /// Channels the publishes were spread over.
    fn channels(&self) -> usize {
        self.0.first().map_or(1, |a| a.stored_on.len().max(1))
    }

    fn stored_on(&self, k: usize) -> u64 {
        self.sum(|a| a.stored_on(k))
    }

    /// Refused, or acked as duplicates.
    fn refused(&self) -> u64 {
        self.sum(|a| a.refused.load(Ordering::Relaxed) + a.duplicate.load(Ordering::Relaxed))
    }

    /// A publisher whose connection the server closed counts as a client closed early.
    fn count_broken(&self, result: &mut LoadResult) {
        let broken = self.sum(|a| a.broken.load(Ordering::Relaxed));
        if broken > 0 {
            result.closed_early += broken as usize;
            result.close_reason.get_or_insert(format!(
                "{broken} publisher connection(s) closed by the server"
            ));
        }
    }
}

/// One result from what every receiver saw (`seen`), what the publishers were answered, and
/// the deliveries that were owed (`expected`).
#[allow(clippy::too_many_arguments)]
fn merge(
    servers: &Servers,
    spec: &LoadSpec,
    seen: Vec<Received>,
    answers: &Answers,
    expected: u64,
    start_us: u64,
    cpu: CpuUse,
    rss: u64,
) -> LoadResult {
    let (sent, stored, refused) = (answers.sent(), answers.stored(), answers.refused());
    let delivered: u64 = seen.iter().map(|r| r.unique).sum();
    let duplicated = seen.iter().map(|r| r.duplicated).sum();
    let bytes: u64 = seen.iter().map(|r| r.bytes).sum();
    let last_us = seen.iter().map(|r| r.last_us).max().unwrap_or(start_us);
    let closed: Vec<String> = seen.iter().filter_map(|r| r.closed.clone()).collect();
    let samples: Vec<Sample> = seen.into_iter().flat_map(|r| r.samples).collect();
    let mut sorted: Vec<u32> = samples.iter().map(|s| s.latency_us).collect();
    sorted.sort_unstable();
    let span_s = (last_us.saturating_sub(start_us) as f64 / 1e6).max(1e-3);
    LoadResult {
        label: spec.label.clone(),
        broker: servers.broker.clone(),
        regions: servers.targets.len(),
        clients_per_region: spec.clients_per_region,
        publishers: spec.publishing_regions.len(),
        channels: spec.channels.max(1),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan finds the channel of what the server really sends (an ack), and nothing in
    /// a frame of `global`.
    #[test]
    fn channel_index_reads_a_real_ack() {
        let ack = |channel: &str| {
            serde_json::to_string(&wire::ServerFrame::Ack {
                id: "b1-0-7".into(),
                channel: channel.into(),
                offset: 3,
                duplicate: false,
            })
            .unwrap()
        };
        assert_eq!(channel_index(&ack(&channel_name(42, 100))), Some(42));
        assert_eq!(channel_index(&ack(&channel_name(0, 1))), None);
        assert_eq!(channel_name(3, 1), wire::GLOBAL);
    }
}
