//! Redis deployments for the tests, as people run them in production: a primary with a
//! replica, three Sentinels, a 3-primary/3-replica Cluster, a TLS-only server. Every process is
//! a `redis-server` of the test's own on free loopback ports, launched by
//! `redis_process::RedisProcess` (the one launcher of private Redis servers) in its own temp
//! directory, and SIGKILLed when its handle drops. `redis-server` and `redis-cli` must be
//! installed (they are in CI); a test that cannot start them fails.
#![allow(dead_code, missing_docs)]

mod tls;

use redis_process::{RedisOptions, RedisProcess, Role};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
#[allow(unused_imports)] // Only the TLS tests use it.
pub use tls::{make_certificates, TlsRedis};

/// How long a topology may take to come up or fail over before the test fails.
pub const SETUP_PATIENCE: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    redis_process::free_port().expect("a free loopback port")
}

/// Wait until `ready()` holds, failing the test with `what` after [`SETUP_PATIENCE`].
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETUP_PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `redis-cli -p port ARGS…`, its output trimmed ("" when it could not run).
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("redis-cli must be installed (apt-get install redis-tools)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One `redis-server` process (a data node or a Sentinel).
pub struct Node {
    pub port: u16,
    process: RedisProcess,
    role: Role,
}

/// A data node's options: no persistence, `extra` arguments.
fn data_options(extra: &[&str]) -> RedisOptions {
    // A replica that (re)joins syncs at once, not after the default 5 s wait for others.
    let mut extra_args = vec!["--repl-diskless-sync-delay".to_string(), "0".to_string()];
    extra_args.extend(extra.iter().map(|s| s.to_string()));
    RedisOptions {
        extra_args,
        start_timeout: SETUP_PATIENCE,
        ..RedisOptions::default()
    }
}

impl Node {
    /// A data node without persistence, plus `extra` arguments.
    pub fn start(extra: &[&str]) -> Node {
        Node::launch(data_options(extra))
    }

    /// A Sentinel watching the primary at `primary_port` under the name `master`, that
    /// declares it down after `down_after_ms` without an answer.
    pub fn sentinel(primary_port: u16, master: &str, down_after_ms: u64) -> Node {
        // RedisProcess runs the Sentinel from a copy of this file (which the Sentinel then
        // rewrites with its state), so it is removed once the Sentinel has started.
        static WRITTEN: AtomicUsize = AtomicUsize::new(0);
        let template = std::env::temp_dir().join(format!(
            "mrs-sentinel-{}-{}.conf",
            std::process::id(),
            WRITTEN.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(
            &template,
            format!(
                "sentinel monitor {master} 127.0.0.1 {primary_port} 2\n\
                 sentinel down-after-milliseconds {master} {down_after_ms}\n\
                 sentinel failover-timeout {master} 3000\n\
                 sentinel parallel-syncs {master} 1\n"
            ),
        )
        .unwrap();
        let node = Node::launch(RedisOptions {
            role: Role::Sentinel,
            config_file: Some(template.clone()),
            start_timeout: SETUP_PATIENCE,
            ..RedisOptions::default()
        });
        let _ = std::fs::remove_file(template);
        node
    }

    fn launch(options: RedisOptions) -> Node {
        let role = options.role;
        let process = RedisProcess::start(options)
            .expect("redis-server must be installed (apt-get install redis-server)");
        Node {
            port: process.port(),
            process,
            role,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        self.process.url()
    }

    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }

    /// SIGKILL: no chance to save or hand anything over.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Start again as it was (same port, directory and arguments; a Sentinel with the
    /// state it had written).
    pub fn restart(&mut self) {
        self.process.restart().expect("redis-server restarts");
    }

    pub fn is_running(&self) -> bool {
        self.process.pid().is_some()
    }

    /// Start a data node again on the same port (with a new, empty directory), with `extra`
    /// arguments instead of the ones it was started with (e.g. `--replicaof`).
    pub fn restart_with(&mut self, extra: &[&str]) {
        assert_eq!(self.role, Role::Data, "restart_with is for data nodes");
        self.process.kill();
        let options = RedisOptions {
            port: Some(self.port),
            ..data_options(extra)
        };
        self.process = RedisProcess::start(options).expect("redis-server restarts");
    }
}

/// The `INFO replication` field `name` of the node on `port`.
pub fn replication_field(port: u16, name: &str) -> Option<String> {
    let info = cli(port, &["INFO", "replication"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

/// A primary and one replica that has finished its first sync.
pub fn primary_and_replica() -> (Node, Node) {
    let primary = Node::start(&[]);
    let replica = Node::start(&["--replicaof", "127.0.0.1", &primary.port.to_string()]);
    wait_until("the replica to sync", || {
        replication_field(replica.port, "master_link_status").as_deref() == Some("up")
    });
    (primary, replica)
}

/// Three Sentinels watching `primary` as `master`, once they have found its replica.
pub fn sentinels(primary: &Node, master: &str, replicas: usize) -> Vec<Node> {
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::sentinel(primary.port, master, 500))
        .collect();
    for s in &nodes {
        wait_until("the sentinels to see the replica and each other", || {
            let info = s.cli(&["SENTINEL", "MASTER", master]);
            let field = |name: &str| {
                let lines: Vec<&str> = info.lines().collect();
                lines
                    .iter()
                    .position(|l| *l == name)
                    .and_then(|i| lines.get(i + 1))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0)
            };
            field("num-slaves") >= replicas && field("num-other-sentinels") >= 2
        });
    }
    nodes
}

/// The `host:port` the Sentinel on `port` names as the primary of `master`.
pub fn sentinel_primary(port: u16, master: &str) -> String {
    cli(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", master]).replace('\n', ":")
}

/// A Redis Cluster of 3 primaries with 1 replica each; failover after ~1 s of silence.
pub struct Cluster {
    pub nodes: Vec<Node>,
}

impl Cluster {
    pub fn start() -> Cluster {
        let nodes: Vec<Node> = (0..6)
            .map(|_| {
                let bus = free_port().to_string();
                Node::start(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "1000",
                    "--cluster-port",
                    &bus,
                ])
            })
            .collect();
        let addrs: Vec<String> = nodes.iter().map(Node::addr).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster { nodes };
        cluster.wait_ok();
        cluster
    }

    /// Wait until every live node says the cluster is ok and every slot has a primary.
    pub fn wait_ok(&self) {
        for n in self.nodes.iter().filter(|n| n.is_running()) {
            wait_until("cluster_state:ok", || {
                let info = n.cli(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            });
        }
    }

    /// `redis+cluster://h1:p1,…` of every node.
    pub fn url(&self) -> String {
        let addrs: Vec<String> = self.nodes.iter().map(Node::addr).collect();
        format!("redis+cluster://{}", addrs.join(","))
    }

    /// Index in `nodes` of the primary that holds `key`'s slot, as a live node sees it.
    pub fn primary_of(&self, key: &str) -> usize {
        self.try_primary_of(key)
            .unwrap_or_else(|| panic!("no live primary holds the slot of {key}"))
    }

    /// [`Self::primary_of`], or `None` while no live primary holds it.
    pub fn try_primary_of(&self, key: &str) -> Option<usize> {
        let live = self
            .nodes
            .iter()
            .find(|n| n.is_running())
            .expect("a live node");
        let slot: u16 = live.cli(&["CLUSTER", "KEYSLOT", key]).parse().ok()?;
        let table = live.cli(&["CLUSTER", "NODES"]);
        for line in table.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            let port: u16 = f[1]
                .split('@')
                .next()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse().ok())?;
            let holds = f[8..].iter().any(|range| {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b)) => (a..=b).contains(&slot),
                    _ => false,
                }
            });
            if holds {
                return self.nodes.iter().position(|n| n.port == port);
            }
        }
        None
    }
}
