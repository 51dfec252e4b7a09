//! `multiregion serve`: choose the broker, start the regions the [`Settings`] name, and run
//! them until SIGINT or SIGTERM; then stop them and the private redis-server, if one was
//! started. The work is the library's (`server_core::choice`, `server_core::serve`).

use crate::config::Settings;
use server_core::choice;
use tokio_util::sync::CancellationToken;

/// Run the regions of `settings` until a shutdown signal.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let chosen = choice::choose(&settings.broker.plan(), &settings.broker.log())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{e}; start redis-server there, fix the URL, or leave it out to use the embedded broker"
            )
        })?;
    let mut description = chosen.status.description.clone();
    if chosen.status.kind == wire::BrokerKind::Embedded {
        description.push_str("; pass --redis <url> to share events between machines");
    }
    tracing::info!(
        broker = %chosen.status.kind,
        private = chosen.status.private,
        "broker: {description}"
    );
    let shutdown = CancellationToken::new();
    let started = settings
        .deployment
        .start(settings.shared(), chosen.broker.clone(), shutdown.clone())
        .await;
    let regions = match started {
        Ok(regions) => regions,
        Err(e) => {
            chosen.release().await;
            return Err(e.into());
        }
    };
    tokio::spawn(async move {
        server_core::shutdown::signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    regions.wait().await;
    let private = chosen.status.private.then(|| chosen.status.url.clone());
    chosen.release().await;
    if let Some(url) = private.flatten() {
        tracing::info!(%url, "private redis-server stopped");
    }
    Ok(())
}
