//! The bare broadcast server keeps the delivery contract the bench measures it by: every
//! event published on any of its three ports reaches every client of every port exactly
//! once, in offset order, and every publish is acked.

use bench::bare::{BareServer, WRITE_BATCH};
use bench::load::{self, LoadSpec};
use bench::servers::Servers;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Start a bare server on free ports and point the bench's clients at it.
async fn start(write_batch: usize) -> (BareServer, Servers) {
    let bare = BareServer::start(0, write_batch, CancellationToken::new())
        .await
        .expect("bare server");
    let urls: Vec<String> = bare.targets().into_iter().map(|t| t.url).collect();
    assert_eq!(urls.len(), 3, "three ports");
    let servers = Servers::external(&urls.join(","), None);
    (bare, servers)
}

/// Publishers on all three ports, clients on all three: nothing lost, nothing duplicated,
/// every publish acked, with writes coalesced and with one flush per frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_every_event_once_to_every_port() {
    for write_batch in [WRITE_BATCH, 1] {
        let (bare, servers) = start(write_batch).await;
        let spec = LoadSpec {
            label: format!("bare test (write batch {write_batch})"),
            clients_per_region: 3,
            // Two publisher connections per port.
            publishing_regions: vec![0, 1, 2, 0, 1, 2],
            rate: 600.0,
            duration: Duration::from_millis(500),
            drain: Duration::from_secs(20),
            channels: 1,
        };
        let r = load::run(&servers, &spec).await.expect("load run");
        assert_eq!(r.regions, 3);
        assert!(r.stored > 0, "nothing was stored: {r:?}");
        assert_eq!((r.sent, r.refused), (r.stored, 0), "every publish acked");
        assert_eq!(r.expected, r.stored * 9, "9 receiving clients");
        assert_eq!(r.delivered, r.expected, "every event to every client");
        assert_eq!((r.lost, r.duplicated, r.closed_early), (0, 0, 0));
        drop(servers);
        bare.stop().await;
    }
}
