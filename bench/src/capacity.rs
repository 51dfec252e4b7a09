//! Scenario (c): idle connections per region until memory or file descriptors run out (or
//! the cap), and the memory each one costs the server.
//!
//! The regions run in a child process (`bench serve`), so the server's resident memory is
//! its own and not mixed with the clients'. At the end one event is published to check that
//! every idle connection is still alive and gets it.

use crate::procfs;
use crate::publisher::{self, Acks};
use crate::receiver;
use crate::receivers::Receivers;
use crate::scenario::{write_json, Setup};
use crate::servers::Servers;
use serde::Serialize;
use server_core::broker::BrokerKind;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// File descriptors asked for (per process; the bench is root-capable or limited by the hard limit).
const WANTED_FDS: u64 = 200_000;
/// Connections opened at once.
const CONNECT_CONCURRENCY: usize = 64;

/// Memory and descriptors at one connection count.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Idle connections open (all regions).
    pub connections: usize,
    /// Server resident memory, MiB.
    pub server_rss_mib: f64,
    /// Server open file descriptors.
    pub server_fds: usize,
    /// Bench (client side) resident memory, MiB.
    pub bench_rss_mib: f64,
}

/// What the capacity scenario found.
#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    /// The cap per region.
    pub cap_per_region: usize,
    /// Regions.
    pub regions: usize,
    /// File descriptor limit in force (soft) for the bench and the server.
    pub fd_limit: u64,
    /// Connections held at the end.
    pub reached: usize,
    /// Why it stopped: `cap`, or the first connect error.
    pub stopped_by: String,
    /// Memory and descriptors as connections were added (the first point has none).
    pub points: Vec<Point>,
    /// (server RSS at the end − before any connection) / connections, bytes.
    pub server_bytes_per_connection: f64,
    /// The same for the bench's client side, bytes.
    pub client_bytes_per_connection: f64,
    /// One event published at the end: deliveries expected (one per connection) and got.
    pub liveness_expected: u64,
    /// Deliveries of it that arrived within 30 s.
    pub liveness_delivered: u64,
}

/// Raise the soft (and, if allowed, hard) limit on open files; returns the soft limit.
pub fn raise_fd_limit() -> u64 {
    use rlimit::Resource;
    if rlimit::setrlimit(Resource::NOFILE, WANTED_FDS, WANTED_FDS).is_err() {
        let _ = rlimit::increase_nofile_limit(WANTED_FDS);
    }
    rlimit::getrlimit(Resource::NOFILE).map_or(0, |(soft, _)| soft)
}

fn point(servers: &Servers, connections: usize) -> Point {
    let pid = servers
        .probe
        .server_pid
        .map_or("self".to_string(), |p| p.to_string());
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Point {
        connections,
        server_rss_mib: mib(procfs::rss_bytes(&pid)),
        server_fds: procfs::fd_count(&pid),
        bench_rss_mib: mib(procfs::rss_bytes("self")),
    }
}

