//! The settings of one regional server ([`RegionConfig`]), grouped by what they are: who the
//! region is, who may act on it, what each client may hold, what each connection may
//! publish. The groups and their meaning are in [`crate::settings`].
//!
//! Nothing live is kept here: a config is plain data, cloned freely. The region's simulated
//! link to the broker (shared, changed at run time by `PUT /sim`) is handed to
//! [`super::run`] beside it.

pub use crate::settings::{AccessConfig, ClientLimits, PublishLimits};
use std::path::PathBuf;

/// Settings of one regional server.
#[derive(Debug, Clone)]
pub struct RegionConfig {
    /// Who the region is and what it shows.
    pub identity: Identity,
    /// Who may act on it.
    pub access: AccessConfig,
    /// What each client may hold, and when it is let go.
    pub clients: ClientLimits,
    /// What each connection may publish.
    pub publishing: PublishLimits,
}

/// Who a region is and what it shows.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Region name, e.g. `us`.
    pub name: String,
    /// The regions the UI should connect to (`GET /regions`); pages served from their URLs
    /// are accepted as this deployment's own.
    pub peers: Vec<wire::RegionInfo>,
    /// Directory with the built UI to serve at `/`, if any.
    pub ui_dir: Option<PathBuf>,
}

impl RegionConfig {
    /// Defaults for a region called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        RegionConfig {
            identity: Identity {
                name: name.into(),
                peers: Vec::new(),
                ui_dir: None,
            },
            access: AccessConfig::default(),
            clients: ClientLimits::default(),
            publishing: PublishLimits::default(),
        }
    }
}
