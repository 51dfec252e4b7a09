//! Test helpers for the regional servers, shared by server-core's tests, the CLI's tests, the
//! bench and the desktop crate. A dev-dependency only: nothing here reaches a release binary.
//!
//! # Layout
//! - [`RedisServer`] and the broker constructors: a `redis-server` of the test's own (a thin
//!   panicking face over [`redis_process::RedisProcess`]), and brokers on it.
//! - [`Regions`]: regions on ephemeral loopback ports.
//! - [`Client`]: a protocol-level WebSocket client; [`assert_dense_in_order`].
//! - [`publish_until_acked`] and [`spawn_publishers`]: publishing as a client, retrying by
//!   id; [`event`]: the plain test event.
//! - [`Hooked`]: a broker passing every call on, with faults a test switches on.
//! - [`http`]: requests to a region's HTTP API through `reqwest`.
//! - [`Watcher`]: a client that keeps the members of a channel from its presence frames.
//! - [`with_both_brokers!`]: run one scenario on the embedded broker and on Redis.

mod brokers;
mod client;
mod hooked;
pub mod http;
mod macros;
mod presence;
mod publish;
mod regions;

pub use brokers::{
    memory_broker, redis_broker, redis_broker_with_prefix, unique_prefix, RedisServer,
};
pub use client::{assert_dense_in_order, Client};
pub use hooked::Hooked;
pub use http::{http_get, http_get_json};
pub use presence::Watcher;
pub use publish::{
    event, event_on, join_publishers, publish_until_acked, publish_until_acked_on,
    spawn_publishers, Acked, PublishReport,
};
pub use regions::Regions;
use std::time::Duration;

/// How long a test waits for something that should happen promptly before failing.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    redis_process::free_port().expect("a free loopback port")
}
