//! `rediss://`: the log over TLS to a `redis-server` that only speaks TLS, with a certificate
//! from a throwaway CA the test makes with openssl; the broker trusts it through
//! `RedisConfig::ca_file` (`--redis-ca FILE`), and refuses the server without it.

#[macro_use]
mod common;
mod redis_topology;

use redis_topology::TlsRedis;
use server_core::broker::{Broker, RedisBroker, RedisConfig};
use server_core::event::{now_micros, NewEvent};

/// With the CA, a `rediss://` broker publishes and reads over TLS; without it (the system's
/// CAs do not know the throwaway one) the connection is refused.
#[tokio::test]
async fn rediss_with_a_private_ca_works_and_is_refused_without_it() {
    let redis = TlsRedis::start();
    let url = redis.url();
    let trusted = RedisConfig {
        prefix: common::unique_prefix(),
        ca_file: Some(redis.ca.clone()),
        ..RedisConfig::new(url.clone())
    };
    let broker = RedisBroker::connect(trusted).await.unwrap();
    let event = NewEvent {
        id: "over-tls".into(),
        channel: "global".into(),
        origin: "test".into(),
        kind: "test".into(),
        payload: server_core::event::payload(&serde_json::json!({ "tls": true })),
        published_at: now_micros(),
        after: None,
    };
    assert_eq!(broker.publish(event).await.unwrap().offset, 1);
    let batch = broker.history("global", 0, 10).await.unwrap();
    assert_eq!(batch.events[0].event.id, "over-tls");
    assert!(
        RedisBroker::connect(RedisConfig::new(url)).await.is_err(),
        "a server signed by an unknown CA is refused"
    );
}
