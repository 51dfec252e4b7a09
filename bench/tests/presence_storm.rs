//! A reconnect storm through the real path (three in-process regions on a private Redis):
//! the storm's clients join and leave, the events published meanwhile all arrive once, and
//! once the storm stops no region lists any of its members.

use bench::presence_storm::{self, PresenceStormSpec};
use bench::servers::Servers;
use bench::storm::StormSpec;
use server_core::broker::BrokerKind;
use std::time::Duration;

/// 3×20 storm clients for about two seconds next to a small load run: joins and leaves
/// counted, nothing lost or duplicated in either load run, no ghosts after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_loses_no_event_and_leaves_no_ghost() {
    let servers = Servers::in_process(BrokerKind::Redis, 3)
        .await
        .expect("regions on a private Redis");
    let spec = PresenceStormSpec {
        receivers_per_region: 3,
        publishers_per_region: 1,
        rate: 300.0,
        duration: Duration::from_secs(2),
        storm: StormSpec {
            clients_per_region: 20,
            channel: presence_storm::storm_channel(),
            stay_ms: 50..300,
            away_ms: 0..50,
            connecting: 16,
        },
        warmup: Duration::from_millis(500),
        converge: Duration::from_secs(10),
    };
    let r = presence_storm::run(&servers, &spec)
        .await
        .expect("storm run");
    servers.stop().await;
    assert!(r.storm.joins > 0 && r.storm.leaves > 0, "{:?}", r.storm);
    for l in [&r.baseline, &r.during] {
        assert!(l.stored > 0, "{}: nothing stored", l.label);
        assert_eq!(
            (l.lost, l.duplicated, l.closed_early),
            (0, 0, 0),
            "{}",
            l.label
        );
    }
    assert_eq!(r.read.len(), 3, "every region's /metrics read");
    assert!(r.read.iter().all(|x| x.changes_per_s > 0.0), "{:?}", r.read);
    let c = &r.convergence;
    assert_eq!((c.ghosts, c.global_ghosts), (0, 0), "{c:?}");
    assert!(c.converged_ms.is_some());
    assert!(r.clean());
}
