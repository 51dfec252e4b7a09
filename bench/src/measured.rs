//! A load run next to its two floors, both measured in the same run: the **bare broadcast
//! server** driven by the same clients at the same rate ([`VsBare`]: latency percentiles and
//! server CPU per delivery as ratios), and the physical floor of one delivery (a WebSocket
//! round trip plus a Redis hop, [`Floor`]).

use crate::floor::Floor;
use crate::load::LoadResult;
use serde::Serialize;

/// A run compared with the bare broadcast server's run at the same clients and rate.
#[derive(Debug, Clone, Serialize)]
pub struct VsBare {
    /// The bare run's label (its full result is reported beside this one).
    pub bare_label: String,
    /// The bare run delivered everything once and closed no client.
    pub bare_clean: bool,
    /// The bare run's p50, ms.
    pub bare_p50_ms: f64,
    /// The bare run's p99, ms.
    pub bare_p99_ms: f64,
    /// The bare run's slowest delivery, ms.
    pub bare_max_ms: f64,
    /// The bare server's CPU time per delivery, µs.
    pub bare_cpu_us_per_delivery: f64,
    /// p50 / the bare run's p50.
    pub p50: f64,
    /// p99 / the bare run's p99.
    pub p99: f64,
    /// max / the bare run's max.
    pub max: f64,
    /// Server CPU per delivery / the bare server's (Redis's CPU not included).
    pub cpu_per_delivery: f64,
}

impl VsBare {
    /// `run` over `bare` (a ratio over 0 is infinite, written as `null` in JSON).
    pub fn new(run: &LoadResult, bare: &LoadResult) -> Self {
        let (a, b) = (&run.latency, &bare.latency);
        VsBare {
            bare_label: bare.label.clone(),
            bare_clean: bare.clean(),
            bare_p50_ms: b.p50_ms,
            bare_p99_ms: b.p99_ms,
            bare_max_ms: b.max_ms,
            bare_cpu_us_per_delivery: bare.server_cpu_us_per_delivery,
            p50: a.p50_ms / b.p50_ms,
            p99: a.p99_ms / b.p99_ms,
            max: a.max_ms / b.max_ms,
            cpu_per_delivery: run.server_cpu_us_per_delivery / bare.server_cpu_us_per_delivery,
        }
    }
}

/// A load result next to its floors.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// The round-trip + Redis-hop floor, measured just before the run.
    pub floor: Floor,
    /// Median end-to-end latency / floor median.
    pub p50_over_floor: f64,
    /// p99 end-to-end latency / floor p99.
    pub p99_over_floor_p99: f64,
    /// p99 end-to-end latency / floor median.
    pub p99_over_floor_p50: f64,
    /// Against the bare broadcast server at the same clients and rate; `None` for the bare
    /// server's own runs.
    pub bare: Option<VsBare>,
    /// The run.
    pub run: LoadResult,
}

impl Measured {
    /// `run` over `floor` and, when given, over the bare server's run `bare`.
    pub fn new(floor: Floor, run: LoadResult, bare: Option<&LoadResult>) -> Self {
        Measured {
            p50_over_floor: run.latency.p50_ms / floor.p50_ms(),
            p99_over_floor_p99: run.latency.p99_ms / floor.p99_ms(),
            p99_over_floor_p50: run.latency.p99_ms / floor.p50_ms(),
            bare: bare.map(|b| VsBare::new(&run, b)),
            floor,
            run,
        }
    }
}

/// Print one result: the run, then its ratios to the bare server (when compared), then to the
/// round-trip + Redis-hop floor.
pub fn print(m: &Measured) {
    let r = &m.run;
    println!(
        "{:<28} {:>6.0} ev/s  {:>9}/{:<9} lost {} dup {}  p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms  \
         {:.0} deliveries/s  cpu server {:.2} redis {:.2} generator {:.2}  server {:.2} µs/delivery  load {:.1}",
        r.label,
        r.target_rate,
        r.delivered,
        r.expected,
        r.lost,
        r.duplicated,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.p999_ms,
        r.latency.max_ms,
        r.deliveries_per_s,
        r.cpu.server_cores,
        r.cpu.redis_cores,
        r.cpu.generator_cores,
        r.server_cpu_us_per_delivery,
        r.load_average[0],
    );
    if let Some(b) = &m.bare {
        println!(
            "{:<28} p50 {:.1}x  p99 {:.1}x  max {:.1}x  server cpu/delivery {:.1}x  \
             (bare {}: p50 {:.2} p99 {:.2} max {:.2} ms, {:.2} µs/delivery{})",
            "  / bare broadcast floor",
            b.p50,
            b.p99,
            b.max,
            b.cpu_per_delivery,
            b.bare_label,
            b.bare_p50_ms,
            b.bare_p99_ms,
            b.bare_max_ms,
            b.bare_cpu_us_per_delivery,
            if b.bare_clean { "" } else { ", NOT clean" },
        );
    }
    println!(
        "{:<28} p50 {:.1}x  p99 {:.1}x  (floor p50 {:.3} p99 {:.3} ms)",
        "  / ws round trip+redis hop",
        m.p50_over_floor,
        m.p99_over_floor_p99,
        m.floor.p50_ms(),
        m.floor.p99_ms(),
    );
}
