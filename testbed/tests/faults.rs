//! Real network faults on the testbed, each a counting test: while every region publishes
//! (each publisher retrying its id until acked) and two subscribers per region record every
//! event, one fault is made and healed. Each test prints published, acked, delivered per
//! subscriber, lost, duplicated, time to notice and time to recover, and asserts that nothing
//! acked is lost, nothing is stored or delivered twice, and every subscriber's offsets are
//! dense and in order. Times are reported, never asserted; waits are bounded so a test fails
//! instead of hanging.

use std::io::Write;
use std::time::{Duration, Instant};
use testbed::load::{Load, LoadConfig};
use testbed::net::{self, Host};
use testbed::Testbed;

/// Bound on every wait for the system to notice or recover.
const BOUND: Duration = Duration::from_secs(60);

/// How the fault went: when the system noticed, what counted, when it was healed.
struct Fault {
    noticed: Option<Duration>,
    noticed_by: String,
    healed: Instant,
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

/// Sleep until `since + total`.
fn hold(since: Instant, total: Duration) {
    std::thread::sleep(total.saturating_sub(since.elapsed()));
}

/// Bring the testbed up, start the load, make the fault, then count.
fn counting(name: &str, fault: impl FnOnce(&mut Testbed, &Load) -> Fault) {
    let Some(mut bed) = testbed::for_test() else {
        return;
    };
    let load = Load::start(LoadConfig {
        token: bed.token().into(),
        every: Duration::from_millis(40),
        subscribers: 2,
    });
    std::thread::sleep(Duration::from_secs(2));
    let fault = fault(&mut bed, &load);
    let recovered = load
        .wait_for(BOUND, |t| t.recovered(fault.healed))
        .map(|_| fault.healed.elapsed());
    std::thread::sleep(Duration::from_secs(1));
    let tally = load.finish(BOUND);
    let mut report = tally.report();
    report.time_to_notice = fault.noticed;
    report.noticed_by = fault.noticed_by;
    report.time_to_recover = recovered;
    // Straight to stderr, past the test harness's capture: the figures are the point.
    let _ = write!(std::io::stderr(), "\n== testbed fault: {name}\n{report}");
    let logs = || {
        Host::ALL
            .map(|h| format!("--- {}:\n{}", h.name(), bed.log_tail(h)))
            .join("\n")
    };
    assert!(
        recovered.is_some(),
        "{name}: not recovered within {BOUND:?}\n{report}\n{}",
        logs()
    );
    assert_eq!(report.lost, 0, "{name}: acked events lost\n{report}");
    assert_eq!(report.duplicated, 0, "{name}: duplicates\n{report}");
    assert_eq!(report.misordered, 0, "{name}: out of order\n{report}");
    assert_eq!(report.gaps, 0, "{name}: gaps\n{report}");
    assert_eq!(report.refused, 0, "{name}: publishes refused\n{report}");
    assert_eq!(report.published, report.acked, "{name}: unacked\n{report}");
    assert!(report.acked > 0, "{name}: nothing was published\n{report}");
}

/// EU's host drops every packet to and from the Redis host (no RST) for 12 s, then allows
/// them again: EU notices (its `/health` says disconnected), and after the heal its feed
/// and its publishing connection recover, with nothing lost or doubled.
#[test]
fn region_host_partitioned_from_redis_then_healed() {
    counting("region EU partitioned from Redis for 12 s", |bed, _| {
        let start = Instant::now();
        net::partition(Host::Eu, Host::Redis).unwrap();
        let noticed = until(BOUND, || bed.health(Host::Eu).is_ok_and(|h| !h.connected));
        hold(start, Duration::from_secs(12));
        net::heal(Host::Eu).unwrap();
        Fault {
            noticed,
            noticed_by: "EU's /health connected=false".into(),
            healed: Instant::now(),
        }
    });
}

/// The Redis host goes silent (drops everything, no RST) for 20 s, longer than every timeout
/// on the regions' Redis paths, then comes back: every region notices, and everything
/// published around it is stored once and delivered once after the heal.
#[test]
fn redis_host_silent_longer_than_every_timeout() {
    counting("Redis host silent for 20 s", |bed, _| {
        let start = Instant::now();
        net::isolate(Host::Redis).unwrap();
        let noticed = until(BOUND, || {
            Host::REGIONS
                .iter()
                .all(|r| bed.health(*r).is_ok_and(|h| !h.connected))
        });
        hold(start, Duration::from_secs(20));
        net::heal(Host::Redis).unwrap();
        Fault {
            noticed,
            noticed_by: "every region's /health connected=false".into(),
            healed: Instant::now(),
        }
    });
}

/// The clients host goes silent towards US (no RST): US notices its dead clients (WebSocket
/// ping deadline) and frees them (`/health` clients 0); after the heal they resume with
/// `since` and get exactly what they missed.
#[test]
fn client_host_silent_towards_its_region() {
    counting("clients host silent towards US", |bed, _| {
        let before = bed.health(Host::Us).map(|h| h.clients).unwrap_or(0);
        assert!(
            before >= 3,
            "US should have 2 subscribers and 1 publisher, has {before}"
        );
        let start = Instant::now();
        net::partition(Host::Clients, Host::Us).unwrap();
        let noticed = until(BOUND, || bed.health(Host::Us).is_ok_and(|h| h.clients == 0));
        assert!(
            noticed.is_some(),
            "US did not free its silent clients within {BOUND:?} (WebSocket ping deadline)"
        );
        hold(start, Duration::from_secs(5));
        net::heal(Host::Clients).unwrap();
        Fault {
            noticed,
            noticed_by: "US's /health clients=0".into(),
            healed: Instant::now(),
        }
    });
}

/// US's region process is SIGKILLed, then restarted in its host 3 s later by the same
/// command: its clients notice at once (the kernel resets their connections), reconnect with
/// `since` and resume exactly.
#[test]
fn region_process_killed_and_restarted() {
    counting("region US SIGKILLed, restarted after 3 s", |bed, load| {
        let start = Instant::now();
        bed.kill(Host::Us);
        let noticed = load.wait_for(BOUND, |t| t.connected(Host::Us) == 0);
        hold(start, Duration::from_secs(3));
        let restart = Instant::now();
        bed.start(Host::Us).unwrap();
        Fault {
            noticed,
            noticed_by: "every US subscriber saw its socket close".into(),
            healed: restart,
        }
    });
}
