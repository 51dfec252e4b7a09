//! Where a violation is in a subscriber's record, and the frames around it.

use super::Violation;
use crate::chaos::history::{History, Seen};

/// Where subscriber `si` got `id` of `channel` (its second delivery, else its first).
pub(super) fn find(h: &History, si: usize, channel: &str, id: &str) -> Option<(usize, usize)> {
    let hits = h.subscribers[si].seen.iter().enumerate().filter(
        |(_, (_, s))| matches!(s, Seen::Event { channel: c, id: i, .. } if c == channel && i == id),
    );
    let hits: Vec<usize> = hits.map(|(i, _)| i).collect();
    hits.get(1).or(hits.first()).map(|i| (si, *i))
}

/// The last frame of `channel` subscriber `si` got below `offset`.
pub(super) fn near(h: &History, si: usize, channel: &str, offset: u64) -> Option<(usize, usize)> {
    let seen = &h.subscribers[si].seen;
    let i = seen.iter().rposition(|(_, s)| {
        matches!(s, Seen::Event { channel: c, offset: o, .. } if c == channel && *o < offset)
    });
    Some((si, i.unwrap_or(0)))
}

/// The frames around a violation's place: what a failing run prints.
pub fn around(h: &History, v: &Violation) -> String {
    let Some((si, i)) = v.at else {
        return String::new();
    };
    let s = &h.subscribers[si];
    let from = i.saturating_sub(6);
    let to = (i + 6).min(s.seen.len());
    let mut out = format!("{}'s last welcomes and announcements before it:\n", s.name);
    let before = s.seen[..from]
        .iter()
        .filter(|(_, seen)| !matches!(seen, Seen::Event { .. }))
        .collect::<Vec<_>>();
    for (ms, seen) in &before[before.len().saturating_sub(8)..] {
        out.push_str(&format!("   {ms:>8} ms  {seen:?}\n"));
    }
    out.push_str(&format!(
        "frames of {} ({:?}) around it:\n",
        s.name, s.behaviour
    ));
    for (k, (ms, seen)) in s.seen[from..to].iter().enumerate() {
        let mark = if from + k == i { ">>" } else { "  " };
        out.push_str(&format!("{mark} {ms:>8} ms  {seen:?}\n"));
    }
    out
}
