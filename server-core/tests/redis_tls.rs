//! `rediss://`: the log over TLS to a `redis-server` that only speaks TLS, with a certificate
//! from a throwaway CA the test makes with openssl; the broker trusts it through
//! `RedisConfig::ca_file` (`--redis-ca FILE`), and refuses the server without it.

#[macro_use]
mod common;
mod redis_topology;

use redis_topology::{free_port, make_certificates, wait_until};
use server_core::broker::{Broker, RedisBroker, RedisConfig};
use server_core::event::{now_micros, NewEvent};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A TLS-only `redis-server`, killed on drop.
struct TlsRedis {
    port: u16,
    dir: PathBuf,
    ca: PathBuf,
    child: Child,
}

impl TlsRedis {
    fn start() -> TlsRedis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("mrs-tls-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = make_certificates(&dir);
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--tls-ca-cert-file")
            .arg(&ca)
            .args(["--tls-auth-clients", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        wait_until("the TLS redis-server to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        TlsRedis {
            port,
            dir,
            ca,
            child,
        }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// With the CA, a `rediss://` broker publishes and reads over TLS; without it (the system's
/// CAs do not know the throwaway one) the connection is refused.
#[tokio::test]
async fn rediss_with_a_private_ca_works_and_is_refused_without_it() {
    let redis = TlsRedis::start();
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let trusted = RedisConfig {
        prefix: common::unique_prefix(),
        ca_file: Some(redis.ca.clone()),
        ..RedisConfig::new(url.clone())
    };
    let broker = RedisBroker::connect(trusted).await.unwrap();
    let event = NewEvent {
        id: "over-tls".into(),
        origin: "test".into(),
        kind: "test".into(),
        payload: server_core::event::payload(&serde_json::json!({ "tls": true })),
        published_at: now_micros(),
    };
    assert_eq!(broker.publish(event).await.unwrap().offset, 1);
    let batch = broker.read(0, 10).await.unwrap();
    assert_eq!(batch.events[0].event.id, "over-tls");
    assert!(
        RedisBroker::connect(RedisConfig::new(url)).await.is_err(),
        "a server signed by an unknown CA is refused"
    );
}
