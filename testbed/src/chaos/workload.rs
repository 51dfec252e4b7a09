//! The chaos run's clients, on the clients hosts `c1` and `c2` (each a thread that entered
//! the host's namespace, on a single-threaded runtime), recording into the [`History`].
//!
//! - A **publisher** per region publishes `<region>-<n>` round-robin on [`CHANNELS`], one new
//!   id every `every`, pipelined: up to [`WINDOW`] ids in flight on one connection. Each id is
//!   retried until it is acked: after a temporary error on the same connection, and on a new
//!   connection (all of its ids in flight again) when the socket closes, when no ack comes for
//!   [`ANSWER`], or in a reconnect storm. A region's ack of an id sent twice is recorded each
//!   time (the checker requires one offset).
//! - **Subscribers** follow every channel and record every frame; when the socket closes, goes
//!   silent for [`SILENCE`], or a storm comes, they resume with `since` and `epoch` per
//!   channel. [`Behaviour::Staying`] ones only do that; [`Behaviour::Reconnecting`] ones also
//!   drop their socket every few seconds (drawn from the seed); [`Behaviour::Roaming`] ones too,
//!   resuming in the next region each time; [`Behaviour::Slow`] ones stop reading for 1–8 s
//!   every few seconds (the region's queue and the TCP buffers hold what comes meanwhile).

use super::deploy::clients_netns;
use super::history::{Behaviour, History, Subscriber};
use super::nemesis::REGIONS;
use super::rng::Rng;
use crate::load::in_netns;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The channels every publisher publishes on and every subscriber follows.
pub const CHANNELS: [&str; 3] = ["ch0", "ch1", "ch2"];
/// Ids one publisher has in flight at most.
pub const WINDOW: usize = 4;
/// How long a publisher with ids in flight waits for an ack before it reconnects.
pub const ANSWER: Duration = Duration::from_secs(3);
/// How long a subscriber accepts silence before it reconnects.
pub const SILENCE: Duration = Duration::from_secs(5);

/// What the clients share: the history, and what the run watches while it goes.
pub struct Shared {
    /// Everything recorded.
    pub history: History,
    /// Per subscriber, the last offset it got of each channel.
    pub last: Vec<[u64; 3]>,
    /// Per channel, the highest offset acked (since the last restore of an older snapshot:
    /// the new log's offsets start again below it).
    pub max_acked: [u64; 3],
    /// Per subscriber, whether it has had a `welcome`.
    pub welcomed: Vec<bool>,
    /// Per subscriber, its member id while connected (its latest `welcome`'s).
    pub member: Vec<Option<String>>,
}

impl Shared {
    /// Every subscriber holds every channel's highest acked offset.
    pub fn caught_up(&self) -> bool {
        self.last
            .iter()
            .all(|l| l.iter().zip(self.max_acked).all(|(l, m)| *l >= m))
    }
}

/// The running clients.
pub struct Workload {
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) stop_publishing: CancellationToken,
    pub(super) stop: CancellationToken,
    storm: watch::Sender<u64>,
    pub(super) publishers_done: Arc<AtomicUsize>,
    publishing: Arc<AtomicBool>,
    holding: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// The index of channel `c` in [`CHANNELS`].
pub(super) fn channel_index(c: &str) -> Option<usize> {
    CHANNELS.iter().position(|x| *x == c)
}

impl Workload {
    /// Start the subscribers (2 staying per region on `c1`; 1 reconnecting, 1 roaming and 1
    /// slow per region on `c2`), wait (bounded) until each had its `welcome`, then start a publisher
    /// per region (AS and US on `c1`, EU on `c2`) publishing every `every`.
    pub fn start(token: &str, every: Duration, rng: &mut Rng, history: History) -> Workload {
        let shared = Arc::new(Mutex::new(Shared {
            history,
            last: Vec::new(),
            max_acked: [0; 3],
            welcomed: Vec::new(),
            member: Vec::new(),
        }));
        let (stop_publishing, stop) = (CancellationToken::new(), CancellationToken::new());
        let (storm, _) = watch::channel(0u64);
        let publishers_done = Arc::new(AtomicUsize::new(0));
        let mut plan: [Vec<Client>; 2] = [Vec::new(), Vec::new()];
        for (r, name) in REGIONS.iter().enumerate() {
            for (host, behaviour) in [
                (0, Behaviour::Staying),
                (0, Behaviour::Staying),
                (1, Behaviour::Reconnecting),
                (1, Behaviour::Roaming),
                (1, Behaviour::Slow),
            ] {
                let mut sh = shared.lock().unwrap();
                let index = sh.history.subscribers.len();
                sh.history.subscribers.push(Subscriber {
                    name: format!("sub-{index}@{name}"),
                    behaviour,
                    channels: CHANNELS.map(str::to_owned).to_vec(),
                    seen: Vec::new(),
                });
                sh.last.push([0; 3]);
                sh.welcomed.push(false);
                sh.member.push(None);
                plan[host].push(Client::Subscriber {
                    index,
                    region: r,
                    behaviour,
                    rng: rng.fork(),
                });
            }
        }
        let mut workload = Workload {
            shared,
            stop_publishing,
            stop,
            storm,
            publishers_done,
            publishing: Arc::new(AtomicBool::new(false)),
            holding: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        };
        for (host, clients) in plan.into_iter().enumerate() {
            let ctx = workload.context(token, every);
            workload.threads.push(std::thread::spawn(move || {
                in_netns(clients_netns(host), run(ctx, clients, host));
            }));
        }
        workload.wait(Duration::from_secs(30), |s| s.welcomed.iter().all(|w| *w));
        workload.publishing.store(true, Ordering::SeqCst);
        workload
    }

