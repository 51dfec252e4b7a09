//! State managed by Tauri: one newtype per item.

use crate::regions::Regions;
use server_core::broker::RedisConfig;
use server_core::choice::{self, BrokerMode, ChosenBroker, Step};
use std::sync::Arc;

/// The running regions. A tokio mutex: a broker switch holds it across awaits, so commands
/// wait for the switch (or the start-up) to finish instead of seeing half a change.
#[derive(Clone, Default)]
pub struct AppRegions(pub Arc<tokio::sync::Mutex<Regions>>);

/// How the automatic broker choice was configured at start (env), reused when the user
/// goes back to it from the settings panel.
#[derive(Debug, Clone)]
pub struct Startup {
    /// `MULTIREGION_BROKER`.
    pub mode: BrokerMode,
    /// `REDIS_URL`.
    pub redis_url: Option<String>,
}

impl Startup {
    /// Read `MULTIREGION_BROKER` and `REDIS_URL`; a bad mode is logged and treated as auto.
    pub fn from_env() -> Startup {
        let mode = std::env::var("MULTIREGION_BROKER").ok();
        let mode = BrokerMode::parse(mode.as_deref()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "using the automatic broker choice");
            BrokerMode::Auto
        });
        Startup {
            mode,
            redis_url: std::env::var("REDIS_URL").ok(),
        }
    }

    /// The steps of the automatic choice (`REDIS_URL` or the local Redis, a private
    /// redis-server, embedded; or the path `MULTIREGION_BROKER` forces).
    pub fn plan(&self) -> Vec<Step> {
        choice::plan(self.mode, self.redis_url.as_deref(), true)
    }

    /// Run the automatic choice. Never fails: every plan ends at the embedded broker.
    pub async fn choose(&self) -> ChosenBroker {
        choice::choose(&self.plan(), &RedisConfig::default())
            .await
            .expect("every plan ends at the embedded broker, which cannot fail")
    }
}
