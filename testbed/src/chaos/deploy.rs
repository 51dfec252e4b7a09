//! The chaos bed ([`net::CHAOS`]: `mrch-…`, `10.203.77.128/25`) and what runs on it: Redis as
//! people run it (a primary and a replica on hosts of their own, three Sentinels on three
//! more, per docs/scaling.md), the three regions on theirs by the README's multi-machine
//! recipe (its Redis URL replaced by the Sentinels' and `--acks replicas:1` added, as
//! docs/scaling.md says), and the clients hosts (`c1`, `c2`).
//!
//! [`Deployment`] starts and kills them by [`Node`] and asks the Sentinels which node is the
//! primary. Dropping it kills everything and removes the bed; the testbed (`mrtb-…`) is never
//! touched, so both run at once.

use crate::bed::{spawn_in, Options};
use crate::net::{self, Net};
use crate::recipe;
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

    fn all() -> Vec<Node> {
        let mut all = vec![Node::Data(0), Node::Data(1)];
        all.extend((0..3).map(Node::Sentinel));
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
    _lock: Flock<File>,
}

impl Deployment {
    /// Remove a leftover chaos bed, build the hosts, start Redis, the Sentinels (waiting until
    /// they see the replica and each other) and the regions (each waited for).
    pub fn up(options: Options) -> Result<Deployment> {
        host::check()?;
        let lock = host::lock_net(NET)?;
        host::on_signal_cleanup();
        NET.cleanup();
        host::set_active_net(NET, true);
        // A fresh directory: a data node's dump.rdb of an earlier run (written by a replica's
        // full sync) would be loaded at start, and the run's log would not be its own.
        let _ = std::fs::remove_dir_all(&options.log_dir);
        std::fs::create_dir_all(&options.log_dir)?;
        let mut hosts: Vec<(String, u8)> = Node::all()
            .into_iter()
            .map(|n| (n.host(), n.addr().octets()[3] - 128))
            .collect();
        hosts.extend(CLIENTS.iter().map(|(h, n)| (h.to_string(), *n)));
        let hosts: Vec<(&str, u8)> = hosts.iter().map(|(h, n)| (h.as_str(), *n)).collect();
        let mut bed = Deployment {
            regions: region_commands()?,
            options,
            procs: HashMap::new(),
            _lock: lock,
        };
        NET.create(&hosts)?;
        bed.start(Node::Data(0))?;
        bed.start(Node::Data(1))?;
        for i in 0..3 {
            bed.start(Node::Sentinel(i))?;
        }
        bed.wait("the Sentinels to see the replica and each other", || {
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
        })?;
        for r in 0..3 {
            bed.start(Node::Region(r))?;
        }
        Ok(bed)
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
                let mut c = format!(
                    "redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no \
                     --port 6379 --dir {}",
                    dir.display()
                );
                let primary = if self.procs.is_empty() {
                    Some(0)
                } else {
                    self.primary()
                };
                if primary != Some(i) {
                    let other = Node::Data(primary.unwrap_or(1 - i));
                    c.push_str(&format!(" --replicaof {} 6379", other.addr()));
                }
                c
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

/// The README recipe's region commands for this bed: its machine names replaced by the bed's
/// addresses, its Redis URL by the Sentinels', and `--acks replicas:1` added.
fn region_commands() -> Result<Vec<String>> {
    let sentinels = (0..3)
        .map(|i| format!("{}:26379", Node::Sentinel(i).addr()))
        .collect::<Vec<_>>()
        .join(",");
    let url = format!("redis+sentinel://{sentinels}/{MASTER}");
    let steps = recipe::raw_steps(recipe::README)?;
    let machines = [("a.internal", 0), ("b.internal", 1), ("c.internal", 2)];
    let commands: Vec<String> = steps
        .iter()
        .filter(|s| s.command.starts_with("multiregion serve"))
        .map(|s| {
            let c = s.command.replace("redis://redis.internal:6379", &url);
            let c = machines.iter().fold(c, |c, (m, r)| {
                c.replace(m, &Node::Region(*r).addr().to_string())
            });
            format!("{c} --acks replicas:1")
        })
        .collect();
    if commands.len() != 3 || commands.iter().any(|c| !c.contains("redis+sentinel://")) {
        return Err(Error::Recipe(format!(
            "expected three regions on redis://redis.internal:6379, got {commands:?}"
        )));
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regions_run_the_readme_recipe_on_sentinel_with_durable_acks() {
        let c = region_commands().unwrap();
        assert!(
            c[0].starts_with("multiregion serve --region as"),
            "{}",
            c[0]
        );
        assert!(
            c[1].contains("--public-url http://10.203.77.140:4001"),
            "{}",
            c[1]
        );
        for c in &c {
            assert!(c.contains("redis+sentinel://10.203.77.150:26379,10.203.77.151:26379,10.203.77.152:26379/mrs"), "{c}");
            assert!(
                c.ends_with("--acks replicas:1") && !c.contains(".internal"),
                "{c}"
            );
        }
    }
}
