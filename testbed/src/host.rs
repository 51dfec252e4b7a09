//! What this machine must allow, and keeping one testbed at a time.
//!
//! - [`check`]: root's capabilities and the tools, with a message that says what is missing.
//! - [`lock`]: an exclusive `flock` on a file in the temp dir, held while a testbed is up, so
//!   tests of several processes (and of one process, in parallel threads) take turns;
//!   [`lock_net`] the same for any bed (the chaos run has its own file: it runs alongside).
//! - [`on_signal_cleanup`]: Ctrl-C removes the beds this process has up before it exits.

use crate::net::{self, Net};
use crate::{Error, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// The variable a developer sets to `skip` to skip the testbed tests on purpose.
pub const OPT_OUT: &str = "MULTIREGION_TESTBED";

/// CAP_NET_ADMIN and CAP_SYS_ADMIN (bits 12 and 21) in the effective set.
const NEEDED_CAPS: u64 = (1 << 12) | (1 << 21);

/// Fail with the reason when this process cannot build the testbed.
pub fn check() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    if eff & NEEDED_CAPS != NEEDED_CAPS {
        return Err(Error::NoPrivilege(format!(
            "this process has capabilities {eff:#x}; run as root (CI does), or set \
             {OPT_OUT}=skip to skip the testbed tests on a developer machine"
        )));
    }
    for (tool, program) in [
        ("iproute2", "ip"),
        ("iptables", "iptables"),
        ("redis-server", "redis-server"),
    ] {
        if net::run("sh", &["-c", &format!("command -v {program}")]).is_err() {
            return Err(Error::Missing(tool));
        }
    }
    Ok(())
}

/// True when the developer opted out (never under CI).
pub fn opted_out() -> bool {
    std::env::var(OPT_OUT).is_ok_and(|v| v == "skip") && std::env::var_os("CI").is_none()
}

/// Wait for, then hold, the machine-wide testbed lock.
pub fn lock() -> Result<Flock<File>> {
    lock_net(net::TESTBED)
}

/// Wait for, then hold, the machine-wide lock of the bed `bed` (one file per bed, so two
/// beds never wait for each other).
pub fn lock_net(bed: Net) -> Result<Flock<File>> {
    let name = if bed == net::TESTBED {
        "multiregion-testbed.lock".to_owned()
    } else {
        format!("multiregion-{}.lock", bed.prefix())
    };
    let path = std::env::temp_dir().join(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| Error::Io(e.into()))
}

/// Whether a testbed of this process is up (what the signal handler removes).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether a chaos bed of this process is up.
static ACTIVE_CHAOS: AtomicBool = AtomicBool::new(false);

/// Mark the testbed up or down for the signal handler.
pub(crate) fn set_active(up: bool) {
    set_active_net(net::TESTBED, up);
}

/// Mark the bed `bed` up or down for the signal handler.
pub fn set_active_net(bed: Net, up: bool) {
    let flag = if bed == net::TESTBED {
        &ACTIVE
    } else {
        &ACTIVE_CHAOS
    };
    flag.store(up, Ordering::SeqCst);
}

/// From now on, SIGINT, SIGTERM and SIGHUP remove the testbed and the chaos bed (those up) and exit with
/// 128 + the signal number. Installed once per process.
pub fn on_signal_cleanup() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            tracing::warn!("could not install the Ctrl-C cleanup");
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                if ACTIVE.load(Ordering::SeqCst) {
                    eprintln!("testbed: signal {sig}, removing the testbed");
                    net::cleanup();
                }
                if ACTIVE_CHAOS.load(Ordering::SeqCst) {
                    eprintln!("chaos: signal {sig}, removing the chaos bed");
                    net::CHAOS.cleanup();
                }
                std::process::exit(128 + sig);
            }
        });
    });
}
