//! The chaos bed ([`net::CHAOS`]: `mrch-…`, `10.203.77.128/25`) and what runs on it: Redis as
//! people run it (a primary and a replica on hosts of their own, three Sentinels on three
//! more, per docs/scaling.md), the three regions on theirs by the README's multi-machine
//! recipe (its Redis URL replaced by the Sentinels' and `--acks replicas:1` added, as
//! docs/scaling.md says), and the clients hosts (`c1`, `c2`).
//!
//! [`Deployment`] starts and kills them by [`Node`] and asks the Sentinels which node is the
//! primary. Dropping it kills everything and removes the bed; the testbed (`mrtb-…`) is never
//! touched, so both run at once.

use super::topology::{region_commands, Topology};
use crate::bed::{spawn_in, Options};
use crate::net::{self, Net};
use crate::{host, http, Error, Result};
use nix::fcntl::Flock;
use std::collections::HashMap;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// The bed.
pub const NET: Net = net::CHAOS;
/// The Sentinels' name for the primary.
pub const MASTER: &str = "mrs";
/// The Sentinels declare the primary down after this long without an answer.
pub const DOWN_AFTER_MS: u64 = 1000;
/// How long a node may take to answer after it starts.
const READY: Duration = Duration::from_secs(20);

/// A server process of the bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// Region `as`, `us`, `eu` (0, 1, 2).
    Region(usize),
    /// Redis data node `r1`, `r2` (0 starts as the primary).
    Data(usize),
    /// Sentinel `s1`..`s3`.
    Sentinel(usize),
}

impl Node {
    /// Its host's name.
    pub fn host(self) -> String {
        match self {
            Node::Region(r) => super::nemesis::REGIONS[r].to_owned(),
            Node::Data(i) => format!("r{}", i + 1),
            Node::Sentinel(i) => format!("s{}", i + 1),
        }
    }

    /// Its host's address.
    pub fn addr(self) -> Ipv4Addr {
        NET.addr(match self {
            Node::Region(r) => 11 + r as u8,
            Node::Data(i) => 20 + i as u8,
            Node::Sentinel(i) => 22 + i as u8,
        })
    }

    /// Its port.
    pub fn port(self) -> u16 {
        match self {
            Node::Region(r) => 4000 + r as u16,
            Node::Data(_) => 6379,
            Node::Sentinel(_) => 26379,
        }
    }

    /// Its host's namespace.
    pub fn netns(self) -> String {
        NET.netns(&self.host())
    }

    fn all(topology: Topology) -> Vec<Node> {
        let mut all: Vec<Node> = (0..topology.data_nodes()).map(Node::Data).collect();
        all.extend((0..topology.sentinels()).map(Node::Sentinel));
        all.extend((0..3).map(Node::Region));
        all
    }
}

/// The clients hosts.
pub const CLIENTS: [(&str, u8); 2] = [("c1", 30), ("c2", 31)];

/// The namespace of clients host `c` (0, 1).
pub fn clients_netns(c: usize) -> String {
    NET.netns(CLIENTS[c].0)
}

/// The address of clients host `c`.
pub fn clients_addr(c: usize) -> Ipv4Addr {
    NET.addr(CLIENTS[c].1)
}

/// Where region `r` listens.
pub fn region_addr(r: usize) -> SocketAddr {
    SocketAddr::from((Node::Region(r).addr(), Node::Region(r).port()))
}

/// The running bed.
pub struct Deployment {
    options: Options,
    procs: HashMap<Node, Child>,
    regions: Vec<String>,
    topology: Topology,
    _lock: Flock<File>,
}

