//! A region socket's publishes, from the click until the server acknowledges them: the
//! socket is a correct publisher (docs/protocol.md, "Publishing").
//!
//! - **Ids.** Every publish gets its id when queued (`<region>-<session>-<n>`) and keeps it
//!   through every retry, so the server stores it once however often it is sent.
//! - **Temporary refusals** (`"temporary":true`: `broker_unavailable`, `rate_limited`) are
//!   sent again after a backoff: 250 ms doubling per refusal of that publish, at most 10 s.
//! - **Reconnects.** What was sent on a socket that closed before the answer came goes again,
//!   first, on the next one; publishes waiting out a backoff keep their time.
//! - **Permanent refusals** drop the publish; the pane shows the server's reason (the error
//!   frame becomes a notice in [`crate::state`]) and counts it in [`OutboxCounts::dropped`].
//! - **Bound.** At most [`MAX_PENDING`] publishes are queued, in flight or waiting to be
//!   retried. When a new publish (or burst) would exceed it, [`Outbox::push`] refuses it whole
//!   and says why: a publish once accepted is never dropped for a temporary reason, so the
//!   bound falls on new work, which the person can send again later.
//!
//! Pure (no timers, no socket): the socket calls it with the time, so it is unit-tested
//! natively.

use crate::channels::Channel;
use crate::outbox_counts::OutboxCounts;
use serde::Serialize;
use std::collections::VecDeque;
use wire::{ServerFrame, GLOBAL};

/// Publishes queued, in flight or waiting to be retried, at most.
pub const MAX_PENDING: usize = 20_000;

/// First retry delay after a temporary refusal, ms; doubles per refusal up to [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: f64 = 250.0;

/// Longest retry delay, ms.
pub const MAX_BACKOFF_MS: f64 = 10_000.0;

/// One publish on its way: its id, the frame that carries it, how often it was refused so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The client-chosen id, the same on every send.
    pub id: String,
    /// The `publish` frame ([`wire::Publish`]), serialized once when queued: every retry
    /// sends the same text.
    pub frame: String,
    /// Temporary refusals so far.
    pub refusals: u32,
}

/// What a person (or the scripted demo) asks to publish: `count` events of `kind` with
/// `text` (a burst when more than one) on `channel`.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The channel they go to (the publisher need not follow it).
    pub channel: Channel,
    /// Event kind.
    pub kind: String,
    /// The payload's `text`.
    pub text: String,
    /// How many (1: one event; more: a burst, each numbered).
    pub count: u32,
}

impl Draft {
    /// `count` events of `kind` with `text`, on `global`.
    pub fn new(kind: impl Into<String>, text: impl Into<String>, count: u32) -> Draft {
        Draft {
            channel: GLOBAL.into(),
            kind: kind.into(),
            text: text.into(),
            count,
        }
    }

    /// The same on `channel`.
    pub fn on(self, channel: Channel) -> Draft {
        Draft { channel, ..self }
    }
}

/// The payload of a publish from the form: its text and, in a burst, its place (`"3/100"`).
#[derive(Serialize)]
struct Payload<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    burst: Option<String>,
}

/// A publish (or burst) refused whole because the outbox would hold more than
/// [`MAX_PENDING`]; nothing of it was queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pending} publishes are still waiting to be sent or acknowledged; at most {MAX_PENDING} may be")]
pub struct OutboxFull {
    /// What the outbox held when it refused.
    pub pending: usize,
}

/// What an answer from the server did to the outbox.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Not about one of our publishes in flight.
    None,
    /// Acknowledged: stored (or stored earlier, a duplicate).
    Acked,
    /// Refused for now; sent again in this many ms.
    Retry(f64),
    /// Refused for good.
    Dropped,
}

/// The publishes of one socket.
#[derive(Debug, Default)]
pub struct Outbox {
    prefix: String,
    seq: u64,
    queue: VecDeque<Outgoing>,
    inflight: VecDeque<Outgoing>,
    /// Waiting out a backoff: `(due, publish)`, due in ms on the caller's clock.
    waiting: Vec<(f64, Outgoing)>,
    dropped: u64,
    retry_reason: Option<String>,
}

