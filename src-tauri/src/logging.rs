//! Logging: `tracing` to stderr and to a file in the platform's log directory.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// Name of the log file inside the app's log directory.
pub const LOG_FILE: &str = "multiregion-desktop.log";

/// Log to stderr and, if `dir` can be created, append to `dir/multiregion-desktop.log`.
/// `RUST_LOG` sets the filter (default `info`). Returns the log file's path.
pub fn init(dir: Option<&Path>) -> Option<PathBuf> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let file = dir.and_then(|dir| {
        fs::create_dir_all(dir).ok()?;
        let path = dir.join(LOG_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok()?;
        Some((path, file))
    });
    let (path, file_layer) = match file {
        // Unbuffered writes through a std mutex: log lines are short and nothing awaits
        // while holding it, so no background writer (and no flush-on-exit guard) is needed.
        Some((path, file)) => (
            Some(path),
            Some(fmt::layer().with_ansi(false).with_writer(Mutex::new(file))),
        ),
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(file_layer)
        .try_init();
    path
}
