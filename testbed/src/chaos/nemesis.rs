//! The nemesis: a schedule of overlapping faults drawn from the seed, and what each one is.
//!
//! [`schedule`] is pure: the same seed and length give the same schedule, which is printed
//! before the run and with every violation. Each fault has a start and a heal; faults of
//! different targets overlap freely (a failover while a region is partitioned, a region
//! killed while its clients are cut off), and at most [`MAX_CONCURRENT`] are on at once. Two
//! faults never hold the same target ([`Fault::target`]) at once. A primary kill (or a
//! snapshot restore) is spaced [`PRIMARY_SPACING`] from the previous one so the killed node is back as a replica (and
//! synced) before the next: with one replica, two kills in a row would be two lost copies,
//! which `--acks replicas:1` does not promise to survive.

use super::rng::Rng;
use std::fmt;
use std::time::Duration;

/// At most this many faults are on at once.
pub const MAX_CONCURRENT: usize = 3;
/// From one primary kill's (or snapshot's) start to the next one's.
pub const PRIMARY_SPACING: Duration = Duration::from_secs(25);

/// One kind of fault, with its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the Redis primary (Sentinel fails over); heal: restart it as a replica of the
    /// new primary.
    KillPrimary,
    /// Region `0` (index into the regions: as, us, eu) drops every packet to and from both
    /// Redis data nodes (iptables DROP, no RST); heal: the rules removed.
    RegionFromRedis(usize),
    /// Clients host `0` drops every packet to and from region `1`; heal: the rules removed.
    ClientsFromRegion(usize, usize),
    /// SIGKILL region `0`'s process; heal: start it again by the same command.
    KillRegion(usize),
    /// Region's simulated WAN link to Redis (`PUT /sim`); heal: all zero.
    Latency {
        /// The region.
        region: usize,
        /// One-way latency.
        latency_ms: u64,
        /// Jitter.
        jitter_ms: u64,
    },
    /// Every client on every clients host drops its socket at once and reconnects (resuming);
    /// instantaneous.
    ReconnectStorm,
    /// Snapshot the primary's data now (`SAVE`); heal: restore the whole Redis deployment
    /// from it, as an operator restoring a backup does (both data nodes SIGKILLed, the
    /// primary started on the snapshot, the replica synced from it). What was stored
    /// meanwhile is lost, acked or not, and must be announced.
    RestoreSnapshot,
}

/// The kind of [`Fault::RestoreSnapshot`], by which the checker finds restores.
pub const RESTORE_KIND: &str = "Redis restored from an older snapshot";

/// The regions' names, by index.
pub const REGIONS: [&str; 3] = ["as", "us", "eu"];

impl Fault {
    /// What the fault holds: two faults of one target never overlap.
    pub fn target(&self) -> String {
        match self {
            Fault::KillPrimary | Fault::RestoreSnapshot => "primary".into(),
            Fault::RegionFromRedis(r) => format!("region-redis-{r}"),
            Fault::ClientsFromRegion(c, r) => format!("clients-{c}-{r}"),
            Fault::KillRegion(r) => format!("region-proc-{r}"),
            Fault::Latency { region, .. } => format!("sim-{region}"),
            Fault::ReconnectStorm => "storm".into(),
        }
    }

    /// Its kind, for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillPrimary => "primary SIGKILL (failover)",
            Fault::RegionFromRedis(_) => "region partitioned from Redis",
            Fault::ClientsFromRegion(..) => "clients partitioned from region",
            Fault::KillRegion(_) => "region SIGKILL + restart",
            Fault::Latency { .. } => "WAN latency (/sim)",
            Fault::ReconnectStorm => "reconnect storm",
            Fault::RestoreSnapshot => RESTORE_KIND,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::KillPrimary => write!(f, "SIGKILL the Redis primary"),
            Fault::RegionFromRedis(r) => write!(f, "partition {} from Redis", REGIONS[*r]),
            Fault::ClientsFromRegion(c, r) => {
                write!(f, "partition clients host c{} from {}", c + 1, REGIONS[*r])
            }
            Fault::KillRegion(r) => write!(f, "SIGKILL region {}", REGIONS[*r]),
            Fault::Latency {
                region,
                latency_ms,
                jitter_ms,
            } => write!(
                f,
                "{} /sim latency {latency_ms} ms jitter {jitter_ms} ms",
                REGIONS[*region]
            ),
            Fault::ReconnectStorm => write!(f, "reconnect storm (every client)"),
            Fault::RestoreSnapshot => write!(f, "snapshot Redis; restore it at the heal"),
        }
    }
}

