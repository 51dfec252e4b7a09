//! A private `redis-server`: started on a loopback port of its own, ready when it answers
//! `PING`, and gone when its handle is dropped or the process that started it dies.
//!
//! This is production code, not a test helper: the desktop app runs its private Redis with it,
//! the bench its measured Redis, and the tests every redis-server they need (data nodes,
//! replicas, Cluster nodes, Sentinels, TLS-only servers). Nothing here is async: starting
//! blocks for at most [`RedisOptions::start_timeout`], stopping for at most [`STOP_TIMEOUT`]
//! (call them through `spawn_blocking` from a runtime that must not stall).
//!
//! What "ready" means, for every kind of server it starts: it answers `PING` with `PONG` on
//! `127.0.0.1:port`, in plain text ([`ping`]), or, for a TLS-only server, over a TLS
//! connection whose certificate checks out against the configured CA ([`TlsOptions`]). A data
//! server and a Sentinel ([`Role`]) are checked alike.
//!
//! # Layout
//! - `lib.rs`: [`RedisProcess`], the running server.
//! - `options.rs`: [`RedisOptions`], [`Role`], [`TlsOptions`]: what to start, and its
//!   command line.
//! - `ready.rs`: the readiness checks, plain ([`ping`]) and TLS.
//! - `watchdog.rs`: the `sh` helper that ends redis-server when its starter dies (Unix).
//! - `error.rs`: [`LaunchError`] and [`CaCertError`], why a start failed.

mod error;
mod options;
mod ready;
mod watchdog;

pub use error::{CaCertError, LaunchError};
pub use options::{RedisOptions, Role, TlsOptions};
pub use ready::ping;

use ready::Readiness;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use watchdog::Watchdog;

/// Free ports tried when no port is fixed: another program may take a free port between
/// choosing it and redis-server binding it.
pub const PORT_ATTEMPTS: usize = 3;

/// How long a graceful [`RedisProcess::stop`] may take before the server is killed outright.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running redis-server on `127.0.0.1` (a data server or a Sentinel, in plain text or
/// TLS), with a data directory of its own.
///
/// Dropping it kills the server (SIGKILL) and removes the directory. On Unix a watchdog also
/// ends it if the starting process dies without dropping it (crash, SIGKILL). Both hold for
/// every [`Role`]: a Sentinel is one redis-server process like any other.
#[derive(Debug)]
pub struct RedisProcess {
    port: u16,
    dir: PathBuf,
    /// The config file it runs from (in `dir`), if any: see [`RedisOptions::config_file`].
    config: Option<PathBuf>,
    readiness: Readiness,
    options: RedisOptions,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    server: Child,
    watchdog: Option<Watchdog>,
}

impl RedisProcess {
    /// Start redis-server and wait until it is ready: it answers `PING` on its port, over
    /// TLS if [`RedisOptions::tls`] is set. A CA certificate that cannot be used, or a config
    /// file that cannot be read, is an error before anything is spawned.
    pub fn start(options: RedisOptions) -> Result<RedisProcess, LaunchError> {
        let program = find_redis_server().ok_or(LaunchError::NotFound)?;
        let readiness = match &options.tls {
            Some(tls) => Readiness::tls(&tls.ca_cert_file)?,
            None => Readiness::Plain,
        };
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mrs-redis-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        // From here on, dropping `redis` (on an error too) removes the directory.
        let mut redis = RedisProcess {
            port: 0,
            dir,
            config: None,
            readiness,
            options,
            running: None,
        };
        redis.config = redis.install_config()?;
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

    /// Put the config file it runs from into its directory, once: a copy of the caller's, or
    /// an empty one for a Sentinel, which will not run without a file to rewrite.
    fn install_config(&self) -> Result<Option<PathBuf>, LaunchError> {
        let (name, text) = match (self.options.role, &self.options.config_file) {
            (Role::Data, None) => return Ok(None),
            (Role::Sentinel, None) => ("sentinel.conf", Vec::new()),
            (role, Some(file)) => {
                // Read and write, not `fs::copy`: that would copy a read-only mode too, and
                // a Sentinel must be able to rewrite its file.
                let text = std::fs::read(file).map_err(|source| LaunchError::ConfigFile {
                    path: file.clone(),
                    source,
                })?;
                let name = match role {
                    Role::Data => "redis.conf",
                    Role::Sentinel => "sentinel.conf",
                };
                (name, text)
            }
        };
        let copy = self.dir.join(name);
        std::fs::write(&copy, text)?;
        Ok(Some(copy))
    }

    fn spawn(&mut self, program: &Path) -> Result<(), LaunchError> {
        let server = self
            .options
            .command(program, self.port, &self.dir, self.config.as_deref())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(LaunchError::Spawn)?;
        let watchdog = Watchdog::guard(server.id());
        let mut running = Running { server, watchdog };
        let deadline = Instant::now() + self.options.start_timeout;
        loop {
            if self.readiness.answers(self.port, Duration::from_secs(1)) {
                tracing::info!(
                    port = self.port,
                    pid = running.server.id(),
                    role = ?self.options.role,
                    tls = self.options.tls.is_some(),
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

    /// The port it listens on (loopback only): its TLS port for a TLS-only server.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`, or `rediss://…` for a TLS-only server. A Sentinel's URL
    /// is its own address, for Sentinel commands; clients of the data it watches need the
    /// master's name as well.
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Its data directory, removed on drop: redis-server's working directory, with its
    /// append-only file if persistent, and the config file it runs from, if any.
    pub fn dir(&self) -> &Path {
        &self.dir
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
    /// persistent; a Sentinel from the config it rewrote, so with its state), waiting until
    /// it is ready.
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
