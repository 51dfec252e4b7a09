//! (e) and the heal figure: resources against their bound, and how long after a heal
//! everything acked before it had reached everyone.

use super::{bad, Verdict, FD_SLACK, RSS_BOUND};
use crate::chaos::history::{History, Ms};

/// The longest wait from a heal until every event acked before it had reached everyone, with
/// the heal, and the subscriber and event that came last; `events` are (acked, last
/// received, by whom, which) tuples.
pub(super) fn heal_to_caught_up<'a>(
    events: &[(Ms, Ms, usize, &'a str)],
    heals: &[Ms],
) -> Option<(Ms, Ms, usize, &'a str)> {
    let mut events = events.to_vec();
    events.sort_unstable();
    let mut prefix: Vec<(Ms, usize, &str)> = Vec::with_capacity(events.len());
    for (_, got, si, id) in &events {
        let best = match prefix.last() {
            Some(p) if p.0 >= *got => *p,
            _ => (*got, *si, *id),
        };
        prefix.push(best);
    }
    heals
        .iter()
        .filter_map(|h| {
            let n = events.partition_point(|(acked, ..)| acked <= h);
            let (got, si, id) = *prefix.get(n.checked_sub(1)?)?;
            Some((got.saturating_sub(*h), *h, si, id))
        })
        .max_by_key(|x| x.0)
}

/// Check (e) for every region process, and note each region's first and last figures.
pub(super) fn resources(h: &History, v: &mut Verdict) {
    for (r, samples) in h.resources.iter().enumerate() {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            continue;
        };
        v.resources
            .push((first.rss_kib, first.fds, last.rss_kib, last.fds));
        let mut i = 0;
        while i < samples.len() {
            let pid = samples[i].pid;
            let j = samples[i..]
                .iter()
                .position(|s| s.pid != pid)
                .map_or(samples.len(), |k| i + k);
            let (a, b) = (samples[i], samples[j - 1]);
            if b.rss_kib > RSS_BOUND.0 * a.rss_kib + RSS_BOUND.1 {
                let what = format!(
                    "(e) region {} (pid {pid}) RSS grew {} → {} KiB",
                    crate::chaos::nemesis::REGIONS[r],
                    a.rss_kib,
                    b.rss_kib
                );
                bad(v, 'e', what, None);
            }
            if b.fds > a.fds + FD_SLACK {
                let what = format!(
                    "(e) region {} (pid {pid}) open FDs grew {} → {}",
                    crate::chaos::nemesis::REGIONS[r],
                    a.fds,
                    b.fds
                );
                bad(v, 'e', what, None);
            }
            i = j;
        }
    }
}
