//! Presence on the testbed's separate hosts, counted: five named members per region and one
//! presence watcher per region, all on the clients host, follow the channel `room`; faults
//! are made one after another on one testbed (each bring-up costs seconds of CI), each phase
//! starting from the exact lists the one before ended with.
//!
//! Each phase prints (past the harness's capture) the members, the joins and leaves the
//! steady watchers saw, ghosts and missed against the truly live members, and the time to
//! converge next to the documented bound (about four lease intervals); it asserts exact lists
//! and each join and leave exactly once where stated. Times are reported, never asserted:
//! every wait is bounded by [`BOUND`] so that the test fails instead of hanging.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};
use testbed::crowd::{Crowd, CrowdConfig};
use testbed::net::{self, Host};
use testbed::presence::{truth_of, Counts, Expect, Roll, Truth};
use testbed::Testbed;
use wire::ServerFrame;

/// The channel everyone follows.
const CHANNEL: &str = "room";
/// Members per region (a watcher per region comes on top).
const MEMBERS: usize = 5;
/// The recipe runs with the default `--presence-interval-ms` (1000).
const INTERVAL: Duration = Duration::from_millis(1000);
/// A region that stops renewing has its members leave within about four intervals.
const DOCUMENTED: Duration = Duration::from_millis(4 * 1000);
/// Generous bound on every wait, to fail instead of hanging.
const BOUND: Duration = Duration::from_secs(30);
/// After converging, nothing more may change for this long.
const QUIET: Duration = Duration::from_millis(2 * 1000);

/// The test's testbed and crowd, and the log tails for a failure.
struct Run {
    bed: Testbed,
    crowd: Crowd,
}

impl Run {
    /// Wait until the watchers of `expect` are exact and the steady ones saw every expected
    /// change, then for [`QUIET`]; the counts then, timed from `since`.
    fn settle(&self, since: Instant, expect: impl Fn(&Roll) -> Expect) -> Counts {
        let done = |r: &Roll| {
            let e = expect(r);
            r.exact(&e.watchers, &e.truth)
                && r.saw(&e.steady, false, &e.leaves)
                && r.saw(&e.steady, true, &e.joins)
        };
        let converged = self.crowd.wait_for(BOUND, done).map(|_| since.elapsed());
        std::thread::sleep(QUIET);
        let mut counts = self.crowd.read(|r| r.counts(&expect(r)));
        counts.converged = converged;
        counts.bound = DOCUMENTED;
        counts
    }

    /// Print `counts` and assert they are exact.
    fn check(&self, name: &str, counts: &Counts) {
        // Straight to stderr, past the test harness's capture: the figures are the point.
        let _ = write!(std::io::stderr(), "\n== testbed presence: {name}\n{counts}");
        assert!(
            counts.converged.is_some(),
            "{name}: the watchers were not exact within {BOUND:?}\n{counts}\n{}",
            self.logs()
        );
        assert_eq!(counts.ghosts, 0, "{name}: ghosts\n{counts}");
        assert_eq!(counts.missed, 0, "{name}: missed\n{counts}");
        assert_eq!(counts.wrong_joins, 0, "{name}: joins not once\n{counts}");
        assert_eq!(counts.wrong_leaves, 0, "{name}: leaves not once\n{counts}");
        assert_eq!(counts.inconsistent, 0, "{name}: inconsistent\n{counts}");
        assert_eq!(counts.unsteady, 0, "{name}: relisted\n{counts}");
    }

    /// `GET /presence` of every region of `regions` lists exactly `truth`, count included.
    fn check_http(&self, name: &str, regions: &[Host], truth: &Truth) {
        for region in regions {
            let listed = self.listed(*region);
            let want = (truth.len(), truth.clone());
            assert_eq!(
                listed,
                Ok(want),
                "{name}: GET /presence on {}",
                region.name()
            );
        }
    }

