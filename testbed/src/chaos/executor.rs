//! Applying the nemesis's schedule to the running bed: each [`Planned`] fault started and
//! healed at its time, the regions' resources sampled every second in between, everything
//! recorded in the history. A region that is not killed on purpose and has exited is started
//! again every second, as a supervisor would: `multiregion serve` exits at start when it
//! cannot reach Redis (its host partitioned from it), and a killed region's heal may meet that. Preconditions that keep a fault within what the deployment
//! promises to survive are checked when it starts (a primary is killed, or snapshotted for a
//! restore, only while its replica is in sync; otherwise the fault is skipped and reported
//! as such).

use super::deploy::{clients_netns, Deployment, Node};
use super::nemesis::{Fault, Planned};
use super::resources;
use super::topology::Topology;
use super::workload::Workload;
use crate::net;
use std::time::{Duration, Instant};

/// How long a heal waits for the Sentinels to name a new primary.
const FAILOVER: Duration = Duration::from_secs(30);

/// What is done at one moment.
enum Action {
    Start(usize),
    Heal(usize),
}

/// The schedule, applied.
pub struct Executor<'a> {
    bed: &'a mut Deployment,
    load: &'a Workload,
    plan: &'a [Planned],
    /// Per planned fault: whether it was applied, and the primary it killed with the
    /// replica that takes over.
    applied: Vec<Option<Option<(usize, usize)>>>,
    /// The index of each fault's entry in the history's fault list.
    recorded: Vec<Option<usize>>,
    /// Regions killed and not yet healed: the supervisor leaves them down.
    down: [bool; 3],
}

impl<'a> Executor<'a> {
    /// An executor of `plan` on `bed`, recording into `load`'s history.
    pub fn new(bed: &'a mut Deployment, load: &'a Workload, plan: &'a [Planned]) -> Self {
        Executor {
            bed,
            load,
            plan,
            applied: vec![None; plan.len()],
            recorded: vec![None; plan.len()],
            down: [false; 3],
        }
    }

    /// Run the schedule from now (its zero) until `length`, sampling resources every second;
    /// then make sure everything is healed and running.
    pub fn run(&mut self, length: Duration) {
        let zero = Instant::now();
        let mut actions: Vec<(Duration, Action)> = Vec::new();
        for (i, p) in self.plan.iter().enumerate() {
            actions.push((p.at, Action::Start(i)));
            actions.push((p.heal_at(), Action::Heal(i)));
        }
        // At one instant, starts before heals: a storm (zero length) starts, then heals.
        actions.sort_by_key(|(t, a)| (*t, matches!(a, Action::Heal(_))));
        let mut next_sample = Duration::ZERO;
        let mut actions = actions.into_iter().peekable();
        loop {
            let now = zero.elapsed();
            if now >= next_sample {
                self.supervise();
                self.sample();
                next_sample = now + Duration::from_secs(1);
            }
            match actions.peek() {
                Some((t, _)) if *t <= now => {
                    let (_, a) = actions.next().expect("peeked");
                    match a {
                        Action::Start(i) => self.start(i),
                        Action::Heal(i) => self.heal(i),
                    }
                }
                Some((t, _)) => std::thread::sleep((*t - now).min(next_sample - now)),
                None if now >= length => break,
                None => std::thread::sleep((length - now).min(next_sample - now)),
            }
        }
        self.settle();
    }

    /// Start again every region that should run and has exited (once a second).
    fn supervise(&mut self) {
        for r in 0..3 {
            if !self.down[r] && !self.bed.running(Node::Region(r)) {
                if let Err(e) = self.bed.spawn(Node::Region(r)) {
                    eprintln!("chaos: could not start region {r}: {e}");
                }
            }
        }
    }

    /// Sample every running region.
    pub fn sample(&mut self) {
        for r in 0..3 {
            let Some(pid) = self.bed.pid(Node::Region(r)) else {
                continue;
            };
            let at = self.load.read(|s| s.history.now());
            if let Some(s) = resources::sample(pid, at) {
                self.load.record(|h| h.resources[r].push(s));
            }
        }
    }

