//! Commands the UI invokes (`invoke("regions")`, …). Names and shapes are the UI's contract.

use crate::error::Result;
use crate::state::{AppRegions, Startup};
use server_core::broker::RedisConfig;
use server_core::choice::{self, BrokerStatus, Step};
use tauri::State;

/// The regions to connect to, with their actual addresses:
/// `[{"name":"as","url":"http://127.0.0.1:4000"},…]`.
#[tauri::command]
pub async fn regions(regions: State<'_, AppRegions>) -> Result<Vec<wire::RegionInfo>> {
    regions.0.lock().await.regions()
}

/// The broker in use: `{"kind":"redis"|"embedded","description":"…","url":"redis://…"|null,"private":bool}`.
#[tauri::command]
pub async fn broker_status(regions: State<'_, AppRegions>) -> Result<BrokerStatus> {
    regions.0.lock().await.status()
}

/// Move the regions to the Redis at `url` (empty: back to the automatic choice). The new
/// broker is connected first: if it fails, the error says why and nothing changes.
#[tauri::command]
pub async fn set_redis_url(
    url: String,
    regions: State<'_, AppRegions>,
    startup: State<'_, Startup>,
) -> Result<BrokerStatus> {
    let url = url.trim();
    tracing::info!(url, "broker change requested");
    let chosen = if url.is_empty() {
        startup.choose().await
    } else {
        choice::choose(&[Step::Url(url.into())], &RedisConfig::default())
            .await
            .inspect_err(|e| tracing::warn!(url, error = %e, "broker change refused"))?
    };
    regions.0.lock().await.switch(chosen).await
}
