//! The page's clock against each region's: NTP-style offset estimates from `/health` (pure).
//!
//! The timeline's hops are stamped by different clocks: "received" by the region's server,
//! "delivered" by the page. To draw them on one time line the page measures, per region, how
//! far the region's clock is from its own: it notes when it sent a `GET /health` (`t0`) and
//! when the answer came (`t1`); the answer's `now` was read in between, so the offset
//! (region − page) is `now − (t0 + t1) / 2`, wrong by at most half the round trip. The sample
//! with the smallest round trip of the last [`WINDOW`] is the estimate (a round trip slowed
//! by a busy page or network says little); the window keeps it current as clocks drift.
//!
//! The fetching (an effect at the edge) is in [`crate::hooks::use_health`].

use std::collections::VecDeque;
use wire::Micros;

/// Samples older than this (by the page's clock, µs) no longer count: the estimate follows
/// clock drift and slews.
pub const WINDOW: Micros = 30_000_000;

/// Samples kept per region at most; the oldest goes first (at one `/health` poll every 2 s
/// the [`WINDOW`] holds about 15).
pub const MAX_SAMPLES: usize = 32;

/// One timed `/health` exchange: page clock at send and receive, region clock in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The page sent the request (page clock), µs.
    pub sent: Micros,
    /// The region's `now` in the answer (region clock), µs; 0 from a server without it.
    pub region: Micros,
    /// The page had the answer (page clock), µs.
    pub received: Micros,
}

impl Sample {
    /// Send to receive, µs.
    pub fn round_trip(&self) -> Micros {
        self.received.saturating_sub(self.sent)
    }

    /// What this sample says of the region's clock against the page's.
    pub fn offset(&self) -> ClockOffset {
        let rtt = self.round_trip();
        let mid = self.sent + rtt / 2;
        ClockOffset {
            offset: self.region as i64 - mid as i64,
            // Rounded up: half of an odd round trip is not a whole µs.
            uncertainty: rtt.div_ceil(2),
        }
    }
}

/// How far a region's clock is ahead of the page's, and how sure that is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffset {
    /// Region clock minus page clock, µs.
    pub offset: i64,
    /// The true offset is within `offset ± uncertainty`, µs.
    pub uncertainty: Micros,
}

impl ClockOffset {
    /// `page` (a page-clock stamp) on the region's time line, µs.
    pub fn to_region(&self, page: Micros) -> Micros {
        (page as i64).saturating_add(self.offset).max(0) as Micros
    }
}

/// The recent samples of one region's clock; bounded ([`MAX_SAMPLES`], [`WINDOW`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClockSync {
    samples: VecDeque<Sample>,
}

impl ClockSync {
    /// Take `s` in, forgetting samples older than [`WINDOW`] before it and the oldest beyond
    /// [`MAX_SAMPLES`]. A sample without the region's clock (an older server) or with time
    /// running backwards is ignored; returns whether `s` was kept.
    pub fn add(&mut self, s: Sample) -> bool {
        if s.region == 0 || s.received < s.sent {
            return false;
        }
        let since = s.received.saturating_sub(WINDOW);
        self.samples.retain(|o| o.received >= since);
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
        true
    }

    /// The offset from the sample with the smallest round trip (the newest of equals), or
    /// `None` before the first usable sample.
    pub fn estimate(&self) -> Option<ClockOffset> {
        (self.samples.iter().rev())
            .min_by_key(|s| s.round_trip())
            .map(Sample::offset)
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True before the first usable sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// How precisely a gap between a region's stamp and a page stamp put on its line is known,
/// µs: the offset's uncertainty plus the page clock's `resolution` (one step either way).
pub fn bound(offset: &ClockOffset, resolution: Micros) -> Micros {
    offset.uncertainty.saturating_add(resolution)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    fn sample(sent: Micros, rtt: Micros, region: Micros) -> Sample {
        Sample {
            sent,
            region,
            received: sent + rtt,
        }
    }

    #[test]
    fn offset_is_the_region_clock_minus_the_exchange_midpoint() {
        // The page's clock is 5 ms behind the region's; the answer was read mid-way.
        let s = sample(100 * S, 800, 100 * S + 400 + 5_000);
        assert_eq!(
            s.offset(),
            ClockOffset {
                offset: 5_000,
                uncertainty: 400
            }
        );
        assert_eq!(s.offset().to_region(100 * S + 1_000), 100 * S + 6_000);
        let behind = sample(100 * S, 3, 100 * S - 7_000);
        assert_eq!(behind.offset().offset, -7_001);
        assert_eq!(behind.offset().uncertainty, 2, "half of 3 µs rounds up");
        assert_eq!(behind.offset().to_region(100 * S), 100 * S - 7_001);
    }

    #[test]
    fn the_sample_with_the_smallest_round_trip_wins() {
        let mut c = ClockSync::default();
        assert_eq!(c.estimate(), None);
        c.add(sample(10 * S, 9_000, 10 * S + 20_000)); // slow: says +15.5 ms
        c.add(sample(12 * S, 200, 12 * S + 10_100)); // fast: says +10 ms
        c.add(sample(14 * S, 4_000, 14 * S + 7_000)); // slow again
        assert_eq!(
            c.estimate(),
            Some(ClockOffset {
                offset: 10_000,
                uncertainty: 100
            })
        );
    }

    #[test]
    fn old_samples_leave_the_window_so_the_estimate_follows_drift() {
        let mut c = ClockSync::default();
        c.add(sample(10 * S, 100, 10 * S + 1_050)); // +1 ms, very precise
        c.add(sample(20 * S, 1_000, 20 * S + 2_500)); // +2 ms, less so
        assert_eq!(c.estimate().unwrap().offset, 1_000);
        c.add(sample(41 * S, 1_000, 41 * S + 2_500));
        assert_eq!(c.len(), 2, "the sample from 31 s before is gone");
        assert_eq!(c.estimate().unwrap().offset, 2_000);
    }

    #[test]
    fn the_sample_store_is_bounded() {
        let mut c = ClockSync::default();
        for i in 0..(MAX_SAMPLES as Micros + 10) {
            c.add(sample(S + i * 1_000, 500, S + i * 1_000 + 250));
        }
        assert_eq!(c.len(), MAX_SAMPLES);
    }

    #[test]
    fn samples_without_the_region_clock_are_ignored() {
        let mut c = ClockSync::default();
        assert!(!c.add(sample(S, 100, 0)), "an older server sends no `now`");
        let backwards = Sample {
            sent: 2 * S,
            region: 2 * S,
            received: S,
        };
        assert!(!c.add(backwards));
        assert!(c.is_empty());
        assert_eq!(c.estimate(), None);
    }

    #[test]
    fn the_bound_adds_the_page_clocks_resolution() {
        let o = ClockOffset {
            offset: -3,
            uncertainty: 150,
        };
        assert_eq!(bound(&o, 100), 250);
    }
}
