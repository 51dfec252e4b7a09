//! The two Redis deployments the chaos run runs on, as docs/scaling.md describes them:
//! [`Topology::Sentinel`] (a primary and a replica, three Sentinels; the default) and
//! [`Topology::Cluster`] (`--cluster`: three primaries with a replica each). How the data
//! nodes start, how the regions reach them (the README recipe's Redis URL replaced), and,
//! whatever the topology, which primary a kill may take and whether its replica took over.

use super::deploy::{redis_cli, Deployment, Node, MASTER};
use crate::recipe;
use crate::{Error, Result};
use std::path::Path;

/// Which Redis deployment the bed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Topology {
    /// `r1` primary, `r2` replica, Sentinels `s1`..`s3`.
    #[default]
    Sentinel,
    /// `r1`..`r6`: three primaries and three replicas, `cluster-node-timeout` 1 s.
    Cluster,
}

impl Topology {
    /// How many Redis data nodes it has.
    pub fn data_nodes(self) -> usize {
        match self {
            Topology::Sentinel => 2,
            Topology::Cluster => 6,
        }
    }

    /// How many Sentinels it has.
    pub fn sentinels(self) -> usize {
        match self {
            Topology::Sentinel => 3,
            Topology::Cluster => 0,
        }
    }

    /// The Redis URL the regions are given.
    pub fn url(self) -> String {
        let list = |nodes: Vec<Node>| {
            nodes
                .iter()
                .map(|n| format!("{}:{}", n.addr(), n.port()))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Topology::Sentinel => format!(
                "redis+sentinel://{}/{MASTER}",
                list((0..3).map(Node::Sentinel).collect())
            ),
            Topology::Cluster => {
                format!("redis+cluster://{}", list((0..6).map(Node::Data).collect()))
            }
        }
    }

    /// The command of data node `i` in `dir`; with Sentinel, a replica of `primary` unless it
    /// is `primary` (a Cluster node finds its role in its `nodes.conf`).
    pub fn data_command(self, i: usize, dir: &Path, primary: Option<usize>) -> String {
        let mut c = format!(
            "redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no \
             --port 6379 --dir {}",
            dir.display()
        );
        match self {
            Topology::Sentinel if primary != Some(i) => {
                let other = Node::Data(primary.unwrap_or(1 - i));
                c.push_str(&format!(" --replicaof {} 6379", other.addr()));
            }
            Topology::Sentinel => {}
            Topology::Cluster => c.push_str(
                " --cluster-enabled yes --cluster-config-file nodes.conf \
                 --cluster-node-timeout 1000",
            ),
        }
        c
    }
}

impl Deployment {
    /// Make the Cluster of the six data nodes (each primary's replica on another host) and
    /// wait until every node says it is whole.
    pub(super) fn create_cluster(&self) -> Result<()> {
        let nodes: Vec<String> = (0..6)
            .map(|i| format!("{}:6379", Node::Data(i).addr()))
            .collect();
        let mut args = vec!["60", "redis-cli", "--cluster", "create"];
        args.extend(nodes.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
        crate::net::run("timeout", &args)?;
        self.wait("every Cluster node to be whole", || {
            (0..6).all(|i| {
                redis_cli(Node::Data(i), &["CLUSTER", "INFO"])
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            })
        })
    }

    /// A primary a kill may take now, with the replica that takes over: its replica must be
    /// in sync (Sentinel: the one primary; Cluster: the first such shard's).
    pub fn killable_primary(&self) -> std::result::Result<(usize, usize), String> {
        match self.topology() {
            Topology::Sentinel => {
                let p = self.primary().ok_or("no Sentinel names a primary")?;
                Ok((p, 1 - p))
            }
            Topology::Cluster => {
                let primaries: Vec<usize> = (0..6).filter(|i| self.role(*i) == "master").collect();
                primaries
                    .into_iter()
                    .find_map(|p| {
                        let r = (0..6).find(|r| self.replica_of(*r) == Some(p))?;
                        self.replica_synced(r).then_some((p, r))
                    })
                    .ok_or_else(|| "no primary has a replica in sync".into())
            }
        }
    }

    /// Whether data node `replica` has taken over from the primary that was killed.
    pub fn promoted(&self, replica: usize) -> bool {
        match self.topology() {
            Topology::Sentinel => self.primary() == Some(replica),
            Topology::Cluster => self.role(replica) == "master",
        }
    }

    /// Data node `i`'s role (`master`, `slave`), or empty when it does not answer.
    fn role(&self, i: usize) -> String {
        redis_cli(Node::Data(i), &["ROLE"])
            .ok()
            .and_then(|r| r.lines().next().map(|l| l.trim().to_owned()))
            .unwrap_or_default()
    }

    /// The data node data node `r` replicates, when it is a replica.
    fn replica_of(&self, r: usize) -> Option<usize> {
        let info = redis_cli(Node::Data(r), &["INFO", "replication"]).ok()?;
        let host = info
            .lines()
            .find_map(|l| l.trim().strip_prefix("master_host:"))?
            .to_owned();
        (0..6).find(|p| Node::Data(*p).addr().to_string() == host)
    }
}

/// The README recipe's region commands for this bed: its machine names replaced by the bed's
/// addresses, its Redis URL by `topology`'s, and `--acks replicas:1` added.
pub fn region_commands(topology: Topology) -> Result<Vec<String>> {
    let url = topology.url();
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
    if commands.len() != 3 || commands.iter().any(|c| !c.contains(&url)) {
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
        let c = region_commands(Topology::Sentinel).unwrap();
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

    #[test]
    fn on_the_cluster_the_regions_are_given_every_node() {
        for c in region_commands(Topology::Cluster).unwrap() {
            assert!(c.contains("redis+cluster://10.203.77.148:6379,10.203.77.149:6379,10.203.77.150:6379,10.203.77.151:6379,10.203.77.152:6379,10.203.77.153:6379 "), "{c}");
        }
    }
}