    /// `GET /presence` of `region`: the count and the members, or what came back instead.
    fn listed(&self, region: Host) -> Result<(usize, Truth), String> {
        let path = format!("/presence?channel={CHANNEL}&token={}", self.bed.token());
        let body = self.bed.get(region, &path).map_err(|e| e.to_string())?;
        match serde_json::from_str(&body) {
            Ok(ServerFrame::Presence { count, members, .. }) => Ok((count, truth_of(&members))),
            _ => Err(body),
        }
    }

    fn logs(&self) -> String {
        Host::ALL
            .map(|h| format!("--- {}:\n{}", h.name(), self.bed.log_tail(h)))
            .join("\n")
    }
}

/// What a phase expects: the watchers of `watchers` list the live members; those of
/// `steady` saw exactly the joins and leaves of the seats since the phase began.
fn membership(watchers: &[Host], steady: &[Host]) -> impl Fn(&Roll) -> Expect {
    let (watchers, steady) = (watchers.to_vec(), steady.to_vec());
    move |r| {
        let (joins, leaves) = r.since_phase();
        Expect {
            truth: r.live(),
            watchers: watchers.clone(),
            steady: steady.clone(),
            joins,
            leaves,
        }
    }
}

/// Members; a region process killed and restarted; Redis killed and restarted empty while
/// members leave; a region host cut off from Redis and healed: after each, every watcher
/// lists exactly the live members, and the watchers that stayed connected (with no fresh
/// list) saw each change once.
#[test]
fn presence_through_faults() {
    let Some(bed) = testbed::for_test() else {
        return;
    };
    let started = Instant::now();
    let crowd = Crowd::start(CrowdConfig {
        token: bed.token().into(),
        channel: CHANNEL.into(),
        members: MEMBERS,
    });
    let mut run = Run { bed, crowd };
    members(&run, started);
    region_killed_and_restarted(&mut run);
    redis_restarted_empty(&mut run);
    region_cut_off_from_redis(&run);
    let _ = writeln!(
        std::io::stderr(),
        "\n== testbed presence: all phases in {} ms",
        started.elapsed().as_millis()
    );
    run.crowd.finish();
}

/// Every watcher converges to exactly the live members, and so does `GET /presence`.
fn members(run: &Run, started: Instant) {
    let counts = run.settle(started, membership(&Host::REGIONS, &[]));
    run.check("5 members and a watcher per region", &counts);
    assert_eq!(counts.live, 3 * (MEMBERS + 1));
    let live = run.crowd.read(Roll::live);
    run.check_http("members", &Host::REGIONS, &live);
}

/// US's process is SIGKILLed: each of its members (its watcher too) leaves once at the
/// other regions' watchers, nobody else. Restarted, its members reconnect (new ids) and each
/// joins once.
fn region_killed_and_restarted(run: &mut Run) {
    run.crowd.new_phase();
    let killed = Instant::now();
    run.bed.kill(Host::Us);
    // The kernel resets their sockets: every US seat notices at once.
    let gone = run.crowd.wait_for(BOUND, |r| r.ids_of(Host::Us).is_empty());
    assert!(gone.is_some(), "US's sockets did not close in {BOUND:?}");
    let counts = run.settle(
        killed,
        membership(&[Host::As, Host::Eu], &[Host::As, Host::Eu]),
    );
    run.check("region US SIGKILLed", &counts);
    assert_eq!(counts.leaves, 2 * (MEMBERS as u32 + 1));

    run.crowd.new_phase();
    let restarted = Instant::now();
    run.bed.start(Host::Us).unwrap();
    let back = run.crowd.wait_for(BOUND, |r| r.connected(Host::Us));
    assert!(
        back.is_some(),
        "US's members did not reconnect in {BOUND:?}"
    );
    let counts = run.settle(restarted, membership(&Host::REGIONS, &[Host::As, Host::Eu]));
    run.check("region US restarted, its members reconnected", &counts);
    assert_eq!(counts.joins, 2 * (MEMBERS as u32 + 1));
}

