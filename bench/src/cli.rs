//! Commands and options, and what each command runs.

use crate::presence_storm::{self, PresenceStormSpec};
use crate::procfs::SERVER_THREAD;
use crate::scenario::{self, Setup};
use crate::storm::StormSpec;
use crate::{bare, capacity, channels, floor, servers, smoke, socketio, throughput};
use clap::{Parser, Subcommand};
use server_core::broker::BrokerKind;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Load generator for the regional servers; see docs/performance.md.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
pub struct Cli {
    /// Run against regions already running (`http://127.0.0.1:4000,http://127.0.0.1:4001,…`)
    /// instead of starting them.
    #[arg(long, global = true)]
    pub target: Option<String>,
    /// With --target: the server's pid, for its CPU and memory.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// With --target: a Redis to measure the floor's Redis hop against.
    #[arg(long, global = true)]
    pub floor_redis: Option<String>,
    /// Where to write JSON results and SVG plots.
    #[arg(long, global = true, default_value = "docs/perf")]
    pub out: PathBuf,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A few seconds, embedded and Redis: fails unless lost = 0 and duplicated = 0 (for CI).
    Smoke,
    /// Only the floor: WebSocket echo round trip and Redis hop.
    Floor,
    /// (a) latency: clients per region, events/s from every region, embedded and Redis.
    Latency {
        /// Receiving clients per region.
        #[arg(long, default_value_t = 100)]
        clients: usize,
        /// Events per second, all regions together.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        /// Seconds of publishing.
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Publisher connections per region (the rate is split between them).
        #[arg(long, default_value_t = 10)]
        publishers: usize,
    },
    /// (b) throughput: the highest rate with 0 lost and p99 under the limit (Redis).
    Throughput {
        /// Receiving clients per region.
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// p99 limit, ms.
        #[arg(long, default_value_t = 50.0)]
        p99_ms: f64,
        /// First rate tried, events/s.
        #[arg(long, default_value_t = 25.0)]
        start_rate: f64,
        /// Seconds of publishing per step.
        #[arg(long, default_value_t = 5)]
        secs: u64,
        /// Most steps tried.
        #[arg(long, default_value_t = 9)]
        steps: usize,
    },
    /// (c) capacity: idle connections per region until memory or fds run out, or the cap.
    Capacity {
        /// Cap per region.
        #[arg(long, default_value_t = 10_000)]
        per_region: usize,
        /// Connections added per region per step.
        #[arg(long, default_value_t = 1000)]
        step: usize,
        /// Regions in the server process. One region per process is how regions scale out,
        /// and it keeps 10,000 connections within a 20,000 file-descriptor limit (the client
        /// side holds one descriptor per connection too).
        #[arg(long, default_value_t = 1)]
        regions: usize,
    },
    /// Socket.IO: clients per region over WebSocket, messages/s emitted in AS, doubling
    /// until a step is not clean (Redis); each step also on the bare Socket.IO floor.
    Socketio {
        /// Socket.IO clients per region.
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Emitting Socket.IO clients in AS (the rate is split between them).
        #[arg(long, default_value_t = 10)]
        emitters: usize,
        /// First rate, messages/s.
        #[arg(long, default_value_t = 1000.0)]
        start_rate: f64,
        /// Seconds of emitting per step.
        #[arg(long, default_value_t = 5)]
        secs: u64,
        /// Most steps tried.
        #[arg(long, default_value_t = 6)]
        steps: usize,
        /// Run these rates (messages/s, comma-separated), every one, instead of doubling
        /// from --start-rate (e.g. `--emitters 1 --rates 1000,2000,4000`).
        #[arg(long, value_delimiter = ',')]
        rates: Vec<f64>,
    },
    /// Channels: (a) the highest clean publish rate on 1 and on 100 channels, on one Redis
    /// and on a 3-primary Cluster, with Redis CPU per publish per process; (b) clients each
    /// following one of 100 channels against a broadcast of the same deliveries (private
    /// Redis and Cluster, started by the bench).
    Channels {
        /// (a) p99 limit of a clean step, ms.
        #[arg(long, default_value_t = 50.0)]
        p99_ms: f64,
        /// (a) first rate tried, publishes/s.
        #[arg(long, default_value_t = 4000.0)]
        start_rate: f64,
        /// Seconds of publishing per run.
        #[arg(long, default_value_t = 4)]
        secs: u64,
        /// (a) most steps per search.
        #[arg(long, default_value_t = 7)]
        steps: usize,
        /// (b) receiving clients per region.
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// (b) publishes/s over the channels (the broadcast runs at a hundredth of it).
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
    },
    /// Presence cost: event latency without and with a reconnect storm (clients per region
    /// connecting, staying a short while, leaving, again and again), on Redis; fails unless
    /// lost = 0, duplicated = 0 and no storm member is left listed after it stops.
    PresenceStorm {
        /// Storm clients per region.
        #[arg(long, default_value_t = 1000)]
        storm_clients: usize,
        /// Mean stay of a storm client, ms (each stay uniform in 0.5×..1.5× of it).
        #[arg(long, default_value_t = 1000)]
        stay_ms: u64,
        /// Storm handshakes in flight at most, all regions together.
        #[arg(long, default_value_t = 64)]
        connecting: usize,
        /// Receiving clients per region (on `global`).
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Events per second, all regions together.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        /// Seconds of publishing per load run.
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Publisher connections per region (the rate is split between them).
        #[arg(long, default_value_t = 1)]
        publishers: usize,
    },
    /// (a), (b) and (c) with their defaults.
    All,
    /// Internal: run regions in this process until stdin closes (used by `capacity`).
    Serve {
        /// Regions.
        #[arg(long, default_value_t = 3)]
        regions: usize,
        /// Redis to share; embedded when absent.
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// Internal: run the bare broadcast server (the floor of fan-out, see `bench/src/bare/`)
    /// on 3 ports until stdin closes; prints `ready as=ws://…,…` once it listens.
    BareServer {
        /// First port (as; us and eu on the next two); 0 for three free ports.
        #[arg(long, default_value_t = 0)]
        port_base: u16,
        /// Most frames written with one flush (1: one write per frame). Match the regions'.
        #[arg(long, default_value_t = bare::WRITE_BATCH)]
        write_batch: usize,
    },
}

/// Run the command on a runtime of the generator's own (2 workers), apart from the
/// in-process servers' runtime; `serve` and `bare-server` run on 2 workers named as the
/// in-process servers' threads.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let serving = matches!(
        cli.command,
        Command::Serve { .. } | Command::BareServer { .. }
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(if serving { SERVER_THREAD } else { "bench-gen" })
        .enable_all()
        .build()?;
    runtime.block_on(dispatch(cli))
}

