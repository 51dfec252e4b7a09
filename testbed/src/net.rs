//! The network: per bed, one bridge in the root namespace, one namespace per host, a veth pair
//! from each host to the bridge, all in one half of the project's private /24 that nothing
//! else on the machine uses.
//!
//! Two beds can be up at once on one machine ([`Net`]): the testbed ([`TESTBED`], names
//! `mrtb-…`, `10.203.77.0/25`) and the chaos run ([`CHAOS`], names `mrch-…`,
//! `10.203.77.128/25`). Each has its own bridge with a /25 address, so the root namespace gets
//! two routes that do not overlap, and every host's address is a /25 of its bed: a host never
//! reaches the other bed's hosts. Everything is found by its bed's name prefix, so
//! [`Net::cleanup`] removes what this run of the bed made and what a killed run left behind,
//! and never anything of the other bed. Deleting a namespace deletes its end of the veth pair
//! (and with it the bridge's end) and its iptables rules; the bridge is deleted by name.

use crate::{Error, Result};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The project's private /24: `10.203.77.0/24`, used by nothing else, split into two beds.
pub const SUBNET: [u8; 3] = [10, 203, 77];
/// Every bed's mask: half of [`SUBNET`].
pub const MASK: u8 = 25;

/// One bed's network: its name prefix and its half of [`SUBNET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Net {
    prefix: &'static str,
    /// The last octet of the bed's network address (0 or 128).
    base: u8,
}

/// The testbed: `mrtb-…`, `10.203.77.0/25` (bridge `.1`, hosts `.11`–`.30`).
pub const TESTBED: Net = Net {
    prefix: "mrtb",
    base: 0,
};
/// The chaos run: `mrch-…`, `10.203.77.128/25` (bridge `.129`).
pub const CHAOS: Net = Net {
    prefix: "mrch",
    base: 128,
};

/// Prefix of every namespace and link the testbed makes.
pub const PREFIX: &str = TESTBED.prefix;
/// The testbed's bridge in the root namespace.
pub const BRIDGE: &str = "mrtb-br";
/// The testbed bridge's own address, so the root namespace (a person's browser, the tests)
/// reaches every host.
pub const BRIDGE_ADDR: Ipv4Addr = TESTBED.addr(1);