impl Outbox {
    /// An empty outbox whose ids start with `prefix` (unique per socket and session).
    pub fn new(prefix: String) -> Outbox {
        Outbox {
            prefix,
            ..Outbox::default()
        }
    }

    /// Queue the publishes of `draft` (a burst when its count is over 1); refused whole, with
    /// the reason, when it would take the outbox over [`MAX_PENDING`].
    pub fn push(&mut self, draft: &Draft) -> Result<u64, OutboxFull> {
        let Draft {
            channel,
            kind,
            text,
            count,
        } = draft;
        let pending = self.pending().total();
        if pending + *count as usize > MAX_PENDING {
            return Err(OutboxFull { pending });
        }
        for n in 1..=*count {
            self.seq += 1;
            let id = format!("{}-{}", self.prefix, self.seq);
            let payload = Payload {
                text,
                burst: (*count > 1).then(|| format!("{n}/{count}")),
            };
            let publish = wire::Publish::new(id.as_str(), kind, &payload);
            // `global` goes unnamed, as every publish did before channels (the server's
            // default), so a page that never picks a channel sends what it always sent.
            let publish = match &**channel {
                GLOBAL => publish,
                other => publish.on(other),
            };
            self.queue.push_back(Outgoing {
                frame: publish.to_text(),
                id,
                refusals: 0,
            });
        }
        Ok(*count as u64)
    }

    /// Move the publishes whose backoff ended by `now` to the front of the queue, oldest
    /// refusal first.
    pub fn promote(&mut self, now: f64) {
        let mut due: Vec<(f64, Outgoing)> = Vec::new();
        self.waiting.retain(|(at, p)| {
            if *at <= now {
                due.push((*at, p.clone()));
                false
            } else {
                true
            }
        });
        due.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, p) in due.into_iter().rev() {
            self.queue.push_front(p);
        }
        if self.waiting.is_empty() {
            self.retry_reason = None;
        }
    }

    /// The next publish to send, taken off the queue; give it back with [`Outbox::sent`] or
    /// [`Outbox::unsent`].
    pub fn take(&mut self) -> Option<Outgoing> {
        self.queue.pop_front()
    }

    /// `p` went out on the socket: it waits for its answer.
    pub fn sent(&mut self, p: Outgoing) {
        self.inflight.push_back(p);
    }

    /// `p` could not be sent: it goes first next time.
    pub fn unsent(&mut self, p: Outgoing) {
        self.queue.push_front(p);
    }

    /// The socket closed: what it carried without an answer goes again first, in order.
    pub fn disconnected(&mut self) {
        while let Some(p) = self.inflight.pop_back() {
            self.queue.push_front(p);
        }
    }

    /// Account for `frame` from the server at `now` (ms).
    pub fn on_reply(&mut self, frame: &ServerFrame, now: f64) -> Reply {
        let (id, refused) = match frame {
            ServerFrame::Ack { id, .. } => (id, None),
            ServerFrame::Error {
                id: Some(id),
                temporary,
                code,
                ..
            } => (id, Some((*temporary, code))),
            _ => return Reply::None,
        };
        let Some(pos) = self.inflight.iter().position(|p| &p.id == id) else {
            return Reply::None;
        };
        let Some(mut p) = self.inflight.remove(pos) else {
            return Reply::None;
        };
        match refused {
            None => Reply::Acked,
            Some((false, _)) => {
                self.dropped += 1;
                Reply::Dropped
            }
            Some((true, code)) => {
                p.refusals += 1;
                let wait =
                    (FIRST_BACKOFF_MS * 2f64.powi(p.refusals as i32 - 1)).min(MAX_BACKOFF_MS);
                self.waiting.push((now + wait, p));
                self.retry_reason = Some(code.to_string());
                Reply::Retry(wait)
            }
        }
    }

    /// True when publishes are queued to be sent now.
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// When the earliest backoff ends (ms), if a publish waits.
    pub fn next_due(&self) -> Option<f64> {
        self.waiting.iter().map(|(at, _)| *at).reduce(f64::min)
    }

    /// The counts the pane shows.
    pub fn pending(&self) -> OutboxCounts {
        OutboxCounts {
            queued: self.queue.len(),
            inflight: self.inflight.len(),
            retrying: self.waiting.len(),
            dropped: self.dropped,
            retry_reason: self.retry_reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