impl Cli {
    /// Where the regions come from: `--target` (with its pid and floor Redis), or our own.
    fn setup(&self) -> Setup {
        match &self.target {
            Some(urls) => Setup::External {
                urls: urls.clone(),
                pid: self.server_pid,
                floor_redis: self.floor_redis.clone(),
            },
            None => Setup::Own,
        }
    }
}

impl Command {
    /// Whether the command writes JSON and plots to `--out` (smoke and the internal server
    /// commands do not).
    fn writes_results(&self) -> bool {
        !matches!(
            self,
            Command::Smoke | Command::Serve { .. } | Command::BareServer { .. }
        )
    }
}

/// Run the command `cli` names: one call per command.
async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let setup = cli.setup();
    let out = &cli.out;
    if cli.command.writes_results() {
        std::fs::create_dir_all(out)?;
    }
    match cli.command {
        Command::Smoke => {
            return Ok(if smoke::run().await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Floor => {
            let redis = redis_process::RedisProcess::start(Default::default())?;
            let url = cli.floor_redis.unwrap_or_else(|| redis.url());
            let f = floor::measure(Some(&url), 2000).await?;
            println!("{}", serde_json::to_string_pretty(&f)?);
        }
        Command::Latency {
            clients,
            rate,
            secs,
            publishers,
        } => {
            let secs = Duration::from_secs(secs);
            scenario::latency(&setup, out, clients, rate, secs, publishers).await?;
        }
        Command::Throughput {
            clients,
            p99_ms,
            start_rate,
            secs,
            steps,
        } => {
            let step = Duration::from_secs(secs);
            throughput::throughput(&setup, out, clients, p99_ms, start_rate, step, steps).await?;
        }
        Command::Capacity {
            per_region,
            step,
            regions,
        } => {
            capacity::capacity(&setup, out, per_region, step, regions).await?;
        }
        Command::Socketio {
            clients,
            emitters,
            start_rate,
            secs,
            steps,
            rates,
        } => {
            let servers = setup.servers(socketio::BROKER).await?;
            let step = Duration::from_secs(secs);
            let rates = if rates.is_empty() {
                socketio::Rates::Doubling {
                    start: start_rate,
                    max_steps: steps,
                }
            } else {
                socketio::Rates::Fixed(rates)
            };
            socketio::scenario(servers, out, clients, emitters, rates, step).await?;
        }
        Command::Channels {
            p99_ms,
            start_rate,
            secs,
            steps,
            clients,
            rate,
        } => {
            let secs = Duration::from_secs(secs);
            channels::channels(out, p99_ms, start_rate, secs, steps, clients, rate).await?;
        }
        Command::PresenceStorm {
            storm_clients,
            stay_ms,
            connecting,
            clients,
            rate,
            secs,
            publishers,
        } => {
            let spec = PresenceStormSpec {
                receivers_per_region: clients,
                publishers_per_region: publishers,
                rate,
                duration: Duration::from_secs(secs),
                storm: StormSpec {
                    clients_per_region: storm_clients,
                    channel: presence_storm::storm_channel(),
                    stay_ms: stay_ms / 2..stay_ms * 3 / 2,
                    away_ms: 0..100,
                    connecting,
                },
                warmup: Duration::from_secs(3),
                converge: Duration::from_secs(10),
            };
            let servers = setup.servers(BrokerKind::Redis).await?;
            let report = presence_storm::run(&servers, &spec).await;
            servers.stop().await;
            let report = report?;
            presence_storm::print(&report);
            scenario::write_json(out, "presence-storm.json", &report)?;
            if !report.clean() {
                eprintln!(
                    "bench: presence-storm was not clean (lost, duplicated, closed or ghosts)"
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::All => {
            scenario::latency(&setup, out, 100, 1000.0, Duration::from_secs(10), 10).await?;
            let step = Duration::from_secs(5);
            throughput::throughput(&setup, out, 1000, 50.0, 25.0, step, 9).await?;
            capacity::capacity(&setup, out, 10_000, 1000, 1).await?;
        }
        Command::Serve { regions, redis_url } => {
            servers::serve_child(regions, redis_url).await?;
        }
        Command::BareServer {
            port_base,
            write_batch,
        } => {
            bare::serve_child(port_base, write_batch).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
