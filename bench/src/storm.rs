//! A reconnect storm: clients that connect, stay a short random while, disconnect and come
//! back, over and over, until stopped; each connect is a presence join, each close a leave.
//!
//! # Contract
//! - **Bounded**: exactly `clients_per_region` tasks per region, started once; each one runs
//!   its client's connect → stay → close → pause cycle in turn, so a client has at most one
//!   connection open. At most [`StormSpec::connecting`] handshakes are in flight at once (a
//!   semaphore shared by every client): a server slow to accept slows the storm down rather
//!   than piling up connects.
//! - **Counted**: a join is a connect that got its `welcome` (the server made the client a
//!   member); a leave is a close of a welcomed connection, by the client (its stay ended,
//!   or the storm stopped) or by the server. A connect that failed or timed out is a failure,
//!   and the client pauses before it tries again. `joins - leaves` is the members open now.
//! - **Names**: client `k` of the storm connects as `/ws?channels=C&name=s<k>`, so its members
//!   are told apart from everyone else's (`anon-…`) and sit on the storm's channel `C` only:
//!   nobody publishes there, so the clients read no events and the storm costs presence alone.
//! - **Stopped**: [`Storm::stop`] cancels every client and waits for them: each open
//!   connection is closed (a close frame, then the socket dropped) before it returns, so the
//!   server has been told of every leave by then.

use crate::receiver::{self, Ws};
use crate::target::Target;
use futures_util::StreamExt;
use rand::Rng;
use serde::Serialize;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tokio_util::sync::CancellationToken;

/// How long a handshake (TCP, upgrade, welcome) may take before it counts as a failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close may take before the socket is dropped anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause after a failed connect.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// How the storm behaves.
#[derive(Debug, Clone, Serialize)]
pub struct StormSpec {
    /// Clients per region.
    pub clients_per_region: usize,
    /// The channel the clients are members of.
    pub channel: String,
    /// How long a client stays connected, ms (uniform in the range).
    pub stay_ms: Range<u64>,
    /// How long a client stays away before it reconnects, ms (uniform in the range).
    pub away_ms: Range<u64>,
    /// Handshakes in flight at most, all regions together.
    pub connecting: usize,
}

/// Joins, leaves and failures so far.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    /// Connects that got a `welcome`.
    pub joins: u64,
    /// Closes of welcomed connections.
    pub leaves: u64,
    /// Connects that failed or timed out.
    pub failures: u64,
}

impl Tally {
    /// Joins and leaves together: the presence changes the storm made.
    pub fn changes(&self) -> u64 {
        self.joins + self.leaves
    }

    /// What happened between `earlier` and this tally.
    pub fn since(&self, earlier: &Tally) -> Tally {
        Tally {
            joins: self.joins - earlier.joins,
            leaves: self.leaves - earlier.leaves,
            failures: self.failures - earlier.failures,
        }
    }
}

/// The shared counters behind [`Tally`].
#[derive(Debug, Default)]
struct Counters {
    joins: AtomicU64,
    leaves: AtomicU64,
    failures: AtomicU64,
}

