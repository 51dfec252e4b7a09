//! The watchdog: a tiny `sh` that ends redis-server when the process that started it dies.
//!
//! It holds the read end of a pipe from its starter. When the starter goes away for any reason
//! (clean exit, crash, SIGKILL from a WebDriver), the pipe closes, `read` returns, and the
//! watchdog sends SIGTERM to redis-server, so no server is left behind. Closing the pipe on
//! purpose is how [`RedisProcess::stop`](crate::RedisProcess::stop) asks for a graceful stop.
//! Not on Windows, where the handle's drop is the only guard.

use std::process::{Child, ChildStdin};

/// Waits for EOF on stdin, then signals the pid given as `$1`.
#[cfg(unix)]
const SCRIPT: &str = r#"read _ignored; kill "$1" 2>/dev/null"#;

/// A running watchdog for one redis-server.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    // Closing this pipe makes the watchdog signal redis-server.
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Watch `pid`; `None` (logged) where no watchdog can run: the handle's drop still kills.
    #[cfg(unix)]
    pub(crate) fn guard(pid: u32) -> Option<Watchdog> {
        use std::process::{Command, Stdio};
        // The pipe's write end is close-on-exec: only this process holds it.
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(pid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                let stdin = child.stdin.take();
                Some(Watchdog { child, stdin })
            }
            Err(e) => {
                tracing::warn!(error = %e, pid, "no watchdog for redis-server (sh failed)");
                None
            }
        }
    }

    /// No watchdog off Unix.
    #[cfg(not(unix))]
    pub(crate) fn guard(_pid: u32) -> Option<Watchdog> {
        None
    }

    /// Close the pipe: the watchdog sends SIGTERM to redis-server and exits.
    pub(crate) fn terminate(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }

    /// End the watchdog without it signalling anything.
    pub(crate) fn dismiss(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// When the starter's end of the pipe closes without a word (as when it crashes), the
    /// watchdog ends the watched process.
    #[test]
    fn a_closed_pipe_ends_the_watched_process() {
        let mut watched = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let watchdog = Watchdog::guard(watched.id()).expect("sh is available");
        drop(watchdog);
        let status = watched.wait().unwrap();
        assert!(!status.success(), "{status}");
    }

    /// A dismissed watchdog signals nothing.
    #[test]
    fn a_dismissed_watchdog_signals_nothing() {
        let mut watched = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        Watchdog::guard(watched.id()).unwrap().dismiss();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(watched.try_wait().unwrap().is_none(), "still running");
        watched.kill().unwrap();
        watched.wait().unwrap();
    }
}
