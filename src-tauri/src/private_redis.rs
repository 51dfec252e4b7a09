//! A private `redis-server` the app starts on a free port and stops on exit.
//!
//! On Unix it runs under a tiny `sh` watchdog that holds the read end of a pipe from the app:
//! when the app goes away for any reason (clean exit, crash, SIGKILL from a WebDriver), the
//! pipe closes, the watchdog kills and reaps redis-server, so no server is left behind.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, Command};

/// How long redis-server may take to answer PING after it is spawned.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stop may take before the process is killed outright.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs redis-server and exits with it (so a failed start shows at once); a background reader
/// kills it when the app's end of stdin closes. Asynchronous lists get `/dev/null` as stdin
/// unless redirected, hence the explicit fd 3.
#[cfg(unix)]
const WATCHDOG: &str = r#"exec 3<&0
redis-server "$@" </dev/null 3<&- & pid=$!
{ read _ignored <&3; kill "$pid" 2>/dev/null; } &
exec 3<&-
wait "$pid""#;

/// A running private redis-server.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    child: Child,
    // Closing this pipe tells the watchdog to stop redis-server.
    stdin: Option<ChildStdin>,
}

impl PrivateRedis {
    /// Where `redis-server` is on the `PATH`, if anywhere.
    pub fn find() -> Option<PathBuf> {
        let name = if cfg!(windows) {
            "redis-server.exe"
        } else {
            "redis-server"
        };
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }

    /// Start redis-server on a free loopback port, without persistence, and wait until it
    /// answers PING. Tries three ports: another program may take a free port before
    /// redis-server binds it.
    pub async fn start() -> Result<PrivateRedis> {
        if Self::find().is_none() {
            return Err(Error::PrivateRedis("no redis-server on the PATH".into()));
        }
        let mut last = None;
        for _ in 0..3 {
            match Self::start_on(free_port()?).await {
                Ok(redis) => return Ok(redis),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    async fn start_on(port: u16) -> Result<PrivateRedis> {
        let args = [
            "--port".to_string(),
            port.to_string(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            "--bind".into(),
            "127.0.0.1".into(),
        ];
        #[cfg(unix)]
        let mut command = {
            let mut c = Command::new("sh");
            c.arg("-c").arg(WATCHDOG).arg("sh").args(&args);
            c
        };
        #[cfg(not(unix))]
        let mut command = {
            let mut c = Command::new("redis-server");
            c.args(&args).kill_on_drop(true);
            c
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::PrivateRedis(format!("cannot spawn redis-server: {e}")))?;
        let stdin = child.stdin.take();
        let mut redis = PrivateRedis { port, child, stdin };
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if ping(port).await {
                tracing::info!(port, "private redis-server is up");
                return Ok(redis);
            }
            let exited = redis.child.try_wait().ok().flatten();
            if exited.is_some() || tokio::time::Instant::now() >= deadline {
                redis.stop().await;
                return Err(Error::PrivateRedis(format!(
                    "redis-server did not answer on 127.0.0.1:{port} (port taken, or it failed to start)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The port it listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop redis-server and reap it (and its watchdog).
    pub async fn stop(mut self) {
        // EOF on the watchdog's stdin: it kills redis-server and waits for it.
        drop(self.stdin.take());
        #[cfg(not(unix))]
        let _ = self.child.start_kill();
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(_) => tracing::info!(port = self.port, "private redis-server stopped"),
            Err(_) => {
                tracing::warn!(
                    port = self.port,
                    "private redis-server did not stop; killing it"
                );
                let _ = self.child.kill().await;
            }
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether a Redis answers PING on `127.0.0.1:port` within a second.
pub async fn ping(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await?;
        std::io::Result::Ok(&reply == b"+PONG\r\n")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Ok(true))
    )
}

/// For tests: true when redis-server is not installed, so the test may return early on a
/// developer's machine; under `CI=true` a missing redis-server fails the test instead.
#[cfg(test)]
pub(crate) fn redis_missing() -> bool {
    let missing = PrivateRedis::find().is_none();
    assert!(
        !(missing && std::env::var("CI").as_deref() == Ok("true")),
        "redis-server is not on the PATH, and CI=true: install it (apt-get install redis-server)"
    );
    if missing {
        eprintln!("redis-server not on PATH; skipping (outside CI only)");
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A started server answers PING; after `stop` its port is closed.
    #[tokio::test]
    async fn starts_answers_and_stops() {
        if redis_missing() {
            return;
        }
        let redis = PrivateRedis::start().await.expect("start");
        let port = redis.port();
        assert!(ping(port).await);
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
        redis.stop().await;
        assert!(!ping(port).await);
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }

    /// A redis-server that cannot bind its port is an error, not a hang.
    #[tokio::test]
    async fn a_failed_start_is_an_error() {
        if redis_missing() {
            return;
        }
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = PrivateRedis::start_on(port)
            .await
            .expect_err("port is taken");
        assert!(err.to_string().contains(&port.to_string()));
    }

    /// Dropping the handle without `stop` (as a crash would) still ends redis-server.
    #[cfg(unix)]
    #[tokio::test]
    async fn dropping_the_handle_stops_the_server() {
        if redis_missing() {
            return;
        }
        let redis = PrivateRedis::start().await.expect("start");
        let port = redis.port();
        drop(redis);
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "redis still up");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
