//! `multiregion`: run regional servers headless (thin over `server_core`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use server_core::broker::{Acks, RedisConfig};
use server_core::choice;
use server_core::defaults;
use server_core::region::RegionConfig;
use server_core::serve::{self, Cluster};
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
    #[arg(long, env = "MULTIREGION_DEFAULT_REDIS", default_value = defaults::REDIS_URL, value_name = "URL")]
    default_redis: String,
    /// Key prefix in Redis (separate logs can share one Redis).
    #[arg(long, default_value = defaults::REDIS_PREFIX)]
    redis_prefix: String,
    /// Events kept in the log's history (and ids kept for deduplication).
    #[arg(long, default_value_t = defaults::HISTORY)]
    history: usize,
    /// Address to bind. Anything but loopback exposes the regions to the network: use --token.
    #[arg(long, default_value_t = defaults::BIND)]
    bind: IpAddr,
    /// Port of the first default region (as); us and eu follow it.
    #[arg(long, default_value_t = defaults::REGIONS[0].1)]
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
    #[arg(long, default_value = "off", value_parser = wire::sim::presets::NAMES)]
    sim: String,
    /// Shared token clients must present (`?token=` or `Authorization: Bearer`).
    #[arg(long, env = "MULTIREGION_TOKEN")]
    token: Option<String>,
    // --- regions across machines (issue 11): the URL a region is advertised at ---
    /// The URL browsers reach this region at, advertised in `/regions` (default: the bound
    /// address, with 0.0.0.0 shown as 127.0.0.1). `URL` with one --region, else `NAME=URL`
    /// (repeatable). Pages served from it are accepted by every region that lists it.
    #[arg(long = "public-url", value_name = "[NAME=]URL")]
    public_urls: Vec<String>,
    #[command(flatten)]
    redis_options: RedisOptions,
}

/// `--public-url` values as `/regions` entries; they override the bound address of a local
/// region, as a `--peer` with the region's own name does.
fn public_urls(args: &ServeArgs, names: &[String]) -> anyhow::Result<Vec<wire::RegionInfo>> {
    let mut out = Vec::new();
    for v in &args.public_urls {
        let (name, url) = if v.starts_with("http://") || v.starts_with("https://") {
            match names {
                [one] => (one.clone(), v.clone()),
                _ => anyhow::bail!(
                    "--public-url {v:?} needs exactly one --region; with several use NAME=URL"
                ),
            }
        } else {
            let (n, u) = v
                .split_once('=')
                .with_context(|| format!("--public-url {v:?} is neither URL nor NAME=URL"))?;
            (n.to_owned(), u.to_owned())
        };
        out.push(wire::RegionInfo {
            name,
            url: url.trim_end_matches('/').into(),
        });
    }
    Ok(out)
}
// --- end of the issue-11 block ---

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
    /// The log's settings for every Redis tried (each step of the choice sets the URL).
    fn log(&self, prefix: &str, history: usize) -> RedisConfig {
        RedisConfig {
            prefix: prefix.into(),
            history,
            acks: self.acks,
            ack_timeout: std::time::Duration::from_millis(self.acks_timeout_ms),
            ca_file: self.redis_ca.clone(),
            ..RedisConfig::default()
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
    let log = args.redis_options.log(&args.redis_prefix, args.history);
    let plan = choice::serve_plan(args.redis.as_deref(), &args.default_redis);
    let chosen = choice::choose(&plan, &log).await.map_err(|e| {
        anyhow::anyhow!(
            "{e}; start redis-server there, fix the URL, or leave it out to use the embedded broker"
        )
    })?;
    let mut description = chosen.status.description.clone();
    if chosen.status.kind == "embedded" {
        description.push_str("; pass --redis <url> to share events between machines");
    }
    tracing::info!(
        broker = chosen.broker.kind().as_str(),
        "broker: {description}"
    );
    let names: Vec<String> = if args.regions.is_empty() {
        defaults::REGIONS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
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
    for p in public_urls(&args, &names)? {
        peers.retain(|q| q.name != p.name);
        peers.push(p);
    }
    let mut regions = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let port = args
            .port
            .unwrap_or_else(|| defaults::port(name, args.port_base, i));
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
            .set(wire::sim::presets::settings(&args.sim, name).expect("clap checked the preset"));
        regions.push((config, listener));
    }
    if let Some(dir) = &args.ui_dir {
        if !dir.join("index.html").is_file() {
            tracing::warn!(dir = %dir.display(), "no index.html in --ui-dir: build the UI first; serving the API only");
        }
    }
    let shutdown = CancellationToken::new();
    let cluster = Cluster::start(regions, chosen.broker, shutdown.clone())?;
    for r in &cluster.regions {
        tracing::info!(region = %r.name, "open http://{}", r.addr);
    }
    tokio::spawn(async move {
        server_core::shutdown::signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    cluster.wait().await;
    Ok(())
}