impl Deployment {
    /// Remove a leftover chaos bed, build the hosts, start Redis as `topology` has it (the
    /// Sentinels waited for until they see the replica and each other; the Cluster until it
    /// is whole) and the regions (each waited for).
    pub fn up(options: Options, topology: Topology) -> Result<Deployment> {
        host::check()?;
        let lock = host::lock_net(NET)?;
        host::on_signal_cleanup();
        NET.cleanup();
        host::set_active_net(NET, true);
        // A fresh directory: a data node's dump.rdb of an earlier run (written by a replica's
        // full sync) would be loaded at start, and the run's log would not be its own.
        let _ = std::fs::remove_dir_all(&options.log_dir);
        std::fs::create_dir_all(&options.log_dir)?;
        let mut hosts: Vec<(String, u8)> = Node::all(topology)
            .into_iter()
            .map(|n| (n.host(), n.addr().octets()[3] - 128))
            .collect();
        hosts.extend(CLIENTS.iter().map(|(h, n)| (h.to_string(), *n)));
        let hosts: Vec<(&str, u8)> = hosts.iter().map(|(h, n)| (h.as_str(), *n)).collect();
        let mut bed = Deployment {
            regions: region_commands(topology)?,
            topology,
            options,
            procs: HashMap::new(),
            _lock: lock,
        };
        NET.create(&hosts)?;
        for i in 0..topology.data_nodes() {
            bed.start(Node::Data(i))?;
        }
        if topology == Topology::Cluster {
            bed.create_cluster()?;
        } else {
            bed.sentinels_up()?;
        }
        for r in 0..3 {
            bed.start(Node::Region(r))?;
        }
        Ok(bed)
    }

