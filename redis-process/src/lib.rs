//! A private `redis-server`: started on a loopback port of its own, ready when it answers
//! `PING`, and gone when its handle is dropped or the process that started it dies.
//!
//! This is production code, not a test helper: the desktop app runs its private Redis with it,
//! the bench its measured Redis, and the tests their throw-away servers. Nothing here is async:
//! starting blocks for at most [`RedisOptions::start_timeout`], stopping for at most
//! [`STOP_TIMEOUT`] (call them through `spawn_blocking` from a runtime that must not stall).
//!
//! # Layout
//! - [`RedisOptions`], [`RedisProcess`]: what to start, and the running server (this file).
//! - [`watchdog`]: the `sh` helper that ends redis-server when its starter dies (Unix).
//! - [`LaunchError`]: why a start failed.

mod watchdog;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use watchdog::Watchdog;

/// Free ports tried when no port is fixed: another program may take a free port between
/// choosing it and redis-server binding it.
pub const PORT_ATTEMPTS: usize = 3;

/// How long a graceful [`RedisProcess::stop`] may take before the server is killed outright.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a redis-server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// `redis-server` is not on the `PATH`.
    #[error("no redis-server on the PATH (install it: apt-get install redis-server)")]
    NotFound,
    /// The process could not be spawned.
    #[error("cannot spawn redis-server: {0}")]
    Spawn(std::io::Error),
    /// It was spawned but did not answer `PING` in time, or exited.
    #[error("redis-server did not answer on 127.0.0.1:{port} (port taken, or it failed to start)")]
    NotReady {
        /// The port it was started on.
        port: u16,
    },
    /// Choosing a port or making its data directory failed.
    #[error("cannot prepare redis-server: {0}")]
    Io(#[from] std::io::Error),
}

/// What to start. `RedisOptions::default()` is a non-persistent server on a free port.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The port on 127.0.0.1; `None` picks a free one (up to [`PORT_ATTEMPTS`] tries).
    pub port: Option<u16>,
    /// Keep an append-only file, fsynced on every write, so [`RedisProcess::restart`] (even
    /// after [`RedisProcess::kill`]) finds the data again. Without it nothing is written.
    pub persistent: bool,
    /// More `redis-server` arguments, after the ones set here (later ones win).
    pub extra_args: Vec<String>,
    /// How long the server has to answer `PING` after it is spawned.
    pub start_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            port: None,
            persistent: false,
            extra_args: Vec::new(),
            start_timeout: Duration::from_secs(10),
        }
    }
}

/// A running redis-server on `127.0.0.1`, with a data directory of its own.
///
/// Dropping it kills the server (SIGKILL) and removes the directory. On Unix a watchdog also
/// ends it if the starting process dies without dropping it (crash, SIGKILL).
#[derive(Debug)]
pub struct RedisProcess {
    port: u16,
    dir: PathBuf,
    options: RedisOptions,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    server: Child,
    watchdog: Option<Watchdog>,
}

impl RedisProcess {
    /// Start redis-server and wait until it answers `PING`.
    pub fn start(options: RedisOptions) -> Result<RedisProcess, LaunchError> {
        let program = find_redis_server().ok_or(LaunchError::NotFound)?;
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mrs-redis-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut redis = RedisProcess {
            port: 0,
            dir,
            options,
            running: None,
        };
        let attempts = if redis.options.port.is_some() {
            1
        } else {
            PORT_ATTEMPTS
        };
        let mut last = None;
        for _ in 0..attempts {
            redis.port = match redis.options.port {
                Some(port) => port,
                None => free_port()?,
            };
            match redis.spawn(&program) {
                Ok(()) => return Ok(redis),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    fn spawn(&mut self, program: &Path) -> Result<(), LaunchError> {
        let mut command = Command::new(program);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", ""]);
        if self.options.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let server = command
            .args(&self.options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(LaunchError::Spawn)?;
        let watchdog = Watchdog::guard(server.id());
        let mut running = Running { server, watchdog };
        let deadline = Instant::now() + self.options.start_timeout;
        loop {
            if ping(self.port, Duration::from_secs(1)) {
                tracing::info!(
                    port = self.port,
                    pid = running.server.id(),
                    "redis-server is up"
                );
                self.running = Some(running);
                return Ok(());
            }
            let exited = running.server.try_wait().ok().flatten().is_some();
            if exited || Instant::now() >= deadline {
                running.kill();
                return Err(LaunchError::NotReady { port: self.port });
            }
            std::thread::sleep(Duration::from_millis(20));
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

    /// The redis-server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.server.id())
    }

    /// Kill it now (SIGKILL: no chance to save anything it was not already saving) and reap
    /// it. The handle stays, so [`restart`](Self::restart) can start it again.
    pub fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            running.kill();
        }
    }

    /// Kill it and start it again on the same port and directory (with its data if
    /// persistent), waiting until it answers.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.kill();
        let program = find_redis_server().ok_or(LaunchError::NotFound)?;
        self.spawn(&program)
    }

    /// Stop it gracefully (SIGTERM through the watchdog on Unix), killing it if it has not
    /// exited within [`STOP_TIMEOUT`]; then remove its directory.
    pub fn stop(mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        match running.watchdog.take() {
            Some(watchdog) => watchdog.terminate(),
            None => {
                let _ = running.server.kill();
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while running.server.try_wait().ok().flatten().is_none() {
            if Instant::now() >= deadline {
                tracing::warn!(port = self.port, "redis-server did not stop; killing it");
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        running.kill();
        tracing::info!(port = self.port, "redis-server stopped");
    }
}

impl Running {
    /// SIGKILL the server and reap it; the watchdog goes first, so it never signals a pid
    /// that has been reused.
    fn kill(mut self) {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.dismiss();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `redis-server` is on the `PATH`, if anywhere.
pub fn find_redis_server() -> Option<PathBuf> {
    let name = if cfg!(windows) {
        "redis-server.exe"
    } else {
        "redis-server"
    };
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A loopback port that was free a moment ago (someone else may take it before you bind it).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether a Redis answers `PING` on `127.0.0.1:port` within `timeout` (per step).
pub fn ping(port: u16, timeout: Duration) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply)?;
        Ok(&reply == b"+PONG\r\n")
    };
    attempt().unwrap_or(false)
}
