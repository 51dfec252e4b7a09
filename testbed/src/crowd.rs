//! Named members and presence watchers on the clients host, recording who they are and what
//! the watchers see.
//!
//! Like the [`load`](crate::load), they run on one thread inside the clients host's network
//! namespace ([`in_clients`]), on a single-threaded runtime.
//! - A **member** per seat ([`CrowdConfig::members`] per region) connects to its region with
//!   `/ws?channels=<channel>&name=<name>`, records the identity of its `welcome`, and holds its
//!   socket open, reading (so that the region's pings are answered) and ignoring what comes.
//! - A **watcher** per region does the same with `&presence=1`, and keeps its [`View`] of the
//!   channel's members from its `presence`, `join` and `leave` frames.
//!
//! Each reconnects to the same region after [`BACKOFF`] when its socket closes or fails, or
//! when the region stays silent for [`SILENCE`] (three of the regions' default ping
//! intervals: a region that is there pings), as a new member with a new id (that is what a
//! client of a restarted region is), unless the test dismissed it ([`Crowd::dismiss`]: it
//! closes its socket and does not come back). Everything is in a [`Roll`] behind a mutex that
//! the test reads while it runs.
//!
//! [`View`]: crate::presence::View

use crate::load::in_clients;
use crate::net::Host;
use crate::presence::{Roll, Seat};
use crate::socket::{connect, next_frame, BACKOFF};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wire::ServerFrame;

/// How long a member or watcher accepts a silent socket before reconnecting: three of the
/// regions' default ping intervals (10 s).
pub const SILENCE: Duration = Duration::from_secs(30);

/// Bound on the crowd's first connections.
const START: Duration = Duration::from_secs(20);

/// Display names the members take in turn (with their region and number appended): the
/// name rules' whole alphabet, spaces, an accent and an apostrophe included.
const NAMES: [&str; 5] = ["Ana", "Bo Li", "Zoë", "O'Neil", "dev@team_x.y"];

/// The crowd's shape.
#[derive(Debug, Clone)]
pub struct CrowdConfig {
    /// The regions' token.
    pub token: String,
    /// The channel every member follows.
    pub channel: String,
    /// Members per region (a watcher per region comes on top).
    pub members: usize,
}