    /// Start the Sentinels and wait until they see the replica and each other.
    fn sentinels_up(&mut self) -> Result<()> {
        for i in 0..3 {
            self.start(Node::Sentinel(i))?;
        }
        self.wait("the Sentinels to see the replica and each other", || {
            (0..3).all(|i| {
                let info = sentinel(i, &["SENTINEL", "MASTER", MASTER]).unwrap_or_default();
                let field = |k: &str| -> u64 {
                    let lines: Vec<&str> = info.lines().collect();
                    lines
                        .iter()
                        .position(|l| *l == k)
                        .and_then(|p| lines.get(p + 1))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0)
                };
                field("num-slaves") >= 1 && field("num-other-sentinels") >= 2
            })
        })
    }

    /// The Redis deployment it runs.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// The regions' token.
    pub fn token(&self) -> &str {
        &self.options.token
    }

    /// The command region `r` runs.
    pub fn region_command(&self, r: usize) -> &str {
        &self.regions[r]
    }

    /// Start `node` and wait until it answers. A data node starts as a replica of the other
    /// one when the Sentinels name that one the primary (so `r1` is the primary only at
    /// first), with no data of its own.
    pub fn start(&mut self, node: Node) -> Result<()> {
        let log = self.spawn(node)?;
        self.wait_ready(node, &log)
    }

    /// Start `node` without waiting for it: what a supervisor does (`multiregion serve` exits
    /// at start when it cannot reach Redis, e.g. while its host is partitioned; the chaos
    /// run's supervisor starts it again until it stays up, as `Restart=always` would).
    pub fn spawn(&mut self, node: Node) -> Result<std::path::PathBuf> {
        let dir = self.dir(node);
        std::fs::create_dir_all(&dir)?;
        let command = match node {
            Node::Region(r) => self.regions[r].clone(),
            Node::Data(i) => {
                // A restarted node comes back empty and syncs from the primary, unless a
                // restore put a snapshot in its place (`snapshot.rs`).
                let (dump, restore) = (dir.join("dump.rdb"), dir.join(super::snapshot::RESTORE));
                if std::fs::rename(&restore, &dump).is_err() {
                    let _ = std::fs::remove_file(&dump);
                }
                let primary = if self.procs.is_empty() {
                    Some(0)
                } else if self.topology == Topology::Sentinel {
                    self.primary()
                } else {
                    None
                };
                self.topology.data_command(i, &dir, primary)
            }
            Node::Sentinel(_) => {
                let conf = dir.join("sentinel.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "port 26379\nbind 0.0.0.0\nprotected-mode no\n\
                         sentinel monitor {MASTER} {} 6379 2\n\
                         sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n\
                         sentinel failover-timeout {MASTER} 3000\n\
                         sentinel parallel-syncs {MASTER} 1\n",
                        Node::Data(0).addr()
                    ),
                )?;
                format!("redis-server {} --sentinel", conf.display())
            }
        };
        let log = self.options.log_dir.join(format!("{}.log", node.host()));
        let child = spawn_in(&node.netns(), &command, &self.options, &log)?;
        self.procs.insert(node, child);
        Ok(log)
    }

    /// The directory `node` runs in (a data node's `--dir`).
    pub fn dir(&self, node: Node) -> std::path::PathBuf {
        self.options.log_dir.join(node.host())
    }

    /// Whether region `r` answers `/health`.
    pub fn answers(&self, r: usize) -> bool {
        http::get(region_addr(r), "/health").is_ok()
    }

    fn wait_ready(&mut self, node: Node, log: &std::path::Path) -> Result<()> {
        let deadline = Instant::now() + READY;
        loop {
            let ready = match node {
                Node::Region(r) => http::get(region_addr(r), "/health").is_ok(),
                _ => TcpStream::connect_timeout(
                    &SocketAddr::from((node.addr(), node.port())),
                    Duration::from_millis(500),
                )
                .is_ok(),
            };
            if ready {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.procs.get_mut(&node).map(Child::try_wait) {
                self.procs.remove(&node);
                return Err(Error::NotReady(format!(
                    "{} exited ({status}) at start; see {}",
                    node.host(),
                    log.display()
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "{} did not answer within {READY:?}; see {}",
                    node.host(),
                    log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL `node` (no chance to close anything) and reap it.
    pub fn kill(&mut self, node: Node) {
        if let Some(mut c) = self.procs.remove(&node) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether `node`'s process is running.
    pub fn running(&mut self, node: Node) -> bool {
        self.procs
            .get_mut(&node)
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// `node`'s pid, while it runs.
    pub fn pid(&self, node: Node) -> Option<u32> {
        self.procs.get(&node).map(Child::id)
    }

    /// The data node the Sentinels name the primary (the first that answers).
    pub fn primary(&self) -> Option<usize> {
        (0..3).find_map(|i| {
            let out = sentinel(i, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER]).ok()?;
            let ip = out.lines().next()?.trim().to_owned();
            (0..2).find(|d| Node::Data(*d).addr().to_string() == ip)
        })
    }

    /// Whether data node `i` is a replica whose link to its primary is up.
    pub fn replica_synced(&self, i: usize) -> bool {
        redis_cli(Node::Data(i), &["INFO", "replication"])
            .is_ok_and(|info| info.contains("role:slave") && info.contains("master_link_status:up"))
    }

    /// Set region `r`'s simulated link to Redis (`PUT /sim`).
    pub fn set_sim(&self, r: usize, latency_ms: u64, jitter_ms: u64) -> Result<()> {
        let body = format!("{{\"latency_ms\":{latency_ms},\"jitter_ms\":{jitter_ms}}}");
        http::put(region_addr(r), "/sim", &self.options.token, &body).map(|_| ())
    }

    /// Poll `done` every 100 ms for at most [`READY`].
    pub fn wait(&self, what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
        let deadline = Instant::now() + READY;
        while !done() {
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!("waited {READY:?} for {what}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for (_, mut c) in self.procs.drain() {
            let _ = c.kill();
            let _ = c.wait();
        }
        NET.cleanup();
        host::set_active_net(NET, false);
    }
}

/// `redis-cli` against `node` from the root namespace, bounded by `timeout`.
pub(super) fn redis_cli(node: Node, args: &[&str]) -> Result<String> {
    let (h, p) = (node.addr().to_string(), node.port().to_string());
    let mut all = vec!["3", "redis-cli", "-h", &h, "-p", &p, "--raw"];
    all.extend_from_slice(args);
    net::run("timeout", &all)
}

fn sentinel(i: usize, args: &[&str]) -> Result<String> {
    redis_cli(Node::Sentinel(i), args)
}
