//! `bench smoke`: a few seconds, a few clients, the embedded broker and a private
//! redis-server, then the bare broadcast server (`bench bare-server`, the floor the scenarios
//! compare with); checks only that nothing is lost or duplicated (no timing), also with the
//! publishes and clients spread over channels (each client gets only its channel's events),
//! and ends with an `N passed, M failed` line. Run in CI.

use crate::load::{self, LoadSpec};
use crate::servers::Servers;
use crate::{bare, floor};
use server_core::broker::BrokerKind;
use std::time::Duration;

/// Run the smoke checks; true when all passed.
pub async fn run() -> anyhow::Result<bool> {
    let (mut passed, mut failed) = (0, 0);
    let mut check = |name: String, ok: bool, detail: String| {
        if ok {
            passed += 1;
            println!("ok   {name}");
        } else {
            failed += 1;
            println!("FAIL {name}: {detail}");
        }
    };
    for broker in [Some(BrokerKind::Embedded), Some(BrokerKind::Redis), None] {
        let servers = match broker {
            Some(broker) => {
                let servers = Servers::in_process(broker, 3).await?;
                let floor = floor::measure(servers.redis_url().as_deref(), 50).await;
                check(
                    format!("{}: floor measured", broker.as_str()),
                    floor.is_ok(),
                    format!("{:?}", floor.err()),
                );
                servers
            }
            None => Servers::bare(bare::WRITE_BATCH)?,
        };
        // Every client on `global`; then (not on the bare server, which has no channels)
        // 5 channels, each client following one: each gets its channel's events only.
        let runs: &[usize] = if broker.is_some() { &[1, 5] } else { &[1] };
        for &channels in runs {
            let name = match channels {
                1 => servers.broker.clone(),
                n => format!("{} over {n} channels", servers.broker),
            };
            let spec = LoadSpec {
                label: format!("smoke {name}"),
                clients_per_region: 4 * channels.min(2),
                publishing_regions: vec![0, 1, 2],
                rate: 300.0,
                duration: Duration::from_secs(2),
                drain: Duration::from_secs(15),
                channels,
            };
            let r = load::run(&servers, &spec).await?;
            let summary = format!(
                "stored {} expected {} delivered {} lost {} duplicated {} refused {} closed {:?}",
                r.stored, r.expected, r.delivered, r.lost, r.duplicated, r.refused, r.close_reason
            );
            println!("     {name}: {summary}");
            check(
                format!("{name}: every publish stored"),
                r.stored == r.sent && r.stored > 0 && r.refused == 0,
                summary.clone(),
            );
            check(format!("{name}: lost = 0"), r.lost == 0, summary.clone());
            check(
                format!("{name}: duplicated = 0"),
                r.duplicated == 0,
                summary.clone(),
            );
            check(
                format!("{name}: nothing delivered beyond what was owed"),
                r.delivered == r.expected,
                summary.clone(),
            );
            check(
                format!("{name}: no client disconnected"),
                r.closed_early == 0,
                summary,
            );
        }
        servers.stop().await;
    }
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}