    fn start(&mut self, i: usize) {
        let fault = self.plan[i].fault.clone();
        let mut killed = None;
        let done: Result<(), String> = match &fault {
            Fault::KillPrimary => match self.killable() {
                Ok((p, r)) => {
                    self.bed.kill(Node::Data(p));
                    killed = Some((p, r));
                    Ok(())
                }
                Err(why) => Err(format!("skipped: {why}")),
            },
            Fault::RegionFromRedis(r) => (0..self.bed.topology().data_nodes())
                .try_for_each(|d| {
                    net::drop_between(&Node::Region(*r).netns(), Node::Data(d).addr())
                })
                .map_err(|e| e.to_string()),
            Fault::ClientsFromRegion(c, r) => {
                net::drop_between(&clients_netns(*c), Node::Region(*r).addr())
                    .map_err(|e| e.to_string())
            }
            Fault::KillRegion(r) => {
                self.bed.kill(Node::Region(*r));
                self.down[*r] = true;
                Ok(())
            }
            Fault::Latency {
                region,
                latency_ms,
                jitter_ms,
            } => self
                .bed
                .set_sim(*region, *latency_ms, *jitter_ms)
                .map_err(|e| e.to_string()),
            Fault::ReconnectStorm => {
                self.load.storm();
                Ok(())
            }
            Fault::RestoreSnapshot if self.bed.topology() == Topology::Cluster => {
                Err("skipped: not in the Cluster variant (a restore puts every shard back)".into())
            }
            Fault::RestoreSnapshot => match self.killable() {
                Ok((p, _)) => self.bed.snapshot(p, i).map_err(|e| format!("skipped: {e}")),
                Err(why) => Err(format!("skipped: {why}")),
            },
        };
        let ms = self.load.read(|s| s.history.now());
        match done {
            Ok(()) => {
                eprintln!("chaos: {:>7.1}s  start  {fault}", ms as f64 / 1000.0);
                self.applied[i] = Some(killed);
                self.load.record(|h| {
                    h.faults.push((fault.to_string(), fault.kind(), ms, None));
                    self.recorded[i] = Some(h.faults.len() - 1);
                });
            }
            Err(why) => eprintln!("chaos: {:>7.1}s  {fault}: {why}", ms as f64 / 1000.0),
        }
    }

    /// A primary to kill and its replica, once one's replica is in sync (waiting up to 10 s).
    fn killable(&self) -> Result<(usize, usize), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.bed.killable_primary() {
                Ok(pair) if self.bed.replica_synced(pair.1) => return Ok(pair),
                Ok(pair) if Instant::now() >= deadline => {
                    return Err(format!("r{}'s replica is not in sync", pair.0 + 1))
                }
                Err(why) if Instant::now() >= deadline => return Err(why),
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    fn heal(&mut self, i: usize) {
        let Some(killed) = self.applied[i].take() else {
            return;
        };
        let fault = self.plan[i].fault.clone();
        let done: Result<(), String> = match &fault {
            Fault::KillPrimary => {
                let (p, r) = killed.expect("a kill records its primary");
                let deadline = Instant::now() + FAILOVER;
                while !self.bed.promoted(r) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                self.bed.start(Node::Data(p)).map_err(|e| e.to_string())
            }
            Fault::RegionFromRedis(r) => (0..self.bed.topology().data_nodes())
                .try_for_each(|d| net::undrop(&Node::Region(*r).netns(), Node::Data(d).addr()))
                .map_err(|e| e.to_string()),
            Fault::ClientsFromRegion(c, r) => {
                net::undrop(&clients_netns(*c), Node::Region(*r).addr()).map_err(|e| e.to_string())
            }
            Fault::KillRegion(r) => {
                self.down[*r] = false;
                self.bed
                    .spawn(Node::Region(*r))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Fault::Latency { region, .. } => {
                self.bed.set_sim(*region, 0, 0).map_err(|e| e.to_string())
            }
            Fault::ReconnectStorm => Ok(()),
            Fault::RestoreSnapshot => {
                let restored = self.bed.restore(i).map_err(|e| e.to_string());
                self.load.forget_acked_offsets();
                restored
            }
        };
        let ms = self.load.read(|s| s.history.now());
        if let Err(why) = &done {
            eprintln!("chaos: heal of {fault} failed: {why}");
        }
        eprintln!("chaos: {:>7.1}s  heal   {fault}", ms as f64 / 1000.0);
        let entry = self.recorded[i];
        self.load.record(|h| {
            h.heals.push(ms);
            if let Some(e) = entry {
                h.faults[e].3 = Some(ms);
            }
        });
    }

    /// Heal whatever is still on, start whatever is down, every `/sim` back to zero.
    fn settle(&mut self) {
        for i in 0..self.plan.len() {
            self.heal(i);
        }
        for d in 0..self.bed.topology().data_nodes() {
            if !self.bed.running(Node::Data(d)) {
                let _ = self.bed.start(Node::Data(d));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(0..3).all(|r| self.bed.answers(r)) && Instant::now() < deadline {
            self.supervise();
            std::thread::sleep(Duration::from_millis(200));
        }
        for r in 0..3 {
            let _ = self.bed.set_sim(r, 0, 0);
        }
    }
}
