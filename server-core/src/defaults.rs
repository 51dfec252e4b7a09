//! The defaults, in one place: the CLI's flags, the desktop, the bench and the test kit read
//! them from here.
//!
//! [`RegionConfig::new`](crate::region::RegionConfig::new) and
//! [`RedisConfig::new`](crate::broker::RedisConfig::new) are built from these; a unit test
//! below keeps them so.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The default regions and their ports (`multiregion serve`, the desktop).
pub const REGIONS: [(&str, u16); 3] = [("as", 4000), ("us", 4001), ("eu", 4002)];

/// Where regions listen unless told otherwise: loopback only.
pub const BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The Redis tried when none is configured.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// How long the Redis at [`REDIS_URL`] has to answer before it is skipped.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a Redis URL the user gave has to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Key prefix of the log in Redis (separate logs can share one Redis).
pub const REDIS_PREFIX: &str = "mrs";

/// Events kept in each partition's history (and ids kept for deduplication), in either
/// broker.
pub const HISTORY: usize = 10_000;

/// Partitions of the log (`--partitions`): each one ordered log with a blocking reader per
/// region, spread over a Redis Cluster's shards. 12 splits evenly over 1, 2, 3, 4 or 6
/// shards.
pub const PARTITIONS: u16 = 12;

/// How long a publish waits for its replicas with `--acks replicas:N`.
pub const ACKS_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a Redis request may wait for an answer before it fails as unavailable.
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Events a client may fall behind before it is disconnected as a slow consumer.
pub const CLIENT_QUEUE: usize = 4096;

/// How long one frame may take to go out before the client counts as slow.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Sustained publishes per second allowed per connection.
pub const PUBLISH_RATE: u32 = 1000;

/// Publishes allowed in one burst per connection.
pub const PUBLISH_BURST: u32 = 2000;

/// Resumes that may read history at once; more wait their turn.
pub const CONCURRENT_REPLAYS: usize = 16;

/// How often a region pings each WebSocket client; one that answers nothing for two intervals
/// is dropped as dead.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);

/// How often a region renews its presence lease (leases last three intervals).
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(1);

/// Frames one connection may have unanswered (publishes in flight, replies not yet sent).
pub const PUBLISH_PIPELINE: usize = 256;

/// Batches of one connection's publishes at the broker at once.
pub const PUBLISH_BATCHES: usize = 4;

/// How long a slow consumer gets to read why it is being disconnected.
pub const SLOW_GRACE: Duration = Duration::from_secs(10);

/// Clients one region holds at most (WebSocket and Socket.IO together); more are refused
/// with 503 `too_many_connections`. Generous: an idle client costs a few KiB.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Most fan-out frames written to one client socket with one flush: frames already waiting in
/// the client's queue go out together (one write syscall instead of one per frame, which is
/// what dominates the fan-out's CPU time under load); bounded so one client's burst cannot
/// hold its task, and the write deadline, for long.
pub const WRITE_BATCH: usize = 64;

/// The initial read and write buffer of each WebSocket, in bytes: an idle connection should
/// cost a few KiB, not the transport's 128 KiB default; they grow for the rare large message.
pub const SOCKET_BUFFER: usize = 8 * 1024;

/// Default port of a region: its place in [`REGIONS`] counted from `base`; a region not in
/// [`REGIONS`] gets the port after them, by its `index` on the command line.
pub fn port(name: &str, base: u16, index: usize) -> u16 {
    let i = REGIONS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(REGIONS.len() + index);
    base.saturating_add(i as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::RedisConfig;
    use crate::region::RegionConfig;

    /// The config constructors use these values (until they read them from here).
    #[test]
    fn the_constructors_agree() {
        let r = RegionConfig::new("x");
        assert_eq!(r.clients.client_queue, CLIENT_QUEUE);
        assert_eq!(r.clients.write_timeout.get(), WRITE_TIMEOUT);
        assert_eq!(r.publishing.publish_rate, PUBLISH_RATE);
        assert_eq!(r.publishing.publish_burst, PUBLISH_BURST);
        assert_eq!(r.clients.concurrent_replays, CONCURRENT_REPLAYS);
        assert_eq!(r.clients.max_connections, MAX_CONNECTIONS);
        let c = RedisConfig::new(REDIS_URL);
        assert_eq!(c.prefix, REDIS_PREFIX);
        assert_eq!(c.history, HISTORY);
        assert_eq!(c.response_timeout, REDIS_RESPONSE_TIMEOUT);
    }

    /// Known regions keep their place; others follow them in command-line order.
    #[test]
    fn region_ports() {
        assert_eq!(port("as", 4000, 5), 4000);
        assert_eq!(port("eu", 5000, 0), 5002);
        assert_eq!(port("sa", 4000, 1), 4004);
    }
}
