//! How numbers and names read on screen.

use wire::{BrokerKind, BrokerStatus, Micros};

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
pub fn broker(kind: BrokerKind) -> &'static str {
    match kind {
        BrokerKind::Redis => "Redis — shared log",
        BrokerKind::Embedded => "embedded broker — this process only",
    }
}

/// What the broker chip says. In the desktop app, `status` (its `broker_status` answer, when
/// it is about the same kind of broker) tells the app's private redis-server from a Redis that
/// other processes may share; it also serves as the chip's tooltip.
pub fn broker_label(kind: BrokerKind, status: Option<&BrokerStatus>) -> &'static str {
    match (kind, status.filter(|s| s.kind == kind)) {
        (BrokerKind::Redis, Some(s)) if s.private => "Redis (private, this app)",
        (BrokerKind::Embedded, Some(_)) => "embedded broker — this app only",
        _ => broker(kind),
    }
}

/// A link setting: `"45 ms ±4"`, `"0 ms"`.
pub fn link(latency_ms: u32, jitter_ms: u32) -> String {
    if jitter_ms > 0 {
        format!("{latency_ms} ms ±{jitter_ms}")
    } else {
        format!("{latency_ms} ms")
    }
}

/// Hues a channel's tag may have: few enough to tell apart at a glance.
const CHANNEL_HUES: u32 = 10;

/// The colour a channel's tag is drawn in: one of [`CHANNEL_HUES`] hues (0–359), from its
/// name, the same on every pane and row, so one room is one colour across the page; `global`
/// stays neutral (`None`).
pub fn channel_hue(name: &str) -> Option<u32> {
    if name == wire::GLOBAL {
        return None;
    }
    // FNV-1a, then murmur3's finalizer: names that differ in their last character (room-1,
    // room-2) land far apart; stable across builds and browsers.
    let mut h = (name.bytes()).fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    Some(h % CHANNEL_HUES * (360 / CHANNEL_HUES))
}

/// The `style` of a channel's tag ([`channel_hue`]).
pub fn channel_style(name: &str) -> Option<String> {
    channel_hue(name).map(|h| format!("--chan-hue: {h}"))
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
    fn the_desktop_apps_private_redis_is_labelled_as_such() {
        let status = |kind: BrokerKind, description: &str| BrokerStatus {
            kind,
            description: description.into(),
            url: None,
            private: false,
        };
        let private = BrokerStatus {
            private: true,
            ..status(
                BrokerKind::Redis,
                "private redis-server started by the app (stopped on exit)",
            )
        };
        assert_eq!(
            broker_label(BrokerKind::Redis, Some(&private)),
            "Redis (private, this app)"
        );
        // The flag decides, not the wording.
        let local = status(BrokerKind::Redis, "private redis-server, in words only");
        assert_eq!(
            broker_label(BrokerKind::Redis, Some(&local)),
            "Redis — shared log"
        );
        assert_eq!(broker_label(BrokerKind::Redis, None), "Redis — shared log");
        // A status about another broker than the one the region reports is not used.
        assert_eq!(
            broker_label(BrokerKind::Embedded, Some(&private)),
            broker(BrokerKind::Embedded)
        );
        assert_eq!(link(45, 4), "45 ms ±4");
    }

    #[test]
    fn ages_are_coarse() {
        assert_eq!(age(5_000_000, 4_500_000), "now");
        assert_eq!(age(130_000_000, 0), "2 min");
    }

    #[test]
    fn a_channel_is_one_colour_everywhere_and_global_none() {
        assert_eq!(channel_hue("global"), None);
        assert_eq!(channel_hue("room-1"), channel_hue("room-1"));
        let hues: std::collections::BTreeSet<_> = ["room-1", "room-2", "room-3"]
            .iter()
            .map(|r| channel_hue(r))
            .collect();
        assert_eq!(hues.len(), 3, "the demo's rooms read apart");
        assert_eq!(
            channel_style("room-1").map(|s| s.starts_with("--chan-hue: ")),
            Some(true)
        );
    }
}
