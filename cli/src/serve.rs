//! `multiregion serve`: choose the broker, start the regions the [`Settings`] name, and run
//! them until SIGINT or SIGTERM; then stop them and the private redis-server, if one was
//! started.

use crate::config::Settings;
use anyhow::Context;
use server_core::choice::{self, ChosenBroker};
use server_core::defaults;
use server_core::serve::{self, Cluster};
use tokio_util::sync::CancellationToken;

/// Run the regions of `settings` until a shutdown signal.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let plan = choice::serve_plan(
        settings.redis.as_deref(),
        &settings.default_redis,
        settings.private_redis,
    );
    let chosen = choice::choose(&plan, &settings.log()).await.map_err(|e| {
        anyhow::anyhow!(
            "{e}; start redis-server there, fix the URL, or leave it out to use the embedded broker"
        )
    })?;
    let ChosenBroker {
        broker,
        status,
        private,
    } = chosen;
    let mut description = status.description;
    if status.kind == wire::BrokerKind::Embedded {
        description.push_str("; pass --redis <url> to share events between machines");
    }
    tracing::info!(
        broker = broker.kind().as_str(),
        private = status.private,
        "broker: {description}"
    );
    // From here on an early return drops `private`, which kills the private redis-server.
    let names = &settings.regions;
    if settings.port.is_some() && names.len() != 1 {
        anyhow::bail!("--port needs exactly one --region (use --port-base for several)");
    }
    if !settings.bind.is_loopback() && settings.token.is_none() {
        tracing::warn!(bind = %settings.bind, "listening beyond loopback without --token: anyone on the network can publish");
    }
    let mut peers = Vec::new();
    for p in &settings.peers {
        let (name, url) = p
            .split_once('=')
            .with_context(|| format!("--peer {p:?} is not NAME=URL"))?;
        peers.push(wire::RegionInfo {
            name: name.into(),
            url: url.trim_end_matches('/').into(),
        });
    }
    for p in public_urls(&settings.public_urls, names)? {
        peers.retain(|q| q.name != p.name);
        peers.push(p);
    }
    let mut regions = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let port = settings
            .port
            .unwrap_or_else(|| defaults::port(name, settings.port_base, i));
        let listener = serve::bind(settings.bind, port, false)
            .await
            .with_context(|| format!("region {name}: cannot listen on {}:{port} (is another server using it? pick another with --port-base or --port)", settings.bind))?;
        let mut config = settings.region_config(name);
        config.peers = peers.clone();
        config.link.set(
            wire::sim::presets::settings(&settings.sim, name).expect("the preset was validated"),
        );
        regions.push((config, listener));
    }
    if let Some(dir) = &settings.ui_dir {
        if !dir.join("index.html").is_file() {
            tracing::warn!(dir = %dir.display(), "no index.html in --ui-dir: build the UI first; serving the API only");
        }
    }
    let shutdown = CancellationToken::new();
    let cluster = Cluster::start(regions, broker, shutdown.clone())?;
    for r in &cluster.regions {
        tracing::info!(region = %r.name, "open http://{}", r.addr);
    }
    tokio::spawn(async move {
        server_core::shutdown::signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    cluster.wait().await;
    if let Some(redis) = private {
        let url = redis.url();
        let _ = tokio::task::spawn_blocking(move || redis.stop()).await;
        tracing::info!(%url, "private redis-server stopped");
    }
    Ok(())
}

/// `--public-url` values as `/regions` entries; they override the bound address of a local
/// region, as a `--peer` with the region's own name does.
fn public_urls(values: &[String], names: &[String]) -> anyhow::Result<Vec<wire::RegionInfo>> {
    let mut out = Vec::new();
    for v in values {
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
