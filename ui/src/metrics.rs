//! A region's `/metrics`, read for the Settings panel (pure; the fetching is in
//! `components::region_metrics`).
//!
//! From each scrape of a region's Prometheus text the panel keeps a few figures: clients
//! connected now, events delivered per second between the last two scrapes, and the broker
//! lag p99 estimated from the histogram's buckets the way Prometheus' `histogram_quantile`
//! does (linear within the bucket). [`Board`] is the reducer that keeps, per region, the last
//! scrape and the figures, so the component only fetches and dispatches.

use crate::error::HttpError;
use std::rc::Rc;
use wire::Micros;
use yew::Reducible;

/// The series the panel reads (see docs/protocol.md, "Metrics").
const CONNECTIONS: &str = "multiregion_connections";
const DELIVERED: &str = "multiregion_events_delivered_total";
const LAG_BUCKET: &str = "multiregion_broker_lag_seconds_bucket";

/// What the panel needs from one scrape of one region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// Clients connected, every transport.
    pub connections: f64,
    /// Live events written to clients since the region started, every transport.
    pub delivered: f64,
    /// The broker lag histogram: `(upper bound in seconds, cumulative count)`, by bound.
    pub lag_buckets: Vec<(f64, f64)>,
}

/// Read a Prometheus text exposition. Lines it does not need, comments and lines it cannot
/// read are skipped; a series that is absent counts as 0.
pub fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.trim().rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        match name {
            CONNECTIONS => scrape.connections += value,
            DELIVERED => scrape.delivered += value,
            LAG_BUCKET => {
                if let Some(le) = label(labels, "le").and_then(|v| parse_bound(&v)) {
                    scrape.lag_buckets.push((le, value));
                }
            }
            _ => {}
        }
    }
    scrape.lag_buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    scrape
}

/// The value of label `key` in `k="v",…}` (escapes `\"`, `\\`, `\n` undone).
fn label(labels: &str, key: &str) -> Option<String> {
    let mut rest = labels;
    while let Some((k, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        if k.trim_start_matches(',') == key {
            return Some(value);
        }
        rest = &after[end + 1..];
    }
    None
}

fn parse_bound(v: &str) -> Option<f64> {
    match v {
        "+Inf" => Some(f64::INFINITY),
        v => v.parse().ok(),
    }
}

/// The `q` quantile (0..1) of a cumulative histogram, in its unit; `None` without any
/// observation. Linear within the bucket it falls in (from 0 for the first); in the `+Inf`
/// bucket it is the highest finite bound, as `histogram_quantile` answers.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut below = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(below.0);
            }
            let within = count - below.1;
            let share = if within > 0.0 {
                (rank - below.1) / within
            } else {
                1.0
            };
            return Some(below.0 + (le - below.0) * share);
        }
        below = (le, count);
    }
    Some(below.0)
}

/// The buckets of `now` minus those of `before` (same bounds), for what happened between.
fn bucket_delta(now: &[(f64, f64)], before: &[(f64, f64)]) -> Vec<(f64, f64)> {
    now.iter()
        .map(|&(le, c)| {
            let old = before.iter().find(|b| b.0 == le).map_or(0.0, |b| b.1);
            (le, (c - old).max(0.0))
        })
        .collect()
}

/// The figures one region's row shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Clients connected now.
    pub connections: u64,
    /// Events delivered per second between the last two scrapes (`None` after the first).
    pub events_per_sec: Option<f64>,
    /// Broker lag p99 in seconds: of the events read between the last two scrapes, or since
    /// the region started when none was read in between; `None` before any event.
    pub lag_p99: Option<f64>,
}

/// The figures of scrape `now` (at `now_at`) after the previous one, if any.
pub fn figures(before: Option<&(Micros, Scrape)>, now_at: Micros, now: &Scrape) -> Figures {
    let interval = before.filter(|(at, _)| now_at > *at);
    let events_per_sec = interval.map(|(at, b)| {
        let seconds = (now_at - at) as f64 / 1e6;
        (now.delivered - b.delivered).max(0.0) / seconds
    });
    let recent = interval.map(|(_, b)| bucket_delta(&now.lag_buckets, &b.lag_buckets));
    let lag_p99 = recent
        .and_then(|d| quantile(0.99, &d))
        .or_else(|| quantile(0.99, &now.lag_buckets));
    Figures {
        connections: now.connections.max(0.0) as u64,
        events_per_sec,
        lag_p99,
    }
}

/// One region's row: its last scrape, and the figures or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Region name.
    pub region: String,
    /// The last scrape that answered, and when.
    pub last: Option<(Micros, Scrape)>,
    /// The figures of the last scrape that answered.
    pub figures: Option<Figures>,
    /// Why the last scrape failed (cleared by the next that answers).
    pub error: Option<String>,
}

/// Every region's row, in the order they were first scraped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    /// The rows.
    pub rows: Vec<Row>,
}

/// The answer of one scrape: region, when it answered, and the text or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Scraped {
    /// Region name.
    pub region: String,
    /// When the answer came (this page's clock).
    pub at: Micros,
    /// The exposition, or why there is none.
    pub result: Result<String, HttpError>,
}

impl Reducible for Board {
    type Action = Scraped;

    fn reduce(self: Rc<Self>, action: Scraped) -> Rc<Self> {
        let mut board = (*self).clone();
        let index = match board.rows.iter().position(|r| r.region == action.region) {
            Some(i) => i,
            None => {
                board.rows.push(Row {
                    region: action.region.clone(),
                    last: None,
                    figures: None,
                    error: None,
                });
                board.rows.len() - 1
            }
        };
        let row = &mut board.rows[index];
        match action.result {
            Ok(text) => {
                let scrape = parse(&text);
                row.figures = Some(figures(row.last.as_ref(), action.at, &scrape));
                row.last = Some((action.at, scrape));
                row.error = None;
            }
            Err(e) => row.error = Some(e.to_string()),
        }
        Rc::new(board)
    }
}

#[cfg(test)]
mod tests;
