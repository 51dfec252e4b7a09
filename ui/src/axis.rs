//! The timeline's time axis: from 0 (the origin accepted the event) to a round end.
//!
//! The scale is linear below a *knee* and logarithmic above it. The knee follows the typical
//! first arrival of the events shown: on one machine that is a few hundred µs, so hops of
//! 100 µs and 5 ms both get room; with a simulated WAN it is tens of ms, so arrivals 20 ms
//! apart at 100–200 ms stand clearly apart instead of sharing the top few percent of a
//! microsecond-based log scale.

use crate::log::Row;
use wire::Micros;

/// The smallest knee, µs: below it the axis is linear anyway.
const MIN_KNEE: Micros = 100;

/// The typical first arrival is taken over this many of the newest rows: the top of the
/// timeline, what the user is looking at, follows the current network settings.
const TYPICAL_OF: usize = 20;

/// Ticks closer than this to each other or to the end are left out, in percent.
const TICK_GAP: f64 = 9.0;

/// A time axis (µs after publish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    /// The axis end.
    pub max: Micros,
    /// Below this the scale is nearly linear; above it, logarithmic.
    pub knee: Micros,
}

impl Default for Axis {
    fn default() -> Self {
        Axis {
            max: 1_000,
            knee: MIN_KNEE,
        }
    }
}

impl Axis {
    /// The axis that fits `rows` (newest first): ends at the round value above the latest
    /// hop, with the knee at about half the median first arrival of the newest [`TYPICAL_OF`]
    /// rows (rounded down to 1-2-5): arrivals around the typical one are spread nearly
    /// linearly, later ones (a region catching up after a partition) logarithmically.
    pub fn fit<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Axis {
        let mut latest = 0;
        let mut firsts = Vec::new();
        for (i, r) in rows.into_iter().enumerate() {
            latest = latest.max(r.last_hop().saturating_sub(r.published_at));
            if i >= TYPICAL_OF {
                continue;
            }
            let first = r
                .delivered
                .iter()
                .flatten()
                .map(|d| d.received_at)
                .min()
                .unwrap_or(r.stored_at);
            firsts.push(first.saturating_sub(r.published_at));
        }
        let max = nice_ceiling(latest);
        if firsts.is_empty() {
            return Axis {
                max,
                knee: MIN_KNEE,
            };
        }
        let mid = firsts.len() / 2;
        let typical = *firsts.select_nth_unstable(mid).1;
        let knee = nice_floor(typical / 2).clamp(MIN_KNEE, (max / 4).max(MIN_KNEE));
        Axis { max, knee }
    }

    /// This axis, ending late enough to hold `us` too (a join or leave told later than every
    /// event's last hop): the end goes up to the round value above it, the knee stays.
    pub fn cover(self, us: Micros) -> Axis {
        Axis {
            max: self.max.max(nice_ceiling(us)),
            ..self
        }
    }

    /// Where `us` sits on the axis, in percent.
    pub fn position(&self, us: Micros) -> f64 {
        let knee = self.knee.max(1) as f64;
        let f = |v: Micros| (1.0 + v as f64 / knee).ln();
        (f(us.min(self.max)) / f(self.max.max(1)) * 100.0).clamp(0.0, 100.0)
    }

    /// Round values to label: 0, 1-2-5 steps far enough apart on this scale, and the end.
    pub fn ticks(&self) -> Vec<Micros> {
        let mut out = vec![0];
        let mut last = 0.0;
        let mut t: Micros = MIN_KNEE;
        while t < self.max {
            for m in [1, 2, 5] {
                let v = t * m;
                let at = self.position(v);
                if v < self.max && at - last >= TICK_GAP && 100.0 - at >= TICK_GAP {
                    out.push(v);
                    last = at;
                }
            }
            t *= 10;
        }
        out.push(self.max);
        out
    }
}

