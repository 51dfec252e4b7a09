//! Publishers and subscribers on the clients host, recording every publish, ack and delivery.
//!
//! They run on one thread that has entered the clients host's network namespace (`setns`), on
//! a single-threaded runtime, so every socket they open is the clients host's.
//! - A **publisher** per region publishes `<region>-<n>` every [`LoadConfig::every`], one at a
//!   time, and retries the same id until it is acked: after a temporary error, and on a new
//!   connection when the socket closes or no answer comes within [`ANSWER`]. (Why this is not
//!   testkit's `publish_until_acked`: see `Publisher`.)
//! - **Subscribers** ([`LoadConfig::subscribers`] per region) record every event; when their
//!   socket closes, fails or stays silent for [`SILENCE`] they reconnect to the same region with
//!   `since` (the last offset they got) and `epoch`.
//!
//! Everything recorded is in a [`Tally`] behind a mutex that the test reads while it runs.

use crate::net::Host;
use crate::report::{Published, Subscriber, Tally};
use crate::socket::{connect, next_frame, Ws, BACKOFF};
use futures_util::SinkExt;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use wire::ServerFrame;

/// How long a publisher waits for the answer to a publish before retrying it on a new
/// connection.
pub const ANSWER: Duration = Duration::from_secs(3);
/// How long a subscriber accepts silence (the publishers never stop) before reconnecting.
pub const SILENCE: Duration = Duration::from_secs(5);

/// The load's shape.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The regions' token.
    pub token: String,
    /// Pause between one publisher's publishes.
    pub every: Duration,
    /// Subscribers per region.
    pub subscribers: usize,
}

