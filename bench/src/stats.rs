//! Percentiles, the latency timeline and the CDF, from raw per-delivery samples.

use crate::receiver::Sample;
use serde::Serialize;

/// Latency percentiles of a run, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Deliveries measured.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Nearest-rank percentile `q` (0..=1) of sorted values.
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Percentiles of sorted µs values.
pub fn summarize(sorted_us: &[u32]) -> Latency {
    let ms = |q| percentile(sorted_us, q) as f64 / 1000.0;
    Latency {
        count: sorted_us.len(),
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: ms(1.0),
    }
}

/// Median of a few values (e.g. repeated measurements).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Latency of the events sent within one time bucket.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TimelinePoint {
    /// Start of the bucket, seconds after the first send.
    pub t_s: f64,
    /// Deliveries in the bucket.
    pub count: usize,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

/// Latency over time, by send instant, in buckets of `bucket_ms`.
pub fn timeline(samples: &[Sample], bucket_ms: u32) -> Vec<TimelinePoint> {
    let Some(start) = samples.iter().map(|s| s.sent_ms).min() else {
        return Vec::new();
    };
    let end = samples.iter().map(|s| s.sent_ms).max().unwrap_or(start);
    let n = ((end - start) / bucket_ms + 1) as usize;
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); n];
    for s in samples {
        buckets[((s.sent_ms - start) / bucket_ms) as usize].push(s.latency_us);
    }
    buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(i, mut b)| {
            b.sort_unstable();
            TimelinePoint {
                t_s: (i as u32 * bucket_ms) as f64 / 1000.0,
                count: b.len(),
                p50_ms: percentile(&b, 0.5) as f64 / 1000.0,
                p99_ms: percentile(&b, 0.99) as f64 / 1000.0,
                max_ms: percentile(&b, 1.0) as f64 / 1000.0,
            }
        })
        .collect()
}

/// `(latency ms, fraction of deliveries at or under it)`, denser in the tail.
pub fn cdf(sorted_us: &[u32]) -> Vec<(f64, f64)> {
    let mut qs: Vec<f64> = (0..=98).map(|i| i as f64 / 100.0).collect();
    qs.extend((990..=999).map(|i| i as f64 / 1000.0));
    qs.extend([0.9995, 0.9999, 1.0]);
    qs.into_iter()
        .map(|q| (percentile(sorted_us, q) as f64 / 1000.0, q))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest rank: p50 of 1..=100 is 50, p99 is 99, max is 100.
    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    /// Samples land in the bucket of their send instant.
    #[test]
    fn timeline_buckets_by_send_time() {
        let s = |sent_ms, latency_us| Sample {
            sent_ms,
            latency_us,
        };
        let t = timeline(&[s(1000, 1000), s(1100, 3000), s(1600, 2000)], 500);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].count, t[0].max_ms), (2, 3.0));
        assert_eq!((t[1].t_s, t[1].p50_ms), (0.5, 2.0));
    }
}