/// The smallest 1-2-5 × 10ⁿ µs at or above `us` (at least 1 ms): an axis end.
pub fn nice_ceiling(us: Micros) -> Micros {
    let mut step: Micros = 1_000;
    loop {
        for m in [1, 2, 5] {
            if step * m >= us {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// The largest 1-2-5 × 10ⁿ µs at or below `us` (0 for 0).
pub fn nice_floor(us: Micros) -> Micros {
    let mut best = 0;
    let mut step: Micros = 1;
    while step <= us {
        for m in [1, 2, 5] {
            if step * m <= us {
                best = step * m;
            }
        }
        step *= 10;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Log;
    use wire::EventFrame;

    /// A log with one event per entry: `(stored, [received per pane])`, µs after publish.
    fn log(events: &[(Micros, [Micros; 3])]) -> Log {
        let mut log = Log::default();
        for (i, (stored, received)) in events.iter().enumerate() {
            for (pane, r) in received.iter().enumerate() {
                let ev = EventFrame {
                    channel: wire::GLOBAL.into(),
                    offset: i as u64 + 1,
                    id: format!("e{i}"),
                    origin: "as".into(),
                    kind: "k".into(),
                    payload: serde_json::Value::Null,
                    published_at: 1_000_000,
                    stored_at: 1_000_000 + stored,
                    received_at: 1_000_000 + r,
                    replay: false,
                };
                log.deliver(&ev, pane, 3, 1_000_000 + r + 500, None);
            }
        }
        log
    }

    fn rows(log: &Log) -> Vec<std::rc::Rc<Row>> {
        log.items(None, 100)
            .into_iter()
            .filter_map(|i| match i {
                crate::log::Item::Row(r) => Some(r),
                crate::log::Item::Gap(_) => None,
            })
            .collect()
    }

    /// A join told later than every event's last hop stretches the end, never the knee, and
    /// never shrinks it.
    #[test]
    fn an_axis_covers_a_later_time() {
        let axis = Axis {
            max: 200_000,
            knee: 5_000,
        };
        assert_eq!(
            axis.cover(379_860),
            Axis {
                max: 500_000,
                knee: 5_000
            }
        );
        assert_eq!(axis.cover(10), axis);
    }

    #[test]
    fn rounding_is_one_two_five() {
        assert_eq!(nice_ceiling(10), 1_000);
        assert_eq!(nice_ceiling(1_500), 2_000);
        assert_eq!(nice_ceiling(3_000_001), 5_000_000);
        assert_eq!(nice_floor(0), 0);
        assert_eq!(nice_floor(17_000), 10_000);
        assert_eq!(nice_floor(4_999), 2_000);
    }

    #[test]
    fn on_one_machine_the_knee_stays_at_the_microsecond_scale() {
        let log = log(&[(100, [300, 320, 350]); 5]);
        let axis = Axis::fit(rows(&log).iter().map(|r| &**r));
        assert_eq!(
            axis,
            Axis {
                max: 1_000,
                knee: MIN_KNEE
            }
        );
    }

    #[test]
    fn wan_arrivals_twenty_ms_apart_are_far_apart_on_the_axis() {
        // AS publishes: stored after 95 ms; US receives at 117, EU at 142, AS at 186.
        let log = log(&[(95_000, [186_000, 117_000, 142_000]); 5]);
        let axis = Axis::fit(rows(&log).iter().map(|r| &**r));
        assert_eq!(axis.max, 200_000);
        let gap = axis.position(142_000) - axis.position(117_000);
        assert!(gap > 8.0, "US and EU {gap:.1} % apart on {axis:?}");
        let ticks = axis.ticks();
        assert_eq!((ticks[0], *ticks.last().unwrap()), (0, 200_000));
        let at: Vec<f64> = ticks.iter().map(|t| axis.position(*t)).collect();
        assert!(
            at.windows(2).all(|w| w[1] - w[0] >= TICK_GAP),
            "{ticks:?} at {at:?}"
        );
    }

    #[test]
    fn the_newest_rows_set_the_scale() {
        // 20 WAN events on top of 80 from before the preset, on one machine.
        let mut events = vec![(100, [300, 320, 350]); 80];
        events.extend(vec![(95_000, [186_000, 117_000, 142_000]); 20]);
        let log = log(&events);
        let axis = Axis::fit(rows(&log).iter().map(|r| &**r));
        assert_eq!(axis.knee, 50_000);
    }

    #[test]
    fn a_late_catch_up_keeps_the_usual_arrivals_readable() {
        let mut events = vec![(95_000, [186_000, 117_000, 142_000]); 9];
        events.push((95_000, [186_000, 117_000, 12_000_000])); // EU healed after 12 s
        let log = log(&events);
        let axis = Axis::fit(rows(&log).iter().map(|r| &**r));
        assert_eq!(axis.max, 20_000_000);
        assert!(axis.position(142_000) - axis.position(117_000) > 2.0);
        assert!(axis.position(12_000_000) > 90.0);
    }
}