impl Net {
    /// The prefix of its namespaces and links (`mrtb`, `mrch`).
    pub fn prefix(self) -> &'static str {
        self.prefix
    }

    /// Its bridge in the root namespace, e.g. `mrtb-br`.
    pub fn bridge(self) -> String {
        format!("{}-br", self.prefix)
    }

    /// Host number `n` (1..=126) of the bed: `10.203.77.<base + n>`. Number 1 is the bridge.
    pub const fn addr(self, n: u8) -> Ipv4Addr {
        assert!(n >= 1 && n <= 126, "a /25 has hosts 1..=126");
        Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], self.base + n)
    }

    /// `10.203.77.<base>/25`.
    pub fn cidr(self) -> String {
        format!(
            "{}.{}.{}.{}/{MASK}",
            SUBNET[0], SUBNET[1], SUBNET[2], self.base
        )
    }

    /// The namespace of its host `name`, e.g. `mrtb-as`; also the bridge-side end of the
    /// host's veth pair (at most 15 bytes).
    pub fn netns(self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Make the bridge, the namespaces and the links of `hosts` (name, host number). Call
    /// [`Net::cleanup`] first.
    pub fn create(self, hosts: &[(&str, u8)]) -> Result<()> {
        let bridge = self.bridge();
        let prefix = format!("{}/{MASK}", self.addr(1));
        run("ip", &["link", "add", &bridge, "type", "bridge"])?;
        run("ip", &["addr", "add", &prefix, "dev", &bridge])?;
        // Bridged frames are host-to-host traffic of the bed: keep them out of the root
        // namespace's iptables (br_netfilter), whatever its FORWARD policy is. Older kernels
        // lack the option; then the root's rules apply as they are.
        let _ = run(
            "ip",
            &[
                "link",
                "set",
                &bridge,
                "type",
                "bridge",
                "nf_call_iptables",
                "0",
            ],
        );
        run("ip", &["link", "set", &bridge, "up"])?;
        for (name, n) in hosts {
            let ns = self.netns(name);
            run("ip", &["netns", "add", &ns])?;
            // Created directly with its inner end in the namespace, named eth0 there.
            run(
                "ip",
                &[
                    "link", "add", &ns, "type", "veth", "peer", "name", "eth0", "netns", &ns,
                ],
            )?;
            run("ip", &["link", "set", &ns, "master", &bridge])?;
            run("ip", &["link", "set", &ns, "up"])?;
            let addr = format!("{}/{MASK}", self.addr(*n));
            run_ns(&ns, "ip", &["addr", "add", &addr, "dev", "eth0"])?;
            run_ns(&ns, "ip", &["link", "set", "eth0", "up"])?;
            run_ns(&ns, "ip", &["link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Remove every namespace and link of this bed (this run's or a leftover), killing the
    /// processes inside first; the other bed's are not touched (another prefix). Idempotent;
    /// errors are ignored (nothing there to remove).
    pub fn cleanup(self) {
        for ns in self.existing_namespaces() {
            if let Ok(pids) = run("ip", &["netns", "pids", &ns]) {
                for pid in pids.split_whitespace() {
                    let _ = run("kill", &["-9", pid]);
                }
            }
            let _ = run("ip", &["netns", "delete", &ns]);
        }
        for link in self.existing_links() {
            let _ = run("ip", &["link", "delete", &link]);
        }
        // The kernel removes a deleted namespace's links asynchronously: wait (briefly) until
        // they are gone, so that a new bed can take the same names.
        for _ in 0..100 {
            if self.existing_links().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Namespaces with this bed's prefix that exist now.
    pub fn existing_namespaces(self) -> Vec<String> {
        let mine = format!("{}-", self.prefix);
        run("ip", &["netns", "list"])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&mine))
            .map(str::to_owned)
            .collect()
    }

    /// Links of the root namespace with this bed's prefix (veth ends, the bridge).
    fn existing_links(self) -> Vec<String> {
        let mine = format!("{}-", self.prefix);
        run("ip", &["-o", "link", "show"])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n))
            .filter(|n| n.starts_with(&mine))
            .map(str::to_owned)
            .collect()
    }
}

/// A host of the testbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// Region AS.
    As,
    /// Region US.
    Us,
    /// Region EU.
    Eu,
    /// The Redis host.
    Redis,
    /// The clients (publishers, subscribers).
    Clients,
}

impl Host {
    /// Every host, regions first.
    pub const ALL: [Host; 5] = [Host::As, Host::Us, Host::Eu, Host::Redis, Host::Clients];
    /// The region hosts.
    pub const REGIONS: [Host; 3] = [Host::As, Host::Us, Host::Eu];

    /// Short name: `as`, `us`, `eu`, `redis`, `clients` (the region name for regions).
    pub fn name(self) -> &'static str {
        match self {
            Host::As => "as",
            Host::Us => "us",
            Host::Eu => "eu",
            Host::Redis => "redis",
            Host::Clients => "clients",
        }
    }

    /// The region host called `name`.
    pub fn region(name: &str) -> Option<Host> {
        Host::REGIONS.into_iter().find(|h| h.name() == name)
    }

    /// Its network namespace, e.g. `mrtb-as`.
    pub fn netns(self) -> String {
        TESTBED.netns(self.name())
    }

    /// Its address in the testbed's half of the /24 ([`TESTBED`]).
    pub fn addr(self) -> Ipv4Addr {
        let last = match self {
            Host::As => 11,
            Host::Us => 12,
            Host::Eu => 13,
            Host::Redis => 20,
            Host::Clients => 30,
        };
        TESTBED.addr(last)
    }
}

/// Run a command to completion; a failure carries its stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: format!("{program} {}", args.join(" ")),
            message: format!("could not start it: {e}"),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: format!("{program} {}", args.join(" ")),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run a command inside `host`'s namespace.
