//! Publishers and subscribers on the clients host, recording every publish, ack and delivery.
//!
//! They run on one thread that has entered the clients host's network namespace (`setns`), on
//! a single-threaded runtime, so every socket they open is the clients host's.
//! - A **publisher** per region publishes `<region>-<n>` every [`LoadConfig::every`], one at a
//!   time, and retries the same id until it is acked: after a temporary error, and on a new
//!   connection when the socket closes or no answer comes within [`ANSWER`].
//! - **Subscribers** ([`LoadConfig::subscribers`] per region) record every event; when their
//!   socket closes, fails or stays silent for [`SILENCE`] they reconnect to the same region with
//!   `since` (the last offset they got) and `epoch`.
//!
//! Everything recorded is in a [`Tally`] behind a mutex that the test reads while it runs.

use crate::bed::region_addr;
use crate::net::Host;
use crate::report::{Published, Subscriber, Tally};
use futures_util::{SinkExt, StreamExt};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use wire::ServerFrame;

/// How long a publisher waits for the answer to a publish before retrying it on a new
/// connection.
pub const ANSWER: Duration = Duration::from_secs(3);
/// How long a subscriber accepts silence (the publishers never stop) before reconnecting.
pub const SILENCE: Duration = Duration::from_secs(5);
/// Bound on one connection attempt.
const CONNECT: Duration = Duration::from_secs(3);
/// Pause before a retry or a reconnect.
const BACKOFF: Duration = Duration::from_millis(200);

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

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
    std::thread::spawn(move || {
        let ns = std::fs::File::open(format!("/run/netns/{}", Host::Clients.netns()))
            .expect("the clients host's namespace");
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("enter the clients host");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    })
    .join()
    .expect("the clients host's thread panicked")
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
        tasks.spawn(publish(
            config.clone(),
            region,
            tally.clone(),
            stop_publishing.clone(),
            stop.clone(),
        ));
    }
    stop.cancelled().await;
    tasks.shutdown().await;
}

async fn connect(region: Host, query: &str) -> Option<(Ws, ServerFrame)> {
    let url = format!("ws://{}/ws?{query}", region_addr(region));
    let (mut ws, _) = tokio::time::timeout(CONNECT, tokio_tungstenite::connect_async(url))
        .await
        .ok()?
        .ok()?;
    let welcome = next_frame(&mut ws, CONNECT).await.ok()??;
    Some((ws, welcome))
}

/// The next frame: `Err` on silence for `wait`, `Ok(None)` when the socket ends.
async fn next_frame(ws: &mut Ws, wait: Duration) -> Result<Option<ServerFrame>, ()> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return Err(()),
            Ok(None | Some(Err(_))) => return Ok(None),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(serde_json::from_str(&t).ok()),
            Ok(Some(Ok(Message::Close(_)))) => return Ok(None),
            Ok(Some(Ok(_))) => continue,
        }
    }
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

async fn publish(
    config: LoadConfig,
    region: Host,
    tally: Arc<Mutex<Tally>>,
    stop_publishing: CancellationToken,
    stop: CancellationToken,
) {
    let mut current: Option<usize> = None;
    let mut n = 0u64;
    'connection: while !stop.is_cancelled() {
        let Some((mut ws, _)) = connect(region, &format!("token={}", config.token)).await else {
            tokio::time::sleep(BACKOFF).await;
            continue;
        };
        loop {
            let index = match current {
                Some(i) => i,
                None => {
                    if stop_publishing.is_cancelled() {
                        tally.lock().unwrap().publishers_done += 1;
                        return;
                    }
                    tokio::time::sleep(config.every).await;
                    let id = format!("{}-{n}", region.name());
                    n += 1;
                    let mut t = tally.lock().unwrap();
                    t.published.push(Published::new(id, region));
                    current = Some(t.published.len() - 1);
                    t.published.len() - 1
                }
            };
            let id = {
                let mut t = tally.lock().unwrap();
                t.published[index].attempts += 1;
                t.published[index].id.clone()
            };
            let frame = serde_json::json!({"type":"publish","id":id,"kind":"testbed","payload":{"n":index}});
            if ws
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                continue 'connection;
            }
            loop {
                let answer = tokio::select! {
                    _ = stop.cancelled() => return,
                    f = next_frame(&mut ws, ANSWER) => f,
                };
                match answer {
                    Ok(Some(ServerFrame::Ack { id: a, offset, .. })) if a == id => {
                        tally.lock().unwrap().published[index].acked =
                            Some((offset, Instant::now()));
                        current = None;
                        break;
                    }
                    Ok(Some(ServerFrame::Error {
                        id: Some(e),
                        temporary,
                        code,
                        ..
                    })) if e == id => {
                        if !temporary {
                            tally.lock().unwrap().published[index].refused = Some(code.to_string());
                            current = None;
                        }
                        tokio::time::sleep(BACKOFF).await;
                        break;
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(()) => {
                        tokio::time::sleep(BACKOFF).await;
                        continue 'connection;
                    }
                }
            }
        }
    }
}
