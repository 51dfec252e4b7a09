//! A path to Redis that goes silent (packets dropped, no reset: a partition, a host that
//! vanished) is noticed by the response timeout, and the connection is replaced, so that
//! publishing recovers as soon as the path is back instead of when TCP gives up.

#[macro_use]
mod common;

use common::{event, Client, RedisServer, Regions, PATIENCE};
use server_core::broker::{Broker, RedisBroker, RedisConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wire::ServerFrame;

/// A TCP relay to Redis that can be made silent: while `silent`, every connection (old or
/// new) gets nothing through and is never closed; connections opened while it was silent
/// stay dead after it heals, as a connection stuck in TCP retransmission would.
struct Relay {
    port: u16,
    silent: Arc<AtomicBool>,
}

impl Relay {
    async fn start(upstream: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = Arc::new(AtomicBool::new(false));
        let flag = silent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.clone();
                tokio::spawn(async move {
                    if flag.load(Ordering::SeqCst) {
                        // A connect that never gets anywhere: hold the socket, say nothing.
                        let _held = client;
                        return std::future::pending::<()>().await;
                    }
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pump(cr, sw, flag.clone()));
                    pump(sr, cw, flag).await;
                });
            }
        });
        Relay { port, silent }
    }

    fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }
}

/// Copy bytes until either side closes; once the relay went silent, swallow everything
/// from then on (this connection never recovers).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silent: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut dead = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        dead |= silent.load(Ordering::SeqCst);
        if !dead && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The path to Redis goes silent for longer than every timeout, then comes back: publishes
/// fail (temporary) instead of hanging, and once the path is back the broker publishes again
/// on a new connection, and the regions' feeds deliver again; nothing acked is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_path_to_redis_is_noticed_and_publishing_recovers_after_the_heal() {
    let redis = RedisServer::start();
    let relay = Relay::start(redis.port()).await;
    let config = RedisConfig {
        prefix: common::unique_prefix(),
        response_timeout: Duration::from_millis(500),
        ..RedisConfig::new(format!("redis://127.0.0.1:{}", relay.port))
    };
    let broker = RedisBroker::connect(config).await.unwrap();
    let regions = Regions::start(&["eu"], Arc::new(broker.clone())).await;
    let mut watcher = Client::connect(regions.addr("eu")).await;
    assert_eq!(broker.publish(event("before")).await.unwrap().offset, 1);

    relay.set_silent(true);
    let went_silent = Instant::now();
    let outcome = tokio::time::timeout(PATIENCE, broker.publish(event("during"))).await;
    let noticed = went_silent.elapsed();
    assert!(
        matches!(outcome, Ok(Err(_))),
        "a publish over a silent path fails (temporary) instead of hanging: {outcome:?}"
    );
    // Longer than every timeout on the path (response, connect, the feed's stall limit).
    tokio::time::sleep(Duration::from_secs(6)).await;

    relay.set_silent(false);
    let healed = Instant::now();
    let offset = loop {
        match broker.publish(event("during")).await {
            Ok(p) => break p.offset,
            Err(_) => {
                assert!(healed.elapsed() < PATIENCE, "publishing never recovered");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let recovered = healed.elapsed();
    assert_eq!(
        offset, 2,
        "the failed try stored nothing, or it is found by id"
    );
    let ids: Vec<String> = watcher.events(2).await.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["before", "during"]);
    let mut p = Client::connect(regions.addr("eu")).await;
    assert!(matches!(
        p.publish_and_wait("after").await,
        ServerFrame::Ack { offset: 3, .. }
    ));
    eprintln!(
        "silent path to Redis: publish failed after {noticed:?}; publishing recovered {recovered:?} after the heal; acked 3, lost 0, duplicated 0"
    );
}
