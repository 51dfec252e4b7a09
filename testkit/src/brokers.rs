//! A `redis-server` of the test's own, and brokers (embedded or on that server).

use redis_process::{RedisOptions, RedisProcess};
use server_core::broker::{MemoryBroker, RedisBroker, RedisConfig, SharedBroker};
use server_core::defaults;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A `redis-server` of the test's own on a free port (never the machine's 6379), killed on
/// drop. Every method panics on failure: a test that needs Redis fails without it.
pub struct RedisServer {
    process: RedisProcess,
}

impl RedisServer {
    /// Start without persistence.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Start with an append-only file, so `restart` keeps the data.
    pub fn start_persistent() -> Self {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Self {
        let options = RedisOptions {
            persistent,
            start_timeout: crate::PATIENCE,
            ..RedisOptions::default()
        };
        match RedisProcess::start(options) {
            Ok(process) => RedisServer { process },
            Err(e) => panic!("redis-server must be installed and start: {e}"),
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.process.url()
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// Kill it (SIGKILL: no chance to save anything it was not already saving).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Kill and start again on the same port (with its data if persistent).
    pub fn restart(&mut self) {
        if let Err(e) = self.process.restart() {
            panic!("redis-server did not restart: {e}");
        }
    }
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "test-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// The embedded broker with the default history.
pub fn memory_broker() -> SharedBroker {
    Arc::new(MemoryBroker::new(defaults::HISTORY))
}

/// A broker on `redis` under a prefix of its own, keeping `history` events.
pub async fn redis_broker(redis: &RedisServer, history: usize) -> RedisBroker {
    redis_broker_with_prefix(redis, &unique_prefix(), history).await
}

/// A broker on `redis` under `prefix` (brokers with one prefix share one log).
pub async fn redis_broker_with_prefix(
    redis: &RedisServer,
    prefix: &str,
    history: usize,
) -> RedisBroker {
    let config = RedisConfig {
        prefix: prefix.into(),
        history,
        ..RedisConfig::new(redis.url())
    };
    RedisBroker::connect(config)
        .await
        .expect("connect to the test's redis-server")
}