/// A fault in the schedule: on from `at` (since the faults began) for `lasts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// When it starts.
    pub at: Duration,
    /// How long it is on (zero for a storm).
    pub lasts: Duration,
    /// What.
    pub fault: Fault,
}

impl Planned {
    /// When it is healed.
    pub fn heal_at(&self) -> Duration {
        self.at + self.lasts
    }
}

impl fmt::Display for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>7.1}s  {:<48} heal at {:>6.1}s",
            self.at.as_secs_f64(),
            self.fault.to_string(),
            self.heal_at().as_secs_f64()
        )
    }
}

/// Draw one fault with its duration.
fn draw(rng: &mut Rng, clients_hosts: usize) -> (Fault, Duration) {
    let secs =
        |rng: &mut Rng, lo: u64, hi: u64| Duration::from_millis(rng.range(lo * 1000, hi * 1000));
    match rng.below(13) {
        0 | 1 => (Fault::KillPrimary, secs(rng, 4, 10)),
        2..=4 => (Fault::RegionFromRedis(rng.below(3)), secs(rng, 3, 12)),
        5 | 6 => (
            Fault::ClientsFromRegion(rng.below(clients_hosts), rng.below(3)),
            secs(rng, 3, 12),
        ),
        7 | 8 => (Fault::KillRegion(rng.below(3)), secs(rng, 1, 6)),
        9 | 10 => {
            let latency_ms = rng.range(10, 300);
            let jitter_ms = rng.range(0, latency_ms / 4);
            let fault = Fault::Latency {
                region: rng.below(3),
                latency_ms,
                jitter_ms,
            };
            (fault, secs(rng, 3, 15))
        }
        11 => (Fault::ReconnectStorm, Duration::ZERO),
        _ => (Fault::RestoreSnapshot, secs(rng, 4, 12)),
    }
}

/// The faults of a run of `length` (every heal within it), drawn from `seed`, by start.
pub fn schedule(seed: u64, length: Duration, clients_hosts: usize) -> Vec<Planned> {
    let mut rng = Rng::new(seed ^ 0x006e_656d_6573_6973);
    let mut plan: Vec<Planned> = Vec::new();
    let mut at = Duration::from_millis(rng.range(1000, 3000));
    while at < length {
        let (fault, lasts) = draw(&mut rng, clients_hosts);
        let candidate = Planned { at, lasts, fault };
        if fits(&plan, &candidate, length) {
            plan.push(candidate);
        }
        at += Duration::from_millis(rng.range(500, 5000));
    }
    plan
}

/// Whether `c` can join `plan`: healed within the run, its target free, no more than
/// [`MAX_CONCURRENT`] on at once, primary kills spaced.
fn fits(plan: &[Planned], c: &Planned, length: Duration) -> bool {
    if c.heal_at() > length {
        return false;
    }
    let overlaps = |p: &&Planned| p.at <= c.heal_at() && c.at <= p.heal_at();
    let on: Vec<&Planned> = plan.iter().filter(overlaps).collect();
    if on.iter().any(|p| p.fault.target() == c.fault.target()) {
        return false;
    }
    let concurrent = plan.iter().filter(|p| p.heal_at() >= c.at).count();
    if concurrent >= MAX_CONCURRENT {
        return false;
    }
    c.fault.target() != "primary"
        || plan
            .iter()
            .filter(|p| p.fault.target() == "primary")
            .all(|p| c.at >= p.at + PRIMARY_SPACING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_schedule_within_the_rules() {
        let length = Duration::from_secs(300);
        let a = schedule(42, length, 2);
        assert_eq!(a, schedule(42, length, 2));
        assert_ne!(a, schedule(43, length, 2));
        assert!(a.len() > 20, "{}", a.len());
        for (i, p) in a.iter().enumerate() {
            assert!(p.heal_at() <= length);
            assert!(fits(&a[..i], p, length), "{p}");
        }
        let kills: Vec<&Planned> = a.iter().filter(|p| p.fault.target() == "primary").collect();
        assert!(a.iter().any(|p| p.fault == Fault::RestoreSnapshot));
        assert!(kills
            .windows(2)
            .all(|w| w[1].at >= w[0].at + PRIMARY_SPACING));
    }
}