impl Counters {
    fn tally(&self) -> Tally {
        Tally {
            joins: self.joins.load(Ordering::Relaxed),
            leaves: self.leaves.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// A running storm.
pub struct Storm {
    counters: Arc<Counters>,
    stop: CancellationToken,
    clients: Vec<JoinHandle<()>>,
}

impl Storm {
    /// Start `spec.clients_per_region` clients on each of `targets`.
    pub fn start(targets: &[Target], spec: &StormSpec) -> Storm {
        let counters = Arc::new(Counters::default());
        let stop = CancellationToken::new();
        let gate = Arc::new(Semaphore::new(spec.connecting.max(1)));
        let mut clients = Vec::with_capacity(targets.len() * spec.clients_per_region);
        for (r, target) in targets.iter().enumerate() {
            for i in 0..spec.clients_per_region {
                let k = r * spec.clients_per_region + i;
                let client = Client {
                    url: format!("{}?channels={}&name=s{k}", target.url, spec.channel),
                    stay_ms: spec.stay_ms.clone(),
                    away_ms: spec.away_ms.clone(),
                    gate: gate.clone(),
                    counters: counters.clone(),
                    stop: stop.clone(),
                };
                clients.push(tokio::spawn(client.run()));
            }
        }
        Storm {
            counters,
            stop,
            clients,
        }
    }

    /// Joins, leaves and failures so far.
    pub fn tally(&self) -> Tally {
        self.counters.tally()
    }

    /// Stop every client, closing its connection: the final tally (`joins == leaves`).
    pub async fn stop(self) -> Tally {
        self.stop.cancel();
        for c in self.clients {
            let _ = c.await;
        }
        self.counters.tally()
    }
}

/// One client of the storm: connect, stay, close, pause, until stopped.
struct Client {
    url: String,
    stay_ms: Range<u64>,
    away_ms: Range<u64>,
    gate: Arc<Semaphore>,
    counters: Arc<Counters>,
    stop: CancellationToken,
}

/// A uniformly random duration in `ms` (its start when empty).
fn random_ms(ms: &Range<u64>) -> Duration {
    let ms = if ms.is_empty() {
        ms.start
    } else {
        rand::rng().random_range(ms.clone())
    };
    Duration::from_millis(ms)
}

impl Client {
    async fn run(self) {
        while !self.stop.is_cancelled() {
            let pause = match self.connect().await {
                Some(ws) => {
                    self.counters.joins.fetch_add(1, Ordering::Relaxed);
                    self.stay(ws).await;
                    self.counters.leaves.fetch_add(1, Ordering::Relaxed);
                    random_ms(&self.away_ms)
                }
                None => RETRY_PAUSE,
            };
            tokio::select! {
                _ = sleep(pause) => {}
                _ = self.stop.cancelled() => {}
            }
        }
    }

    /// One handshake under the gate: the socket once welcomed, `None` when stopped first or
    /// when it failed (counted).
    async fn connect(&self) -> Option<Ws> {
        let _permit = tokio::select! {
            p = self.gate.acquire() => p.ok()?,
            _ = self.stop.cancelled() => return None,
        };
        let connected = tokio::select! {
            c = timeout(CONNECT_TIMEOUT, receiver::connect(&self.url)) => c,
            _ = self.stop.cancelled() => return None,
        };
        match connected {
            Ok(Ok(ws)) => Some(ws),
            _ => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Stay connected for a random while (reading and dropping what comes, so pings are
    /// answered), then close; returns early when the server closes or the storm stops.
    async fn stay(&self, mut ws: Ws) {
        let until = Instant::now() + random_ms(&self.stay_ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                _ = self.stop.cancelled() => break,
                m = ws.next() => match m {
                    Some(Ok(_)) => continue,
                    // The server closed it: nothing left to close.
                    Some(Err(_)) | None => return,
                },
            }
        }
        let _ = timeout(CLOSE_TIMEOUT, ws.close(None)).await;
        // Read up to the server's answering close, so the leave is the server's to make now.
        let _ = timeout(CLOSE_TIMEOUT, async { while ws.next().await.is_some() {} }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tally's difference counts only what happened in between.
    #[test]
    fn a_tally_since_an_earlier_one() {
        let a = Tally {
            joins: 5,
            leaves: 3,
            failures: 1,
        };
        let b = Tally {
            joins: 9,
            leaves: 8,
            failures: 1,
        };
        let d = b.since(&a);
        assert_eq!((d.joins, d.leaves, d.failures, d.changes()), (4, 5, 0, 9));
    }

    /// Random stays fall in their range; an empty range is its start.
    #[test]
    fn random_stays_fall_in_range() {
        for _ in 0..100 {
            let d = random_ms(&(10..20));
            assert!(d >= Duration::from_millis(10) && d < Duration::from_millis(20));
        }
        assert_eq!(random_ms(&(7..7)), Duration::from_millis(7));
    }
}
