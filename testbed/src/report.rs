//! What the load recorded, and the counts a fault test reports and asserts.
//!
//! - **lost**: an acked event some subscriber never got (counted per subscriber);
//! - **duplicated**: an id a subscriber got more than once (stored twice, or delivered twice);
//! - **misordered**: a subscriber's offsets not strictly one after another from where it
//!   started (a gap or a repeat at a resume seam);
//! - times to notice and recover are measured by the test and printed with the counts.

use crate::net::Host;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

/// One id a publisher published (and retried until acked).
#[derive(Debug, Clone)]
pub struct Published {
    /// The publish id, `<region>-<n>`.
    pub id: String,
    /// The region it was published to.
    pub region: Host,
    /// When it was first sent.
    pub first_sent: Instant,
    /// Times it was sent (1 + retries).
    pub attempts: u32,
    /// Its offset and when the ack came.
    pub acked: Option<(u64, Instant)>,
    /// The code of a permanent refusal, if any.
    pub refused: Option<String>,
}

impl Published {
    pub(crate) fn new(id: String, region: Host) -> Self {
        Published {
            id,
            region,
            first_sent: Instant::now(),
            attempts: 0,
            acked: None,
            refused: None,
        }
    }
}

/// One subscriber's record.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// The region it is connected to.
    pub region: Host,
    /// The log's offset when it first connected (it must get everything after).
    pub start: u64,
    /// Every event it got, in order: offset and id.
    pub events: Vec<(u64, String)>,
    /// `gap` frames it got.
    pub gaps: Vec<(u64, u64)>,
    /// `epoch` frames it got.
    pub epochs: u32,
    /// Whether its socket is open now.
    pub connected: bool,
    /// Connections made (1 + reconnects).
    pub connects: u32,
}

impl Subscriber {
    pub(crate) fn new(region: Host) -> Self {
        Subscriber {
            region,
            start: 0,
            events: Vec::new(),
            gaps: Vec::new(),
            epochs: 0,
            connected: false,
            connects: 0,
        }
    }

    fn last(&self) -> u64 {
        self.events.last().map_or(self.start, |e| e.0)
    }
}

/// Everything the load recorded.
#[derive(Debug, Default)]
pub struct Tally {
    /// Every id published, in creation order.
    pub published: Vec<Published>,
    /// Every subscriber.
    pub subscribers: Vec<Subscriber>,
    /// Set once every subscriber was connected and the publishers started.
    pub publishing: bool,
    /// Publishers that stopped after their last id was acked.
    pub publishers_done: usize,
}

impl Tally {
    /// Subscribers of `region` whose socket is open.
    pub fn connected(&self, region: Host) -> usize {
        self.subscribers
            .iter()
            .filter(|s| s.region == region && s.connected)
            .count()
    }

    /// Every id first sent before `before` is acked, and every subscriber has got the log up
    /// to the highest of those offsets.
    pub fn recovered(&self, before: Instant) -> bool {
        let mut high = 0;
        for p in self.published.iter().filter(|p| p.first_sent < before) {
            match p.acked {
                Some((offset, _)) => high = high.max(offset),
                None if p.refused.is_some() => {}
                None => return false,
            }
        }
        self.subscribers.iter().all(|s| s.last() >= high)
    }

    /// Every publish is acked and every subscriber has got the log up to the highest ack.
    pub fn all_delivered(&self) -> bool {
        self.recovered(Instant::now() + Duration::from_secs(3600))
    }

    /// The counts.
    pub fn report(&self) -> Report {
        let acked: HashMap<&str, u64> = self
            .published
            .iter()
            .filter_map(|p| p.acked.map(|(o, _)| (p.id.as_str(), o)))
            .collect();
        let mut r = Report {
            published: self.published.len(),
            acked: acked.len(),
            retries: self
                .published
                .iter()
                .map(|p| p.attempts.saturating_sub(1) as usize)
                .sum(),
            refused: self
                .published
                .iter()
                .filter(|p| p.refused.is_some())
                .count(),
            ..Report::default()
        };
        for s in &self.subscribers {
            let mut seen = HashSet::new();
            let mut expected = s.start + 1;
            let mut misordered = 0;
            for (offset, id) in &s.events {
                if !seen.insert(id.as_str()) {
                    r.duplicated += 1;
                }
                if *offset != expected {
                    misordered += 1;
                }
                expected = offset + 1;
            }
            let lost = acked
                .iter()
                .filter(|(id, o)| **o > s.start && !seen.contains(**id))
                .count();
            r.lost += lost;
            r.misordered += misordered;
            r.gaps += s.gaps.len();
            r.per_subscriber.push(format!(
                "{}: {} delivered, {} connections, {} lost",
                s.region.name(),
                s.events.len(),
                s.connects,
                lost
            ));
        }
        r
    }
}

/// The counts of one fault test.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Ids published (each retried until acked).
    pub published: usize,
    /// Ids acked.
    pub acked: usize,
    /// Re-sends of an id.
    pub retries: usize,
    /// Ids refused permanently.
    pub refused: usize,
    /// Acked events a subscriber never got, summed over subscribers.
    pub lost: usize,
    /// Events a subscriber got twice, summed over subscribers.
    pub duplicated: usize,
    /// Events a subscriber got out of offset order or after a hole.
    pub misordered: usize,
    /// `gap` frames subscribers got.
    pub gaps: usize,
    /// One line per subscriber.
    pub per_subscriber: Vec<String>,
    /// From the fault until the system showed it noticed (what it is, is in `noticed_by`).
    pub time_to_notice: Option<Duration>,
    /// What counted as noticing.
    pub noticed_by: String,
    /// From the heal (or restart) until everything published before it was acked and
    /// delivered to every subscriber.
    pub time_to_recover: Option<Duration>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms =
            |d: Option<Duration>| d.map_or("never".into(), |d| format!("{} ms", d.as_millis()));
        writeln!(
            f,
            "published {}, acked {}, retries {}, refused {}, lost {}, duplicated {}, misordered {}, gaps {}",
            self.published,
            self.acked,
            self.retries,
            self.refused,
            self.lost,
            self.duplicated,
            self.misordered,
            self.gaps
        )?;
        writeln!(
            f,
            "time to notice {} ({}), time to recover {}",
            ms(self.time_to_notice),
            self.noticed_by,
            ms(self.time_to_recover)
        )?;
        for line in &self.per_subscriber {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
