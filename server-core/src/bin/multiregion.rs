//! `multiregion`: run regional servers headless (thin over `server_core`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use server_core::broker::{Acks, RedisConfig};
use server_core::region::RegionConfig;
use server_core::serve::{self, Cluster, DEFAULT_REGIONS};
use std::net::IpAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "multiregion",
    version,
    about = "Multi-Region Servers: regional WebSocket servers synced through Redis"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run regional servers (all three by default, or the ones named with --region).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Region to run (repeatable). Default: as, us and eu.
    #[arg(long = "region", value_name = "NAME")]
    regions: Vec<String>,
    /// Redis URL of the shared log. Default: redis://127.0.0.1:6379 if it answers, else the
    /// embedded broker.
    #[arg(long, env = "REDIS_URL", value_name = "URL")]
    redis: Option<String>,
    /// The Redis tried when --redis is not given; if it does not answer, the embedded broker
    /// is used.
    #[arg(long, env = "MULTIREGION_DEFAULT_REDIS", default_value = serve::DEFAULT_REDIS_URL, value_name = "URL")]
    default_redis: String,
    /// Key prefix in Redis (separate logs can share one Redis).
    #[arg(long, default_value = "mrs")]
    redis_prefix: String,
    /// Events kept in the log's history (and ids kept for deduplication).
    #[arg(long, default_value_t = 10_000)]
    history: usize,
    /// Address to bind. Anything but loopback exposes the regions to the network: use --token.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port of the first default region (as); us and eu follow it.
    #[arg(long, default_value_t = DEFAULT_REGIONS[0].1)]
    port_base: u16,
    /// Port of the region, when exactly one --region is given.
    #[arg(long)]
    port: Option<u16>,
    /// Directory of the built UI to serve at `/`.
    #[arg(long, value_name = "DIR")]
    ui_dir: Option<PathBuf>,
    /// Another region the UI should connect to, as NAME=URL (repeatable).
    #[arg(long = "peer", value_name = "NAME=URL")]
    peers: Vec<String>,
    /// Extra web origin allowed to open WebSockets (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Simulated WAN between each region and the broker: `off`, or `global` (US 20 ms,
    /// EU 45 ms, AS 90 ms one way). Changeable at run time with `PUT /sim`.
    #[arg(long, default_value = "off", value_parser = wire::presets::NAMES)]
    sim: String,
    /// Shared token clients must present (`?token=` or `Authorization: Bearer`).
    #[arg(long, env = "MULTIREGION_TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    redis_options: RedisOptions,
}

// ---- Redis deployment options (durable acks, TLS trust). Self-contained: `RedisOptions` is
// flattened into `ServeArgs` and turned into a `RedisConfig` by `RedisOptions::config`. ----

/// How the regions use Redis beyond its URL.
#[derive(clap::Args)]
struct RedisOptions {
    /// When a publish is acked: `primary` (once the Redis primary stored it) or `replicas:N`
    /// (only once `WAIT` confirms N replicas hold it; otherwise the client gets a temporary
    /// error and retries by id, which never stores it twice).
    #[arg(long, default_value = "primary", value_name = "primary|replicas:N")]
    acks: Acks,
    /// How long a publish waits for its replicas with `--acks replicas:N`, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    acks_timeout_ms: u64,
    /// PEM file of the CA that signed the Redis server's certificate (`rediss://`), when it
    /// is not in the system's trust store.
    #[arg(long, env = "MULTIREGION_REDIS_CA", value_name = "FILE")]
    redis_ca: Option<PathBuf>,
}

impl RedisOptions {
    /// The Redis settings for every URL tried.
    fn config(&self, prefix: &str, history: usize, default_url: &str) -> RedisConfig {
        RedisConfig {
            prefix: prefix.into(),
            history,
            acks: self.acks,
            ack_timeout: std::time::Duration::from_millis(self.acks_timeout_ms),
            ca_file: self.redis_ca.clone(),
            ..RedisConfig::new(default_url)
        }
    }
}

// ---- end of the Redis deployment options ----

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Command::Serve(args) = Cli::parse().command;
    serve_cmd(args).await
}

async fn serve_cmd(args: ServeArgs) -> anyhow::Result<()> {
    let base = args
        .redis_options
        .config(&args.redis_prefix, args.history, &args.default_redis);
    let choice =
        serve::choose_broker_with(args.redis.as_deref(), &args.default_redis, base).await?;
    tracing::info!(
        broker = choice.broker.kind().as_str(),
        "broker: {}",
        choice.description
    );
    let names: Vec<String> = if args.regions.is_empty() {
        DEFAULT_REGIONS.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        args.regions.clone()
    };
    if args.port.is_some() && names.len() != 1 {
        anyhow::bail!("--port needs exactly one --region (use --port-base for several)");
    }
    if !args.bind.is_loopback() && args.token.is_none() {
        tracing::warn!(bind = %args.bind, "listening beyond loopback without --token: anyone on the network can publish");
    }
    let mut peers = Vec::new();
    for p in &args.peers {
        let (name, url) = p
            .split_once('=')
            .with_context(|| format!("--peer {p:?} is not NAME=URL"))?;
        peers.push(wire::RegionInfo {
            name: name.into(),
            url: url.trim_end_matches('/').into(),
        });
    }
    let mut regions = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let port = args
            .port
            .unwrap_or_else(|| serve::default_port(name, args.port_base, i));
        let listener = serve::bind(args.bind, port, false)
            .await
            .with_context(|| format!("region {name}: cannot listen on {}:{port} (is another server using it? pick another with --port-base or --port)", args.bind))?;
        let mut config = RegionConfig::new(name.clone());
        config.ui_dir = args.ui_dir.clone();
        config.allowed_origins = args.allowed_origins.clone();
        config.token = args.token.clone();
        config.peers = peers.clone();
        config
            .link
            .set(wire::presets::settings(&args.sim, name).expect("clap checked the preset"));
        regions.push((config, listener));
    }
    if let Some(dir) = &args.ui_dir {
        if !dir.join("index.html").is_file() {
            tracing::warn!(dir = %dir.display(), "no index.html in --ui-dir: build the UI first; serving the API only");
        }
    }
    let shutdown = CancellationToken::new();
    let cluster = Cluster::start(regions, choice.broker, shutdown.clone())?;
    for r in &cluster.regions {
        tracing::info!(region = %r.name, "open http://{}", r.addr);
    }
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    cluster.wait().await;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