/// Running members and watchers.
pub struct Crowd {
    roll: Arc<Mutex<Roll>>,
    stop: CancellationToken,
    /// One per seat: cancelled, the seat closes its socket for good.
    leave: Vec<CancellationToken>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Crowd {
    /// Start every member and watcher, and wait (at most 20 s) until each is connected and
    /// each watcher has its first list. Panics if they do not.
    pub fn start(config: CrowdConfig) -> Crowd {
        let mut roll = Roll::default();
        for region in Host::REGIONS {
            for i in 0..config.members {
                let name = format!("{} {} {i}", NAMES[i % NAMES.len()], region.name());
                roll.seats.push(Seat::new(region, name, false));
            }
        }
        for region in Host::REGIONS {
            let name = format!("watcher {}", region.name());
            roll.seats.push(Seat::new(region, name, true));
        }
        let leave: Vec<CancellationToken> = roll
            .seats
            .iter()
            .map(|_| CancellationToken::new())
            .collect();
        let roll = Arc::new(Mutex::new(roll));
        let stop = CancellationToken::new();
        let (r, s, l) = (roll.clone(), stop.clone(), leave.clone());
        let thread = std::thread::spawn(move || in_clients(run(config, r, s, l)));
        let crowd = Crowd {
            roll,
            stop,
            leave,
            thread: Some(thread),
        };
        let all = |r: &Roll| Host::REGIONS.iter().all(|h| r.connected(*h));
        assert!(
            crowd.wait_for(START, all).is_some(),
            "the members and watchers did not connect within {START:?}"
        );
        crowd
    }

    /// Read the roll.
    pub fn read<R>(&self, f: impl FnOnce(&Roll) -> R) -> R {
        f(&self.roll.lock().unwrap())
    }

    /// Begin a phase: see [`Roll::new_phase`].
    pub fn new_phase(&self) {
        self.roll.lock().unwrap().new_phase();
    }

    /// Wait (at most `bound`) until `done` holds; how long it took, or `None` if it never did.
    pub fn wait_for(&self, bound: Duration, done: impl Fn(&Roll) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < bound {
            if self.read(&done) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Close the sockets of `n` connected members (not watchers) of `region` for good, and
    /// wait (at most 5 s) until they are closed; their ids.
    pub fn dismiss(&self, region: Host, n: usize) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        {
            let mut roll = self.roll.lock().unwrap();
            let seats = roll.seats.iter_mut().enumerate();
            let members = seats.filter(|(_, s)| s.region == region && s.view.is_none());
            for (index, seat) in members.filter(|(_, s)| s.me.is_some()).take(n) {
                seat.dismissed = true;
                ids.extend(seat.me.as_ref().map(|m| m.id.clone()));
                self.leave[index].cancel();
            }
        }
        let closed = |r: &Roll| r.seats.iter().all(|s| !s.dismissed || s.me.is_none());
        assert!(
            self.wait_for(Duration::from_secs(5), closed).is_some(),
            "dismissed members did not close their sockets within 5 s"
        );
        ids
    }

    /// Close every socket and stop.
    pub fn finish(mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn run(
    config: CrowdConfig,
    roll: Arc<Mutex<Roll>>,
    stop: CancellationToken,
    leave: Vec<CancellationToken>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, leave) in leave.into_iter().enumerate() {
        let seat = Attend {
            config: config.clone(),
            index,
            roll: roll.clone(),
            stop: stop.clone(),
            leave,
        };
        tasks.spawn(seat.run());
    }
    stop.cancelled().await;
    tasks.shutdown().await;
}

/// One seat's connection, kept up until the crowd stops or the seat is dismissed.
struct Attend {
    config: CrowdConfig,
    index: usize,
    roll: Arc<Mutex<Roll>>,
    stop: CancellationToken,
    /// Cancelled when the seat is dismissed: it closes its socket and does not come back.
    leave: CancellationToken,
}

impl Attend {
    /// Connect, record the identity (and, for a watcher, the view) until the socket ends,
    /// and again.
    async fn run(self) {
        let (region, query) = self.query();
        while !self.stop.is_cancelled() && !self.leave.is_cancelled() {
            let welcome = tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = self.leave.cancelled() => break,
                w = connect(region, &query) => w,
            };
            let Some((
                mut ws,
                ServerFrame::Welcome {
                    member: Some(me), ..
                },
            )) = welcome
            else {
                tokio::time::sleep(BACKOFF).await;
                continue;
            };
            self.roll.lock().unwrap().seats[self.index].connected(me);
            loop {
                let frame = tokio::select! {
                    _ = self.stop.cancelled() => return,
                    _ = self.leave.cancelled() => {
                        let _ = ws.close(None).await;
                        break;
                    }
                    f = next_frame(&mut ws, SILENCE) => f,
                };
                let Ok(Some(frame)) = frame else { break };
                let mut roll = self.roll.lock().unwrap();
                if let Some(view) = roll.seats[self.index].view.as_mut() {
                    view.apply(&self.config.channel, frame);
                }
            }
            self.roll.lock().unwrap().seats[self.index].disconnected();
            tokio::time::sleep(BACKOFF).await;
        }
    }

    /// The seat's region and `/ws` query.
    fn query(&self) -> (Host, String) {
        let roll = self.roll.lock().unwrap();
        let seat = &roll.seats[self.index];
        let mut query = format!(
            "channels={}&name={}&token={}",
            self.config.channel,
            encode(&seat.name),
            self.config.token
        );
        if seat.view.is_some() {
            query.push_str("&presence=1");
        }
        (seat.region, query)
    }
}

/// `text` percent-encoded for a query string (every byte but the unreserved ones).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_display_name_and_encoded_for_the_query() {
        for base in NAMES {
            let name = format!("{base} eu 4");
            assert_eq!(wire::presence::check_name(&name), Ok(name.clone()));
        }
        assert_eq!(encode("Zoë O'Neil@x"), "Zo%C3%AB%20O%27Neil%40x");
    }
}
