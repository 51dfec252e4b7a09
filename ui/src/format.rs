//! How numbers and names read on screen.

use wire::Micros;

/// A duration: µs below 1 ms, else ms with two decimals (`"420 µs"`, `"12.34 ms"`).
pub fn duration(us: Micros) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 10_000_000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else {
        format!("{:.1} s", us as f64 / 1e6)
    }
}

/// A round duration for an axis label: `"100 µs"`, `"5 ms"`, `"1.5 s"`.
pub fn short(us: Micros) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{} ms", trim(us as f64 / 1e3))
    } else {
        format!("{} s", trim(us as f64 / 1e6))
    }
}

/// A signed hop time relative to publish (clocks of different machines may disagree).
pub fn offset_from(base: Micros, at: Micros) -> String {
    if at >= base {
        format!("+{}", duration(at - base))
    } else {
        format!("−{}", duration(base - at))
    }
}

/// How long ago, coarse: `"now"`, `"12 s"`, `"3 min"`, `"2 h"`.
pub fn age(now: Micros, then: Micros) -> String {
    let s = now.saturating_sub(then) / 1_000_000;
    match s {
        0 => "now".into(),
        1..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// What a broker kind means for the user.
pub fn broker(kind: &str) -> &'static str {
    match kind {
        "redis" => "Redis — shared log",
        "embedded" => "embedded broker — this process only",
        _ => "unknown broker",
    }
}

/// The smallest 1-2-5 × 10ⁿ µs at or above `us` (at least 1 ms): the timeline's axis end.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_microseconds_below_a_millisecond() {
        assert_eq!(duration(420), "420 µs");
        assert_eq!(duration(12_345), "12.35 ms");
        assert_eq!(offset_from(10, 5), "−5 µs");
        assert_eq!(short(500_000), "500 ms");
        assert_eq!(short(1_500_000), "1.5 s");
    }

    #[test]
    fn axis_ends_are_round() {
        assert_eq!(nice_ceiling(10), 1_000);
        assert_eq!(nice_ceiling(1_500), 2_000);
        assert_eq!(nice_ceiling(3_000_001), 5_000_000);
    }

    #[test]
    fn ages_are_coarse() {
        assert_eq!(age(5_000_000, 4_500_000), "now");
        assert_eq!(age(130_000_000, 0), "2 min");
    }
}
