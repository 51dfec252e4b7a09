//! Logging: `tracing` to stderr and to a file in the platform's log directory.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// Name of the log file inside the app's log directory.
pub const LOG_FILE: &str = "multiregion-desktop.log";

/// The log file is moved to `<name>.old` at start once it is over this size, so the two
/// files together stay under twice this.
const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

/// Log to stderr and, if `dir` can be created, append to `dir/multiregion-desktop.log`.
/// `RUST_LOG` sets the filter (default `info`). Returns the log file's path.
pub fn init(dir: Option<&Path>) -> Option<PathBuf> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let file = dir.and_then(|dir| {
        fs::create_dir_all(dir).ok()?;
        let path = dir.join(LOG_FILE);
        rotate(&path);
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

/// Move a full log file aside (replacing the previous `.old`); errors just keep appending.
fn rotate(path: &Path) {
    if fs::metadata(path).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        let _ = fs::rename(path, path.with_extension("log.old"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log file over the limit is moved to `.old`; a small one stays.
    #[test]
    fn rotates_a_full_log() {
        let dir = std::env::temp_dir().join(format!("mrd-log-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(LOG_FILE);
        fs::write(&path, b"small").unwrap();
        rotate(&path);
        assert!(path.exists());
        fs::write(&path, vec![b'x'; MAX_LOG_BYTES as usize + 1]).unwrap();
        rotate(&path);
        assert!(!path.exists());
        assert!(dir.join("multiregion-desktop.log.old").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