    fn context(&self, token: &str, every: Duration) -> Context {
        Context {
            token: token.to_owned(),
            every,
            shared: self.shared.clone(),
            stop_publishing: self.stop_publishing.clone(),
            stop: self.stop.clone(),
            storm: self.storm.subscribe(),
            publishers_done: self.publishers_done.clone(),
            publishing: self.publishing.clone(),
            holding: self.holding.clone(),
        }
    }

    /// Read the shared state.
    pub fn read<R>(&self, f: impl FnOnce(&Shared) -> R) -> R {
        f(&self.shared.lock().unwrap())
    }

    /// Record something in the history.
    pub fn record(&self, f: impl FnOnce(&mut History)) {
        f(&mut self.shared.lock().unwrap().history)
    }

    /// Every client drops its socket now and reconnects.
    pub fn storm(&self) {
        self.storm.send_modify(|n| *n += 1);
    }

    /// Redis went back to an older snapshot: the acked offsets so far belong to the old logs.
    pub fn forget_acked_offsets(&self) {
        self.shared.lock().unwrap().max_acked = [0; 3];
    }

    /// Poll `done` every 50 ms for at most `bound`; how long until it held.
    pub fn wait(&self, bound: Duration, done: impl Fn(&Shared) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < bound {
            if self.read(&done) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Stop new ids, wait (at most `bound`) until every publisher's ids are acked and every
    /// subscriber holds every acked offset (how long that took); from then on subscribers
    /// keep their connection through silence, so that who is connected stays put.
    pub fn settle(&self, bound: Duration) -> Option<Duration> {
        self.stop_publishing.cancel();
        let took = self.wait(bound, |s| {
            self.publishers_done.load(Ordering::SeqCst) == 3 && s.caught_up()
        });
        self.holding.store(true, Ordering::SeqCst);
        took
    }

    /// Close every client; the history.
    pub fn close(mut self) -> History {
        self.stop.cancel();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut sh = self.shared.lock().unwrap();
        std::mem::replace(&mut sh.history, History::new(true))
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What every client task of a clients host holds.
#[derive(Clone)]
pub(super) struct Context {
    pub(super) token: String,
    pub(super) every: Duration,
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) stop_publishing: CancellationToken,
    pub(super) stop: CancellationToken,
    pub(super) storm: watch::Receiver<u64>,
    pub(super) publishers_done: Arc<AtomicUsize>,
    /// Set once every subscriber had its welcome: publishers start then.
    pub(super) publishing: Arc<AtomicBool>,
    /// Set once the run settled: subscribers no longer reconnect after a silence.
    pub(super) holding: Arc<AtomicBool>,
}

enum Client {
    Subscriber {
        index: usize,
        region: usize,
        behaviour: Behaviour,
        rng: Rng,
    },
}

async fn run(ctx: Context, clients: Vec<Client>, host: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for c in clients {
        let Client::Subscriber {
            index,
            region,
            behaviour,
            rng,
        } = c;
        tasks.spawn(super::subscriber::subscribe(
            ctx.clone(),
            index,
            region,
            behaviour,
            rng,
        ));
    }
    while !ctx.publishing.load(Ordering::SeqCst) && !ctx.stop.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let regions: &[usize] = if host == 0 { &[0, 1] } else { &[2] };
    for r in regions {
        tasks.spawn(super::publisher::publish(ctx.clone(), *r));
    }
    ctx.stop.cancelled().await;
    tasks.shutdown().await;
}
