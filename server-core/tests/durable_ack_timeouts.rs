//! `--acks-timeout-ms` longer than the response timeout: a publish's `WAIT` for replicas is
//! waited out in full, on one Redis and on a Cluster, and answered as "not durable yet" (a
//! temporary error, retried by id), never cut short as an unanswered request.

#[macro_use]
mod common;
mod redis_topology;

use common::event;
use redis_topology::{Cluster, Node};
use server_core::broker::{Acks, Broker, RedisBroker, RedisConfig};
use server_core::error::BrokerError;
use std::time::{Duration, Instant};

/// A `WAIT` longer than the 2 s response timeout.
const ACK_TIMEOUT: Duration = Duration::from_millis(3_000);

/// Publish with acks that need more replicas than there are: the `WAIT` runs its full
/// [`ACK_TIMEOUT`] and the answer is `NotDurable`; the connection stays usable (a second
/// publish of the same id is a duplicate, not a new event).
async fn a_long_wait_is_waited_out(kind: &str, url: String, replicas: u32) {
    let config = RedisConfig {
        prefix: common::unique_prefix(),
        acks: Acks::Replicas(replicas),
        ack_timeout: ACK_TIMEOUT,
        ..RedisConfig::new(url)
    };
    assert!(config.response_timeout < ACK_TIMEOUT);
    let broker = RedisBroker::connect(config).await.unwrap();
    let started = Instant::now();
    let first = broker.publish(event("slow-replicas")).await;
    let waited = started.elapsed();
    assert!(
        matches!(first, Err(BrokerError::NotDurable(_))),
        "{kind}: {first:?} after {waited:?}"
    );
    let again = broker.publish(event("slow-replicas")).await;
    match again {
        Err(BrokerError::NotDurable(not_durable)) => {
            assert_eq!(not_durable.offset, 1, "{kind}: {not_durable}");
            assert_eq!(not_durable.waited, ACK_TIMEOUT, "{kind}: {not_durable}");
        }
        other => panic!("{kind}: the retry got {other:?}"),
    }
    eprintln!("{kind}: WAIT {replicas} for {ACK_TIMEOUT:?} answered 'not durable' after {waited:?}; the retry found the event at offset 1");
}

/// One Redis without replicas: `--acks replicas:1` can never be confirmed.
#[tokio::test]
async fn a_long_replica_wait_is_not_cut_short_on_one_redis() {
    let redis = Node::start(&[]);
    a_long_wait_is_waited_out("one redis", redis.url(), 1).await;
}

/// A Cluster with one replica per primary: `--acks replicas:2` can never be confirmed.
#[tokio::test]
async fn a_long_replica_wait_is_not_cut_short_on_a_cluster() {
    let cluster = Cluster::start();
    a_long_wait_is_waited_out("cluster", cluster.url(), 2).await;
}
