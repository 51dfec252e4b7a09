//! The chaos run's presence checks at its end, through each region's `GET /presence`:
//!
//! - **Exact while connected**: once the run has settled (every fault healed, every
//!   subscriber caught up) and every subscriber holds its connection, each region lists, in
//!   every channel, exactly the subscribers connected then (their latest `welcome`'s member
//!   ids): no ghost, nobody missing.
//! - **Nobody left**: once every client closed, no region lists anyone.
//!
//! Both are polled for at most [`GHOST_BOUND`], the documented bound, so that only what is
//! still wrong past it is reported.

use super::deploy::{self, region_addr};
use super::history::{ListedDiff, PresenceLeft};
use super::nemesis::REGIONS;
use super::workload::{Workload, CHANNELS};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long a member may be listed wrongly, by the documented bounds: a connection whose
/// close was lost (a client host cut off when it closed) is dropped once it has answered no
/// ping for two intervals (≤ 3 × the 10 s ping interval), and its leave reaches every region
/// within a presence interval; a killed region's members leave within about four presence
/// intervals (1 s); a change the broker lost unnoticed is repaired within `--partitions`
/// presence intervals (12 s). Plus slack for a busy machine.
pub const GHOST_BOUND: Duration = Duration::from_secs(45);

/// Poll every 200 ms until every region lists exactly the connected subscribers in every
/// channel, for at most [`GHOST_BOUND`]; per (region, channel), the last difference found.
pub fn exact_while_connected(
    load: &Workload,
    bed: &deploy::Deployment,
) -> Vec<(String, String, ListedDiff)> {
    let deadline = Instant::now() + GHOST_BOUND;
    loop {
        let connected: Option<BTreeSet<String>> = load.read(|s| s.member.iter().cloned().collect());
        let mut found = Vec::new();
        for (r, region) in REGIONS.iter().enumerate() {
            for channel in CHANNELS {
                let diff = listed(bed, r, channel).map(|listed| match &connected {
                    Some(c) => (
                        listed.difference(c).cloned().collect(),
                        c.difference(&listed).cloned().collect(),
                    ),
                    // A subscriber between two connections: not comparable yet.
                    None => (Vec::new(), vec!["(a subscriber not connected)".to_owned()]),
                });
                found.push(((*region).to_owned(), channel.to_owned(), diff));
            }
        }
        let exact = found
            .iter()
            .all(|(_, _, d)| matches!(d, Ok((g, m)) if g.is_empty() && m.is_empty()));
        if exact || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The member ids region `r` lists in `channel`.
fn listed(bed: &deploy::Deployment, r: usize, channel: &str) -> Result<BTreeSet<String>, String> {
    let path = format!("/presence?channel={channel}&token={}", bed.token());
    let body = crate::http::get(region_addr(r), &path).map_err(|e| e.to_string())?;
    let frame: wire::ServerFrame =
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    match frame {
        wire::ServerFrame::Presence { members, count, .. } if members.len() == count => {
            Ok(members.into_iter().map(|m| m.id).collect())
        }
        other => Err(format!("not a whole presence list: {other:?}")),
    }
}

/// How many members region `r` lists in the subscribers' first channel once they all closed:
/// polled until 0 for at most [`GHOST_BOUND`].
pub fn members_left(bed: &deploy::Deployment, r: usize) -> PresenceLeft {
    let path = format!("/presence?channel={}&token={}", CHANNELS[0], bed.token());
    let deadline = Instant::now() + GHOST_BOUND;
    loop {
        let count = crate::http::get(region_addr(r), &path)
            .map_err(|e| e.to_string())
            .and_then(|body| {
                serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("count")?.as_u64())
                    .map(|n| (n as usize, body.clone()))
                    .ok_or_else(|| format!("no count in {body}"))
            });
        if matches!(count, Ok((0, _))) || Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