/// Running publishers and subscribers.
pub struct Load {
    tally: Arc<Mutex<Tally>>,
    stop_publishing: CancellationToken,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Start the subscribers, wait until each is connected, then start the publishers.
    pub fn start(config: LoadConfig) -> Load {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop_publishing = CancellationToken::new();
        let stop = CancellationToken::new();
        let (t, sp, s) = (tally.clone(), stop_publishing.clone(), stop.clone());
        let thread = std::thread::spawn(move || in_clients(run(config, t, sp, s)));
        let load = Load {
            tally,
            stop_publishing,
            stop,
            thread: Some(thread),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !load.read(|t| t.publishing) {
            assert!(
                Instant::now() < deadline,
                "the subscribers did not connect within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        load
    }

    /// Read the tally.
    pub fn read<R>(&self, f: impl FnOnce(&Tally) -> R) -> R {
        f(&self.tally.lock().unwrap())
    }

    /// Wait (at most `bound`) until `done` holds; how long it took, or `None` if it never did.
    pub fn wait_for(&self, bound: Duration, done: impl Fn(&Tally) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < bound {
            if self.read(&done) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stop publishing new ids, let each publisher get its last one acked, wait (at most
    /// `bound`) until every subscriber has every acked event, stop everything, and return
    /// the tally.
    pub fn finish(mut self, bound: Duration) -> Tally {
        self.stop_publishing.cancel();
        let _ = self.wait_for(bound, |t| t.publishers_done == 3 && t.all_delivered());
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.tally.lock().unwrap())
    }
}

/// Run `future` to completion on a new thread inside the clients host (its own network
/// namespace), on a single-threaded runtime; every socket it opens is the clients host's.
/// Blocks the calling thread until it is done.
pub fn in_clients<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    in_netns(Host::Clients.netns(), future)
}

/// Run `future` to completion on a new thread inside the network namespace `ns` (of any
/// bed), as [`in_clients`] does for the testbed's clients host.
pub fn in_netns<F>(ns: String, future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("the host's namespace");
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("enter the host");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    })
    .join()
    .expect("the host's thread panicked")
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn run(
    config: LoadConfig,
    tally: Arc<Mutex<Tally>>,
    stop_publishing: CancellationToken,
    stop: CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for region in Host::REGIONS {
        for _ in 0..config.subscribers {
            let index = {
                let mut t = tally.lock().unwrap();
                t.subscribers.push(Subscriber::new(region));
                t.subscribers.len() - 1
            };
            tasks.spawn(subscribe(
                config.token.clone(),
                index,
                tally.clone(),
                stop.clone(),
            ));
        }
    }
    while !tally
        .lock()
        .unwrap()
        .subscribers
        .iter()
        .all(|s| s.connected)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally.lock().unwrap().publishing = true;
    for region in Host::REGIONS {
        let publisher = Publisher::new(
            config.clone(),
            region,
            tally.clone(),
            stop_publishing.clone(),
            stop.clone(),
        );
        tasks.spawn(publisher.run());
    }
    stop.cancelled().await;
    tasks.shutdown().await;
}

async fn subscribe(token: String, index: usize, tally: Arc<Mutex<Tally>>, stop: CancellationToken) {
    let region = tally.lock().unwrap().subscribers[index].region;
    let mut resume: Option<(u64, String)> = None;
    while !stop.is_cancelled() {
        let query = match &resume {
            Some((since, epoch)) => format!("token={token}&since={since}&epoch={epoch}"),
            None => format!("token={token}"),
        };
        let Some((mut ws, welcome)) = connect(region, &query).await else {
            tokio::time::sleep(BACKOFF).await;
            continue;
        };
        if let ServerFrame::Welcome { offset, epoch, .. } = welcome {
            let mut t = tally.lock().unwrap();
            let s = &mut t.subscribers[index];
            if resume.is_none() {
                s.start = offset;
                resume = Some((offset, epoch));
            }
            s.connected = true;
            s.connects += 1;
        }
        loop {
            let frame = tokio::select! {
                _ = stop.cancelled() => return,
                f = next_frame(&mut ws, SILENCE) => f,
            };
            let Ok(Some(frame)) = frame else { break };
            let mut t = tally.lock().unwrap();
            let s = &mut t.subscribers[index];
            match frame {
                ServerFrame::Event(e) => {
                    if let Some(r) = resume.as_mut() {
                        r.0 = e.offset;
                    }
                    s.events.push((e.offset, e.id));
                }
                ServerFrame::Gap { from, to, .. } => s.gaps.push((from, to)),
                ServerFrame::Epoch { epoch, offset, .. } => {
                    s.epochs += 1;
                    resume = Some((offset, epoch));
                }
                _ => {}
            }
        }
        tally.lock().unwrap().subscribers[index].connected = false;
        tokio::time::sleep(BACKOFF).await;
    }
}

/// A region's publisher: `<region>-<n>` every [`LoadConfig::every`], one id at a time, each
/// retried until it is acked or refused for good; every attempt and its outcome go into the
/// [`Tally`].
///
/// Not testkit's `publish_until_acked`, which the region suites use: that one publishes on a
/// single loopback connection and fails the test (a panic) when an answer does not come within
/// its patience, when the socket closes, or on anything but an ack or a temporary error. Here
/// the faults are the point. A partition drops packets without a reset, so an answer is waited
/// for at most [`ANSWER`] and the same id is then retried on a new connection (as after a
/// killed region's closed socket); what happened is recorded for the fault test to count and
/// report (attempts, the ack's offset and instant, a permanent refusal), never a panic on the
/// clients host's thread ([`in_clients`], another network namespace). And the testbed crate,
/// which ships the `testbed` binary, depends on `wire` only, not on the dev-only testkit.
struct Publisher {
    config: LoadConfig,
    region: Host,
    tally: Arc<Mutex<Tally>>,
    /// No new ids after it; the current one is still retried until it settles.
    stop_publishing: CancellationToken,
    stop: CancellationToken,
    /// The tally's index of the id in flight, until it is acked or refused for good.
    current: Option<usize>,
    /// The number of the next new id.
    n: u64,
}

/// What the publisher does after one attempt.
enum Then {
    /// The next attempt on the same connection (the next id, or the same after a temporary
    /// refusal).
    Continue,
    /// The same id again, on a new connection.
    Reconnect,
    /// The load is stopping.
    Stop,
}

impl Publisher {
    fn new(
        config: LoadConfig,
        region: Host,
        tally: Arc<Mutex<Tally>>,
        stop_publishing: CancellationToken,
        stop: CancellationToken,
    ) -> Self {
        Publisher {
            config,
            region,
            tally,
            stop_publishing,
            stop,
            current: None,
            n: 0,
        }
    }

    /// Connect, publish until the connection fails, and again, until stopped or done.
    async fn run(mut self) {
        while !self.stop.is_cancelled() {
            let query = format!("token={}", self.config.token);
            let Some((mut ws, _)) = connect(self.region, &query).await else {
                tokio::time::sleep(BACKOFF).await;
                continue;
            };
            loop {
                let Some(index) = self.in_flight().await else {
                    return;
                };
                match self.attempt(&mut ws, index).await {
                    Then::Continue => {}
                    Then::Reconnect => break,
                    Then::Stop => return,
                }
            }
        }
    }

    /// The id in flight, or a new one after [`LoadConfig::every`]; `None` (and this publisher
    /// counted as done) once publishing has stopped and nothing is in flight.
    async fn in_flight(&mut self) -> Option<usize> {
        if let Some(index) = self.current {
            return Some(index);
        }
        if self.stop_publishing.is_cancelled() {
            self.tally.lock().unwrap().publishers_done += 1;
            return None;
        }
        tokio::time::sleep(self.config.every).await;
        let id = format!("{}-{}", self.region.name(), self.n);
        self.n += 1;
        let mut t = self.tally.lock().unwrap();
        t.published.push(Published::new(id, self.region));
        self.current = Some(t.published.len() - 1);
        self.current
    }

    /// Publish the id at `index` once and wait for its answer.
    async fn attempt(&mut self, ws: &mut Ws, index: usize) -> Then {
        let id = {
            let mut t = self.tally.lock().unwrap();
            t.published[index].attempts += 1;
            t.published[index].id.clone()
        };
        let payload = serde_json::json!({ "n": index });
        let frame = wire::Publish::new(id.clone(), "testbed", &payload).to_text();
        if ws.send(Message::Text(frame.into())).await.is_err() {
            return Then::Reconnect;
        }
        loop {
            let answer = tokio::select! {
                _ = self.stop.cancelled() => return Then::Stop,
                f = next_frame(ws, ANSWER) => f,
            };
            match answer {
                Ok(Some(ServerFrame::Ack { id: a, offset, .. })) if a == id => {
                    self.settle(index, |p| p.acked = Some((offset, Instant::now())));
                    return Then::Continue;
                }
                Ok(Some(ServerFrame::Error {
                    id: Some(e),
                    temporary,
                    code,
                    ..
                })) if e == id => {
                    if !temporary {
                        self.settle(index, |p| p.refused = Some(code.to_string()));
                    }
                    tokio::time::sleep(BACKOFF).await;
                    return Then::Continue;
                }
                Ok(Some(_)) => continue,
                Ok(None) | Err(()) => {
                    tokio::time::sleep(BACKOFF).await;
                    return Then::Reconnect;
                }
            }
        }
    }

    /// Record how the id at `index` ended; the next attempt is a new id.
    fn settle(&mut self, index: usize, outcome: impl FnOnce(&mut Published)) {
        outcome(&mut self.tally.lock().unwrap().published[index]);
        self.current = None;
    }
}
