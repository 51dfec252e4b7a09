//! The bare server's fan-out, shaped like the regions' (`server-core/src/region/hub.rs` and
//! `feed/`), minus the broker: one fan-out task per port ("region") and one bounded queue
//! per client.
//!
//! # Contract
//! - [`Fanout::publish`] numbers a frame (1, 2, …) and appends the one shared buffer to
//!   every port's pending list under one lock, so each list is in offset order, then wakes
//!   the ports' fan-out tasks. It never waits for a client.
//! - Each port's task ([`Fanout::run_port`]) takes everything pending at once and pushes
//!   each frame, in order, to every client of its port, holding the port's client lock for
//!   the whole batch: a client woken by the first frame finds the rest of the batch queued
//!   behind it and writes them together. This is the regions' feed, which pushes each batch
//!   read from the broker the same way; the publisher's task does not do the fan-out.
//! - **Queues**: each client's queue holds [`CLIENT_QUEUE`] frames (the regions' per-client
//!   queue). A client further behind is dropped from its port and its `lagged` token is
//!   cancelled; its task closes it (1008), as the regions do.
//! - **The seam**: [`Fanout::join`] registers a client and reads the newest offset its port
//!   has pushed under the lock the port's task pushes with: every frame after that offset
//!   reaches the client, none before it.

use server_core::defaults::CLIENT_QUEUE;
use std::sync::Mutex;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite_axum::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

/// A client's end of the fan-out: its queue and what tells it that it fell behind.
pub(super) struct Joined {
    /// The newest offset its port had pushed when it joined (its `welcome` offset).
    pub(super) offset: u64,
    pub(super) queue: mpsc::Receiver<Utf8Bytes>,
    /// Cancelled when its queue was full: the client is closed as a slow consumer.
    pub(super) lagged: CancellationToken,
}

/// One client as its port's task sees it.
struct Subscriber {
    queue: mpsc::Sender<Utf8Bytes>,
    lagged: CancellationToken,
}

impl Subscriber {
    /// Queue `frame`; false when the client is gone or lagged (it is then dropped).
    fn push(&self, frame: &Utf8Bytes) -> bool {
        match self.queue.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lagged.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// A port's clients and the newest offset pushed to them.
#[derive(Default)]
struct Clients {
    pushed: u64,
    subscribers: Vec<Subscriber>,
}

/// One port: frames waiting for its task, the task's wake-up, its clients.
#[derive(Default)]
struct Port {
    /// Frames numbered but not yet pushed, in offset order. Std mutexes here and below: held
    /// for a few pushes, never across an await.
    pending: Mutex<Vec<(u64, Utf8Bytes)>>,
    /// A permit is stored when the task is busy: no wake-up is lost.
    wake: Notify,
    clients: Mutex<Clients>,
}

/// The fan-out every port shares.
pub(super) struct Fanout {
    /// The newest offset given; held to number a frame and append it to every port.
    last: Mutex<u64>,
    ports: Vec<Port>,
}

impl Fanout {
    /// A fan-out over `ports` ports (their tasks are started with [`Fanout::run_port`]).
    pub(super) fn new(ports: usize) -> Fanout {
        Fanout {
            last: Mutex::new(0),
            ports: (0..ports).map(|_| Port::default()).collect(),
        }
    }

    /// Number the frame `make` builds for the next offset, queue it for every port and wake
    /// their tasks; returns its offset.
    pub(super) fn publish(&self, make: impl FnOnce(u64) -> Utf8Bytes) -> u64 {
        let mut last = self.last.lock().expect("not poisoned");
        *last += 1;
        let offset = *last;
        let frame = make(offset);
        for port in &self.ports {
            port.pending
                .lock()
                .expect("not poisoned")
                .push((offset, frame.clone()));
            port.wake.notify_one();
        }
        offset
    }

    /// Register a client of `port` (see the seam in the module docs).
    pub(super) fn join(&self, port: usize) -> Joined {
        let (queue, rx) = mpsc::channel(CLIENT_QUEUE);
        let lagged = CancellationToken::new();
        let mut clients = self.ports[port].clients.lock().expect("not poisoned");
        clients.subscribers.push(Subscriber {
            queue,
            lagged: lagged.clone(),
        });
        Joined {
            offset: clients.pushed,
            queue: rx,
            lagged,
        }
    }

    /// Push what is pending for `port` to its clients, batch after batch, until `shutdown`.
    pub(super) async fn run_port(&self, port: usize, shutdown: CancellationToken) {
        let port = &self.ports[port];
        let mut batch = Vec::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = port.wake.notified() => {}
            }
            std::mem::swap(&mut *port.pending.lock().expect("not poisoned"), &mut batch);
            let mut clients = port.clients.lock().expect("not poisoned");
            for (offset, frame) in batch.drain(..) {
                clients.subscribers.retain(|s| s.push(&frame));
                clients.pushed = offset;
            }
        }
    }

    /// The newest offset given (for tests).
    #[cfg(test)]
    pub(super) fn last(&self) -> u64 {
        *self.last.lock().expect("not poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Every client of every port gets each frame published after it joined, once, in
    /// offset order; its welcome offset is what its port had pushed.
    #[tokio::test]
    async fn frames_reach_every_port_in_order_after_the_join() {
        let fanout = Arc::new(Fanout::new(2));
        let stop = CancellationToken::new();
        for p in 0..2 {
            let (f, s) = (fanout.clone(), stop.clone());
            tokio::spawn(async move { f.run_port(p, s).await });
        }
        let mut early = fanout.join(0);
        let mut witness = fanout.join(1);
        assert_eq!(early.offset, 0);
        fanout.publish(|n| Utf8Bytes::from(n.to_string()));
        assert_eq!(early.queue.recv().await.unwrap().as_str(), "1");
        assert_eq!(witness.queue.recv().await.unwrap().as_str(), "1");
        let mut late = fanout.join(1);
        assert_eq!(late.offset, 1, "port 1 pushed offset 1 before the join");
        for _ in 0..3 {
            fanout.publish(|n| Utf8Bytes::from(n.to_string()));
        }
        for joined in [&mut early, &mut late] {
            for want in ["2", "3", "4"] {
                assert_eq!(joined.queue.recv().await.unwrap().as_str(), want);
            }
        }
        assert_eq!(fanout.last(), 4);
        stop.cancel();
    }
}