pub(crate) fn run_in(host: Host, program: &str, args: &[&str]) -> Result<String> {
    run_ns(&host.netns(), program, args)
}

/// Run a command inside the namespace `ns`.
pub(crate) fn run_ns(ns: &str, program: &str, args: &[&str]) -> Result<String> {
    let mut all: Vec<&str> = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// Make the testbed's bridge, namespaces and links. Call [`cleanup`] first.
pub(crate) fn create() -> Result<()> {
    let hosts = Host::ALL.map(|h| (h.name(), h.addr().octets()[3]));
    TESTBED.create(&hosts)
}

/// Remove every namespace and link of the testbed (this run's or a leftover), killing the
/// processes inside first; the chaos run's ([`CHAOS`]) are not touched. Idempotent.
pub fn cleanup() {
    TESTBED.cleanup()
}

/// Namespaces with the testbed's prefix that exist now.
pub fn existing_namespaces() -> Vec<String> {
    TESTBED.existing_namespaces()
}

/// Drop every packet between `host` and `peer`, in `host`'s namespace, silently: `DROP`, not
/// `REJECT`, so neither side gets a RST or an ICMP error; their TCP connections just go quiet.
pub fn partition(host: Host, peer: Host) -> Result<()> {
    let peer = peer.addr().to_string();
    run_in(
        host,
        "iptables",
        &["-A", "INPUT", "-s", &peer, "-j", "DROP"],
    )?;
    run_in(
        host,
        "iptables",
        &["-A", "OUTPUT", "-d", &peer, "-j", "DROP"],
    )?;
    Ok(())
}

/// Make `host` silent towards every other host (its loopback keeps working).
pub fn isolate(host: Host) -> Result<()> {
    run_in(
        host,
        "iptables",
        &["-A", "INPUT", "!", "-i", "lo", "-j", "DROP"],
    )?;
    run_in(
        host,
        "iptables",
        &["-A", "OUTPUT", "!", "-o", "lo", "-j", "DROP"],
    )?;
    Ok(())
}

/// Remove every rule [`partition`] and [`isolate`] added in `host`.
pub fn heal(host: Host) -> Result<()> {
    run_in(host, "iptables", &["-F", "INPUT"])?;
    run_in(host, "iptables", &["-F", "OUTPUT"])?;
    Ok(())
}

/// Drop every packet between the host of namespace `ns` and `peer`, in that namespace, as
/// [`partition`] does; [`undrop`] removes exactly these two rules, so overlapping faults of one
/// host heal one at a time.
pub fn drop_between(ns: &str, peer: Ipv4Addr) -> Result<()> {
    let peer = peer.to_string();
    run_ns(ns, "iptables", &["-A", "INPUT", "-s", &peer, "-j", "DROP"])?;
    run_ns(ns, "iptables", &["-A", "OUTPUT", "-d", &peer, "-j", "DROP"])?;
    Ok(())
}

/// Remove one pair of rules that [`drop_between`] added.
pub fn undrop(ns: &str, peer: Ipv4Addr) -> Result<()> {
    let peer = peer.to_string();
    run_ns(ns, "iptables", &["-D", "INPUT", "-s", &peer, "-j", "DROP"])?;
    run_ns(ns, "iptables", &["-D", "OUTPUT", "-d", &peer, "-j", "DROP"])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_beds_split_the_24_without_overlap() {
        assert_eq!(TESTBED.cidr(), "10.203.77.0/25");
        assert_eq!(CHAOS.cidr(), "10.203.77.128/25");
        assert_eq!(BRIDGE_ADDR, Ipv4Addr::new(10, 203, 77, 1));
        assert_eq!(TESTBED.bridge(), BRIDGE);
        assert_eq!(CHAOS.addr(1), Ipv4Addr::new(10, 203, 77, 129));
        for h in Host::ALL {
            assert!(
                h.addr().octets()[3] < 128,
                "{h:?} outside the testbed's half"
            );
            assert!(h.netns().starts_with("mrtb-"));
        }
        assert_ne!(TESTBED.prefix(), CHAOS.prefix());
    }
}