/// Open up to `per_region` idle connections per region, `step` per region at a time, to a
/// server process running `regions` regions (when the bench starts it).
pub async fn capacity(
    setup: &Setup,
    out: &Path,
    per_region: usize,
    step: usize,
    regions: usize,
) -> anyhow::Result<Capacity> {
    let fd_limit = raise_fd_limit();
    let servers = match setup {
        Setup::Own => Servers::child(BrokerKind::Redis, regions)?,
        Setup::External { urls, pid, .. } => Servers::external(urls, *pid),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut idle = Idle::new(&servers);
    let stopped_by = idle.grow(&servers, per_region, step).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    idle.measure(&servers);
    let liveness_expected = idle.liveness(&servers).await?;
    let reached = idle.stop().await;
    let regions = servers.targets.len();
    servers.stop().await;
    let result = Capacity {
        cap_per_region: per_region,
        regions,
        fd_limit,
        reached,
        stopped_by,
        server_bytes_per_connection: idle.per_connection(|p| p.server_rss_mib),
        client_bytes_per_connection: idle.per_connection(|p| p.bench_rss_mib),
        liveness_expected,
        liveness_delivered: idle.receivers.delivered(),
        points: idle.points,
    };
    report(out, &result)?;
    Ok(result)
}

/// The idle connections, each a receiver counting the events of this run, and the memory
/// measured as they were added.
struct Idle {
    receivers: Receivers,
    /// The first has no connection; the last is taken after they settled.
    points: Vec<Point>,
    started: Instant,
}

impl Idle {
    fn new(servers: &Servers) -> Self {
        Idle {
            receivers: Receivers::new(format!("c{:x}-", rand::random::<u32>())),
            points: vec![point(servers, 0)],
            started: Instant::now(),
        }
    }

    /// Add `step` connections per region at a time until `per_region` each; why it stopped
    /// (`cap`, or the first connect error).
    async fn grow(&mut self, servers: &Servers, per_region: usize, step: usize) -> String {
        while self.receivers.len() < per_region * servers.targets.len() {
            let added = self
                .receivers
                .connect(&servers.targets, step, CONNECT_CONCURRENCY)
                .await;
            if let Err(e) = added {
                return format!("connect failed: {e:#}");
            }
            self.measure(servers);
            self.show_last();
        }
        "cap".to_string()
    }

    /// Memory and descriptors now.
    fn measure(&mut self, servers: &Servers) {
        self.points.push(point(servers, self.receivers.len()));
    }

    fn show_last(&self) {
        let p = self
            .points
            .last()
            .expect("the first point is taken at the start");
        eprintln!(
            "capacity: {:>6} connections  server {:>7.1} MiB {:>6} fds  bench {:>7.1} MiB  ({:.0}s)",
            p.connections,
            p.server_rss_mib,
            p.server_fds,
            p.bench_rss_mib,
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Publish one event in the first region and wait (at most 30 s) until every idle
    /// connection has it; the deliveries expected.
    async fn liveness(&self, servers: &Servers) -> anyhow::Result<u64> {
        let acks = Arc::new(Acks::default());
        let ws = receiver::connect(&servers.targets[0].url).await?;
        publisher::publish(
            ws,
            format!("{}p-", self.receivers.tag),
            10.0,
            Duration::from_millis(100),
            1,
            acks.clone(),
        )
        .await?;
        let expected = acks.stored.load(Ordering::Relaxed) * self.receivers.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.receivers.delivered() < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(expected)
    }

    /// Close every connection; how many there were.
    async fn stop(&mut self) -> usize {
        let n = self.receivers.len();
        let _ = self.receivers.stop().await;
        n
    }

    /// (`mib` at the last point − at the first) / connections, in bytes.
    fn per_connection(&self, mib: impl Fn(&Point) -> f64) -> f64 {
        let (first, last) = (&self.points[0], self.points.last().expect("a first point"));
        let n = last.connections;
        (mib(last) - mib(first)) * 1024.0 * 1024.0 / n.max(1) as f64
    }
}

/// Print the summary line, plot server RSS by connections, and write `capacity.json`.
fn report(out: &Path, result: &Capacity) -> anyhow::Result<()> {
    println!(
        "capacity: {} connections ({}), server {:.1} KiB per connection, client side {:.1} KiB, \
         liveness {}/{}",
        result.reached,
        result.stopped_by,
        result.server_bytes_per_connection / 1024.0,
        result.client_bytes_per_connection / 1024.0,
        result.liveness_delivered,
        result.liveness_expected
    );
    let curve: Vec<(f64, f64)> = result
        .points
        .iter()
        .map(|p| (p.connections as f64, p.server_rss_mib))
        .collect();
    crate::plot::lines(
        &out.join("capacity-rss.svg"),
        "server resident memory by idle connections",
        (
            "idle WebSocket connections (all regions)",
            "server RSS (MiB)",
        ),
        &[crate::plot::Series {
            name: "server RSS".into(),
            points: &curve,
        }],
        None,
    )?;
    write_json(out, "capacity.json", result)
}
