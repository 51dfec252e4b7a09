//! The quiet case, on every kind of Redis we document (one server, Sentinel, Cluster, TLS):
//! three regions left idle for longer than every timeout on their path (the blocking read's
//! 2 s wait and 4 s response timeout, the feed's 5 s stall limit, the 10 s client ping) stay
//! ready and connected the whole time, count no broker error and no feed reconnect, and the
//! first event after the quiet spell reaches every region at once (its latency is printed;
//! no backoff stands between it and the clients, which the counters prove).

#[macro_use]
mod common;
mod redis_topology;
#[path = "metrics/scrape.rs"]
mod scrape;

use common::{http, Client, Regions};
use redis_topology::{primary_and_replica, sentinels, Cluster, Node, TlsRedis};
use scrape::Scrape;
use server_core::broker::{RedisBroker, RedisConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ServerFrame;

const REGIONS: [&str; 3] = ["as", "us", "eu"];

/// Longer than every timeout on an idle region's path: 6 blocking reads (2 s each), the
/// reader's 4 s response timeout, the 5 s stall limit and the 10 s ping interval.
const IDLE: Duration = Duration::from_secs(12);

/// How often `/ready` and `/health` are sampled while idle.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Counters that must not move while nothing happens.
const QUIET_COUNTERS: [(&str, &[(&str, &str)]); 5] = [
    ("multiregion_broker_errors_total", &[("operation", "read")]),
    (
        "multiregion_broker_errors_total",
        &[("operation", "history")],
    ),
    (
        "multiregion_broker_errors_total",
        &[("operation", "publish")],
    ),
    // The presence lease is renewed every second while idle.
    (
        "multiregion_broker_errors_total",
        &[("operation", "presence")],
    ),
    ("multiregion_feed_reconnects_total", &[]),
];

/// Three regions on `config`'s Redis, idle for [`IDLE`] with a client on each, then one
/// event published in AS; `kind` names the deployment in what is printed.
async fn idle_regions_stay_ready(kind: &str, config: RedisConfig) {
    let broker = RedisBroker::connect(config).await.unwrap();
    let regions = Regions::start(&REGIONS, Arc::new(broker)).await;
    let mut clients = regions.clients(&REGIONS, 1).await;
    let started = Instant::now();
    let mut samples = 0;
    while started.elapsed() < IDLE {
        for name in REGIONS {
            let addr = regions.addr(name);
            let (status, body) = common::http_get(addr, "/ready", &[]).await;
            assert_eq!(
                status,
                200,
                "{kind}: {name} not ready after {:?} idle: {body}",
                started.elapsed()
            );
            let health: wire::Health = common::http_get_json(addr, "/health").await;
            assert!(
                health.connected,
                "{kind}: {name} says it is disconnected after {:?} idle",
                started.elapsed()
            );
        }
        samples += 1;
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    for name in REGIONS {
        let scrape = metrics(&regions, name).await;
        for (metric, labels) in QUIET_COUNTERS {
            assert_eq!(
                scrape.value(name, metric, labels),
                0.0,
                "{kind}: {name} counted {metric}{labels:?} while idle"
            );
        }
    }
    let first = first_event_everywhere(&mut clients, "after-idle").await;
    let second = first_event_everywhere(&mut clients, "warm").await;
    for name in REGIONS {
        let scrape = metrics(&regions, name).await;
        for (metric, labels) in QUIET_COUNTERS {
            assert_eq!(scrape.value(name, metric, labels), 0.0, "{kind}: {name}");
        }
    }
    eprintln!(
        "{kind}: idle {IDLE:?}, /ready 200 and connected in all {samples} samples of 3 regions, \
         0 broker errors, 0 feed reconnects; first event after idle reached as/us/eu in \
         {first:?}, the next one in {second:?}"
    );
}

async fn metrics(regions: &Regions, name: &str) -> Scrape {
    let r = http::request(http::Method::GET, regions.addr(name), "/metrics", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    Scrape::parse(&r.body)
}

/// Publish `id` from the first client (AS) and wait for the event on every client; the time
/// from the send to each client's copy, in region order.
async fn first_event_everywhere(clients: &mut [Client], id: &str) -> Vec<Duration> {
    let sent = Instant::now();
    clients[0].publish(id).await;
    let mut took = Vec::new();
    for c in clients.iter_mut() {
        loop {
            if let ServerFrame::Event(e) = c.next().await {
                if e.id == id {
                    took.push(sent.elapsed());
                    break;
                }
            }
        }
    }
    took
}

fn config(url: String) -> RedisConfig {
    RedisConfig {
        prefix: common::unique_prefix(),
        ..RedisConfig::new(url)
    }
}

/// One `redis-server`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_regions_stay_ready_on_one_redis() {
    let redis = Node::start(&[]);
    idle_regions_stay_ready("one redis", config(redis.url())).await;
}

/// A primary, a replica and three Sentinels (`redis+sentinel://…/mrs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_regions_stay_ready_under_sentinel() {
    let (primary, _replica) = primary_and_replica();
    let sentinels = sentinels(&primary, "mrs", 1);
    let list: Vec<String> = sentinels.iter().map(Node::addr).collect();
    let url = format!("redis+sentinel://{}/mrs", list.join(","));
    idle_regions_stay_ready("sentinel", config(url)).await;
}

/// A Redis Cluster of 3 primaries with a replica each (`redis+cluster://…`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_regions_stay_ready_on_a_cluster() {
    let cluster = Cluster::start();
    idle_regions_stay_ready("cluster", config(cluster.url())).await;
}

/// A TLS-only server (`rediss://`, a private CA).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_regions_stay_ready_over_tls() {
    let redis = TlsRedis::start();
    let config = RedisConfig {
        ca_file: Some(redis.ca.clone()),
        ..config(redis.url())
    };
    idle_regions_stay_ready("tls", config).await;
}
