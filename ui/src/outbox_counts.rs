//! What a pane shows of its socket's outbox: publishes queued, in flight, waiting to be
//! retried, and dropped.
//!
//! Its own module because both sides hold it: the socket's [`crate::socket::outbox`] counts
//! (effects), the state keeps the latest per pane ([`crate::state::Pane::publishes`], pure).
//! Plain data, so the state depends on nothing effectful for it.

/// A snapshot of one socket's outbox, as the pane shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting to be sent (new, or due for a retry).
    pub queued: usize,
    /// Sent, no answer yet.
    pub inflight: usize,
    /// Refused for now, waiting out a backoff.
    pub retrying: usize,
    /// Refused for good (over the session).
    pub dropped: u64,
    /// The code of the last temporary refusal (its wire name, as the pane shows it), while
    /// any publish waits to be retried.
    pub retry_reason: Option<String>,
}

impl OutboxCounts {
    /// Publishes not acknowledged yet (and not dropped).
    pub fn total(&self) -> usize {
        self.queued + self.inflight + self.retrying
    }
}
