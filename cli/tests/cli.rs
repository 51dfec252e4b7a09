//! The `multiregion` binary, as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::{free_port, Client, RedisServer};
use wire::ServerFrame;

struct Serve {
    child: Child,
    first_line: String,
    /// The line that says which broker was chosen (the first line, unless a private
    /// redis-server logged its start before it).
    broker_line: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_multiregion"))
            .arg("serve")
            .args(args)
            .env_remove("REDIS_URL")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first_line = lines.next().unwrap().unwrap();
        let mut broker_line = first_line.clone();
        while !broker_line.contains("broker: ") {
            broker_line = lines.next().unwrap().unwrap();
        }
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            first_line,
            broker_line,
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + testkit::PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "multiregion did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for_port(port: u16) -> std::net::SocketAddr {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + testkit::PATIENCE;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "server did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    addr
}

/// With no Redis reachable, `serve` uses the embedded broker, says so in its first log line,
/// works, and stops cleanly on SIGTERM, closing its sockets.
#[tokio::test]
async fn serve_without_redis_uses_the_embedded_broker_and_says_so() {
    let port = free_port();
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let mut serve = Serve::start(&[
        "--region",
        "us",
        "--port",
        &port.to_string(),
        "--default-redis",
        &dead_redis,
    ]);
    assert!(
        serve.first_line.contains("embedded"),
        "first line: {}",
        serve.first_line
    );
    let addr = wait_for_port(port).await;
    assert_eq!(
        listening_ip(port).as_deref(),
        Some("127.0.0.1"),
        "binds to loopback by default"
    );
    let mut c = Client::connect(addr).await;
    assert!(
        matches!(&c.welcome, ServerFrame::Welcome { broker, region, .. } if *broker == wire::BrokerKind::Embedded && region == "us")
    );
    let ack = c.publish_and_wait("cli-1").await;
    assert!(matches!(ack, ServerFrame::Ack { offset: 1, .. }), "{ack:?}");
    assert_eq!(c.events(1).await[0].id, "cli-1");
    let status = serve.terminate();
    assert!(status.success(), "exit status {status}");
    // The socket was closed by the server, and the port is free again.
    assert!(c.try_next(Duration::from_secs(2)).await.is_none());
    assert!(
        std::net::TcpListener::bind(addr).is_ok(),
        "port {port} still held"
    );
}

/// The local address the kernel lists for a listening TCP socket on `port`.
fn listening_ip(port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (ip, p) = cols.get(1)?.split_once(':')?;
        // State 0A is LISTEN; the address is little-endian hex.
        if u16::from_str_radix(p, 16).ok()? != port || cols.get(3) != Some(&"0A") {
            return None;
        }
        let n = u32::from_str_radix(ip, 16).ok()?;
        Some(std::net::Ipv4Addr::from(n.swap_bytes()).to_string())
    })
}

/// With `--redis`, `serve` uses that Redis and says so; two `serve` processes on one Redis
/// (regions on different machines) deliver each other's events.
#[tokio::test]
async fn two_processes_sharing_one_redis_sync() {
    let redis = RedisServer::start();
    let (p1, p2) = (free_port(), free_port());
    let prefix = testkit::unique_prefix();
    let one = Serve::start(&[
        "--region",
        "as",
        "--port",
        &p1.to_string(),
        "--redis",
        &redis.url(),
        "--redis-prefix",
        &prefix,
    ]);
    let two = Serve::start(&[
        "--region",
        "eu",
        "--port",
        &p2.to_string(),
        "--redis",
        &redis.url(),
        "--redis-prefix",
        &prefix,
    ]);
    assert!(one.first_line.contains("redis at"), "{}", one.first_line);
    assert!(two.first_line.contains("redis at"), "{}", two.first_line);
    let mut eu = Client::connect(wait_for_port(p2).await).await;
    let mut as_ = Client::connect(wait_for_port(p1).await).await;
    as_.publish_and_wait("cross-1").await;
    let e = eu.events(1).await.remove(0);
    assert_eq!(
        (e.id.as_str(), e.origin.as_str(), e.offset),
        ("cross-1", "as", 1)
    );
}

/// An explicit `--redis` that cannot be reached is an error that says what to do.
#[test]
fn unreachable_explicit_redis_fails_with_advice() {
    let out = Command::new(env!("CARGO_BIN_EXE_multiregion"))
        .args([
            "serve",
            "--region",
            "us",
            "--port",
            &free_port().to_string(),
        ])
        .args(["--redis", &format!("redis://127.0.0.1:{}", free_port())])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not use Redis") && err.contains("embedded broker"),
        "{err}"
    );
}

/// `--sim global` gives each region the preset's link (EU: 45 ms one way).
#[tokio::test]
async fn sim_preset_from_the_command_line() {
    let port = free_port();
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let _serve = Serve::start(&[
        "--region",
        "eu",
        "--port",
        &port.to_string(),
        "--sim",
        "global",
        "--default-redis",
        &dead_redis,
    ]);
    let addr = wait_for_port(port).await;
    let sim: wire::sim::LinkSettings = testkit::http_get_json(addr, "/sim").await;
    assert_eq!(sim, wire::sim::presets::settings("global", "eu").unwrap());
    assert_eq!(sim.latency_ms, 45);
}

/// `--private-redis` with no Redis answering (the headless `cargo xtask run`): `serve` starts
/// a private redis-server, says so in its first line, works on it, and stops it on SIGTERM.
#[tokio::test]
async fn private_redis_is_started_used_and_stopped() {
    let port = free_port();
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let mut serve = Serve::start(&[
        "--region",
        "us",
        "--port",
        &port.to_string(),
        "--default-redis",
        &dead_redis,
        "--private-redis",
    ]);
    let line = serve.broker_line.clone();
    assert!(
        line.contains("private redis-server at"),
        "first line: {line}"
    );
    let url = line
        .split("private redis-server at ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap();
    let redis_port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let redis_addr = std::net::SocketAddr::from(([127, 0, 0, 1], redis_port));
    assert!(std::net::TcpStream::connect(redis_addr).is_ok());
    let mut c = Client::connect(wait_for_port(port).await).await;
    assert!(
        matches!(&c.welcome, ServerFrame::Welcome { broker, .. } if *broker == wire::BrokerKind::Redis),
        "{:?}",
        c.welcome
    );
    c.publish_and_wait("private-1").await;
    assert_eq!(c.events(1).await[0].id, "private-1");
    let status = serve.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        std::net::TcpStream::connect(redis_addr).is_err(),
        "the private redis-server at {url} is still running"
    );
}
