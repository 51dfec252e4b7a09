//! The network: one bridge in the root namespace, one namespace per host, a veth pair from each
//! host to the bridge, all in one private /24 that nothing else on the machine uses.
//!
//! Everything is found by name (the `mrtb` prefix), so the same [`cleanup`] removes what this
//! run made and what a killed run left behind. Deleting a namespace deletes its end of the veth
//! pair (and with it the bridge's end) and its iptables rules; the bridge is deleted by name.

use crate::{Error, Result};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// Prefix of every namespace and link the testbed makes.
pub const PREFIX: &str = "mrtb";
/// The bridge in the root namespace.
pub const BRIDGE: &str = "mrtb-br";
/// The testbed's /24: `10.203.77.0/24`, used by nothing else.
pub const SUBNET: [u8; 3] = [10, 203, 77];
/// The bridge's own address, so the root namespace (a person's browser, the tests) reaches
/// every host.
pub const BRIDGE_ADDR: Ipv4Addr = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], 1);

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
        format!("{PREFIX}-{}", self.name())
    }

    /// Its address in the testbed's /24.
    pub fn addr(self) -> Ipv4Addr {
        let last = match self {
            Host::As => 11,
            Host::Us => 12,
            Host::Eu => 13,
            Host::Redis => 20,
            Host::Clients => 30,
        };
        Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], last)
    }

    /// The bridge-side end of its veth pair, e.g. `mrtb-as-br` (at most 15 bytes).
    fn veth(self) -> String {
        format!("{PREFIX}-{}", self.name())
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
    let ns = host.netns();
    let mut all: Vec<&str> = vec!["netns", "exec", ns.as_str(), program];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// Make the bridge, the namespaces and the links. Call [`cleanup`] first.
pub(crate) fn create() -> Result<()> {
    let prefix = format!("{BRIDGE_ADDR}/24");
    run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    run("ip", &["addr", "add", &prefix, "dev", BRIDGE])?;
    // Bridged frames are host-to-host traffic of the testbed: keep them out of the root
    // namespace's iptables (br_netfilter), whatever its FORWARD policy is. Older kernels
    // lack the option; then the root's rules apply as they are.
    let _ = run(
        "ip",
        &[
            "link",
            "set",
            BRIDGE,
            "type",
            "bridge",
            "nf_call_iptables",
            "0",
        ],
    );
    run("ip", &["link", "set", BRIDGE, "up"])?;
    for host in Host::ALL {
        let ns = host.netns();
        let veth = host.veth();
        run("ip", &["netns", "add", &ns])?;
        // Created directly with its inner end in the namespace, named eth0 there.
        run(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        )?;
        run("ip", &["link", "set", &veth, "master", BRIDGE])?;
        run("ip", &["link", "set", &veth, "up"])?;
        let addr = format!("{}/24", host.addr());
        run_in(host, "ip", &["addr", "add", &addr, "dev", "eth0"])?;
        run_in(host, "ip", &["link", "set", "eth0", "up"])?;
        run_in(host, "ip", &["link", "set", "lo", "up"])?;
    }
    Ok(())
}

/// Remove every namespace and link of the testbed (this run's or a leftover), killing the
/// processes inside first. Idempotent; errors are ignored (nothing there to remove).
pub fn cleanup() {
    for ns in existing_namespaces() {
        if let Ok(pids) = run("ip", &["netns", "pids", &ns]) {
            for pid in pids.split_whitespace() {
                let _ = run("kill", &["-9", pid]);
            }
        }
        let _ = run("ip", &["netns", "delete", &ns]);
    }
    for host in Host::ALL {
        let _ = run("ip", &["link", "delete", &host.veth()]);
    }
    let _ = run("ip", &["link", "delete", BRIDGE]);
    // The kernel removes a deleted namespace's links asynchronously: wait (briefly) until
    // they are gone, so that a new testbed can take the same names.
    for _ in 0..100 {
        let links = run("ip", &["-o", "link", "show"]).unwrap_or_default();
        if !links.contains(&format!("{PREFIX}-")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Namespaces with the testbed's prefix that exist now.
pub fn existing_namespaces() -> Vec<String> {
    run("ip", &["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{PREFIX}-")))
        .map(str::to_owned)
        .collect()
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