/// Redis is SIGKILLed and restarted empty (the recipe runs it with `--save ''`) 2 s later;
/// meanwhile one member per region leaves. Every region rebuilds presence (`GET /presence`
/// exact everywhere), and every watcher (with a fresh list, or with the changes since) lists
/// exactly the live members again.
fn redis_restarted_empty(run: &mut Run) {
    run.crowd.new_phase();
    let killed = Instant::now();
    run.bed.kill(Host::Redis);
    let noticed = until(BOUND, || {
        Host::REGIONS
            .iter()
            .all(|r| run.bed.health(*r).is_ok_and(|h| !h.connected))
    });
    let left: usize = Host::REGIONS
        .iter()
        .map(|r| run.crowd.dismiss(*r, 1).len())
        .sum();
    std::thread::sleep((2 * INTERVAL).saturating_sub(killed.elapsed()));
    run.bed.start(Host::Redis).unwrap();
    let restarted = Instant::now();
    let rebuilt = until(BOUND, || {
        let live = run.crowd.read(Roll::live);
        Host::REGIONS.iter().all(|r| {
            run.listed(*r)
                .is_ok_and(|l| l == (live.len(), live.clone()))
        })
    });
    let back = run
        .crowd
        .wait_for(BOUND, |r| Host::REGIONS.iter().all(|h| r.connected(*h)));
    assert!(back.is_some(), "the crowd did not reconnect in {BOUND:?}");
    let counts = run.settle(restarted, membership(&Host::REGIONS, &[]));
    let ms = |d: Option<Duration>| d.map_or("never".into(), |d| format!("{} ms", d.as_millis()));
    let name = format!(
        "Redis SIGKILLed (every region's /health disconnected after {}), {left} members left, \
         restarted empty {} ms later; GET /presence exact everywhere {} after the restart",
        ms(noticed),
        (restarted - killed).as_millis(),
        ms(rebuilt)
    );
    run.check(&name, &counts);
    assert!(
        rebuilt.is_some(),
        "GET /presence not exact within {BOUND:?}"
    );
    assert_eq!(left, 3);
}

/// EU's host drops every packet to and from Redis for longer than the lease: its members
/// (still connected to EU) leave once at the other regions' watchers; after the heal they
/// join again once, and every watcher, EU's too, lists exactly the live members.
fn region_cut_off_from_redis(run: &Run) {
    run.crowd.new_phase();
    let eu: BTreeSet<String> = run.crowd.read(|r| r.ids_of(Host::Eu));
    let cut = Instant::now();
    net::partition(Host::Eu, Host::Redis).unwrap();
    let bystanders = [Host::As, Host::Us];
    let without_eu = |r: &Roll| {
        let mut truth = r.live();
        truth.retain(|id, _| !eu.contains(id));
        Expect {
            truth,
            watchers: bystanders.to_vec(),
            steady: bystanders.to_vec(),
            joins: BTreeSet::new(),
            leaves: eu.clone(),
        }
    };
    let counts = run.settle(cut, without_eu);
    // Cut off for longer than the lease (3 intervals) in any case.
    std::thread::sleep((3 * INTERVAL * 2).saturating_sub(cut.elapsed()));
    let still = run.crowd.read(|r| r.ids_of(Host::Eu));
    net::heal(Host::Eu).unwrap();
    let healed = Instant::now();
    run.check("region EU cut off from Redis (during)", &counts);
    assert_eq!(counts.leaves, 2 * eu.len() as u32);
    assert_eq!(
        still, eu,
        "EU's members stay connected to EU while it is cut off"
    );

    let rejoined = |r: &Roll| Expect {
        truth: r.live(),
        watchers: Host::REGIONS.to_vec(),
        steady: bystanders.to_vec(),
        joins: eu.clone(),
        leaves: eu.clone(),
    };
    let counts = run.settle(healed, rejoined);
    run.check("region EU healed: its members back", &counts);
    let live = run.crowd.read(Roll::live);
    run.check_http("EU healed", &Host::REGIONS, &live);
}

/// Poll `check` every 50 ms for at most `bound`; how long until it held.
fn until(bound: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < bound {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
