//! Test helpers: a private `redis-server`, regions on ephemeral ports, a WebSocket client.
#![allow(dead_code, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use server_core::broker::{MemoryBroker, RedisBroker, RedisConfig, SharedBroker};
use server_core::region::RegionConfig;
use server_core::serve::Cluster;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use wire::{EventFrame, ServerFrame};

/// How long a test waits for something that should happen promptly before failing.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A `redis-server` of the test's own on a free port (never the machine's 6379), killed on drop.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    persistent: bool,
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
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("mrs-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = RedisServer {
            port,
            dir,
            child: None,
            persistent,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--save")
            .arg("");
        if self.persistent {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill it (SIGKILL: no chance to save anything it was not already saving).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kill and start again on the same port (with its data if persistent).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

pub fn memory_broker() -> SharedBroker {
    Arc::new(MemoryBroker::new(10_000))
}

pub async fn redis_broker(redis: &RedisServer, history: usize) -> RedisBroker {
    redis_broker_with_prefix(redis, &unique_prefix(), history).await
}

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

/// Regions running on ephemeral loopback ports.
pub struct Regions {
    pub cluster: Option<Cluster>,
    pub shutdown: CancellationToken,
}

impl Regions {
    pub async fn start(names: &[&str], broker: SharedBroker) -> Self {
        Self::start_with(names, broker, |_| {}).await
    }

    pub async fn start_with(
        names: &[&str],
        broker: SharedBroker,
        tweak: impl Fn(&mut RegionConfig),
    ) -> Self {
        let mut regions = Vec::new();
        for name in names {
            let mut config = RegionConfig::new(*name);
            tweak(&mut config);
            regions.push((config, TcpListener::bind("127.0.0.1:0").await.unwrap()));
        }
        let shutdown = CancellationToken::new();
        let cluster = Cluster::start(regions, broker, shutdown.clone()).unwrap();
        Regions {
            cluster: Some(cluster),
            shutdown,
        }
    }

    pub fn addr(&self, name: &str) -> SocketAddr {
        self.cluster.as_ref().unwrap().addr(name).unwrap()
    }

    pub async fn stop(&mut self) {
        if let Some(c) = self.cluster.take() {
            c.stop().await;
        }
    }
}

impl Drop for Regions {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A protocol-level WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: ServerFrame,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_query(addr, "").await
    }

    pub async fn connect_since(addr: SocketAddr, since: u64) -> Self {
        Self::connect_query(addr, &format!("?since={since}")).await
    }

    pub async fn connect_query(addr: SocketAddr, query: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws{query}"))
            .await
            .expect("websocket connect");
        let mut c = Client {
            ws,
            welcome: ServerFrame::error("none", ""),
        };
        c.welcome = c.next().await;
        assert!(
            matches!(c.welcome, ServerFrame::Welcome { .. }),
            "first frame must be welcome: {:?}",
            c.welcome
        );
        c
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn publish(&mut self, id: &str) {
        self.send_text(
            &serde_json::json!({"type":"publish","id":id,"kind":"test","payload":{"id":id}})
                .to_string(),
        )
        .await;
    }

    /// Publish and wait for the answer to it (ack or error), skipping events.
    pub async fn publish_and_wait(&mut self, id: &str) -> ServerFrame {
        self.publish(id).await;
        loop {
            let f = self.next().await;
            match &f {
                ServerFrame::Ack { id: i, .. } if i == id => return f,
                ServerFrame::Error { id: Some(i), .. } if i == id => return f,
                ServerFrame::Error { id: None, .. } => return f,
                _ => {}
            }
        }
    }

    /// The next protocol frame (fails the test after [`PATIENCE`]).
    pub async fn next(&mut self) -> ServerFrame {
        self.try_next(PATIENCE)
            .await
            .expect("a frame within the patience window")
    }

    /// The next frame, or `None` if none comes within `wait` or the socket closed.
    pub async fn try_next(&mut self, wait: Duration) -> Option<ServerFrame> {
        loop {
            let msg = tokio::time::timeout(wait, self.ws.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(t) => {
                    return Some(serde_json::from_str(&t).expect("server frames are valid"))
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Collect `n` events, ignoring acks and other frames.
    pub async fn events(&mut self, n: usize) -> Vec<EventFrame> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if let ServerFrame::Event(e) = self.next().await {
                out.push(e);
            }
        }
        out
    }

    /// Assert that no further event arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        while let Some(f) = self.try_next(wait).await {
            assert!(
                !matches!(f, ServerFrame::Event(_)),
                "unexpected extra event: {f:?}"
            );
        }
    }
}

/// Offsets strictly increase by one, starting after `after`.
pub fn assert_dense_in_order(events: &[EventFrame], after: u64) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.offset,
            after + 1 + i as u64,
            "offset out of order or missing at position {i}"
        );
    }
}

/// `GET path` on `addr`, expecting 200 and a JSON body.
pub async fn http_get_json<T: serde::de::DeserializeOwned>(addr: SocketAddr, path: &str) -> T {
    let (status, body) = http_get(addr, path, &[]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// `GET path` with extra headers; returns the status code and body.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// Run each scenario `async fn name(broker: SharedBroker)` against every broker:
/// `memory::name` on the embedded broker and `redis::name` on a `redis-server` of the test's
/// own, both keeping `history` events.
#[allow(unused_macros)]
macro_rules! with_both_brokers {
    (history = $history:expr; $($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let broker = server_core::broker::MemoryBroker::new($history);
                    super::$name(std::sync::Arc::new(broker)).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = super::common::RedisServer::start();
                    let broker = super::common::redis_broker(&server, $history).await;
                    super::$name(std::sync::Arc::new(broker)).await;
                }
            )*
        }
    };
}
