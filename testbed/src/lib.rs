//! A testbed of real hosts on this machine: Linux network namespaces joined by one bridge, one
//! host per region (`as`, `us`, `eu`), one for Redis and one for the clients, each with its own
//! address in `10.203.77.0/25` (the other half of the /24 is the chaos run's bed). The regions run as separate `multiregion serve` processes in
//! their hosts and Redis as `redis-server` in its own, started by exactly the README's
//! multi-machine recipe. Faults are real: packets dropped silently by iptables, processes
//! killed with SIGKILL.
//!
//! [`Testbed::up`] builds it (after removing a leftover of a killed run); dropping the
//! [`Testbed`] removes it, also when a test panics; Ctrl-C (SIGINT, SIGTERM, SIGHUP) removes it
//! and exits. Nothing is left: the namespaces (with their links and iptables rules), the
//! bridge and every process in them go. Traffic goes only to the testbed's addresses and to
//! loopback.
//!
//! It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for `ip netns`). Without it, [`for_test`]
//! fails the test with the reason; a developer who is not root may set
//! `MULTIREGION_TESTBED=skip` to skip the testbed tests on purpose (ignored when `CI` is set).
//!
//! # Layout
//! - [`net`]: hosts, addresses, namespaces, bridge, partitions and heals.
//! - [`recipe`]: the README's recipe as commands per host.
//! - [`host`]: the privilege check, the cross-process lock, the Ctrl-C cleanup.
//! - `bed`: [`Testbed`], the running testbed and its processes.
//! - `http`: the bounded, blocking `GET` of a region's API that [`Testbed::health`] and
//!   [`Testbed::get`] make (and why it is not testkit's).
//! - [`load`]: publishers and subscribers in the clients host that count every event.
//! - [`socket`]: their WebSocket connection to a region, every wait bounded.
//! - [`report`]: what they recorded, and the counts a fault test asserts.
//! - [`chaos`]: `cargo xtask chaos`, a seeded schedule of overlapping faults on a bed of its
//!   own (Sentinel, three regions, clients) while every region publishes, and a checker over
//!   the recorded history.
//! - [`crowd`]: named members and presence watchers in the clients host.
//! - [`presence`]: what they recorded, the truly live members, and the counts a presence test
//!   asserts.

mod bed;
pub mod chaos;
pub mod crowd;
pub mod host;
mod http;
pub mod load;
pub mod net;
pub mod presence;
pub mod recipe;
pub mod report;
pub mod socket;

pub use bed::{for_test, region_addr, Options, Testbed};
pub use net::Host;

/// Why the testbed could not be built or driven.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not allowed to make namespaces.
    #[error("the testbed needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, for `ip netns` and iptables): {0}")]
    NoPrivilege(String),
    /// A tool is missing.
    #[error("`{0}` is not installed: run `cargo xtask setup test` (it installs iproute2, iptables and redis-server)")]
    Missing(&'static str),
    /// A command failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command line.
        command: String,
        /// Its stderr, or why it could not start.
        message: String,
    },
    /// The README's recipe could not be read.
    #[error("README recipe: {0}")]
    Recipe(String),
    /// A host did not come up in time.
    #[error("{0}")]
    NotReady(String),
    /// Other I/O.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Result of testbed operations.
pub type Result<T> = std::result::Result<T, Error>;
