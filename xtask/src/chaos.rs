//! `cargo xtask chaos [--minutes M] [--seed S]`: the chaos run (random overlapping faults on
//! the chaos bed's hosts while every region publishes, then a checker over the history; see
//! the `testbed` crate's `chaos` module). Needs root. And the short run `cargo xtask test`
//! makes: [`CI_SEEDS`], [`CI_MINUTES`] of faults each, started as a child beside the e2e suite
//! (the chaos bed has its own namespaces, addresses and ports: `mrch-…`, `10.203.77.128/25`).

use crate::{cargo, sh};
use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The fixed seeds of the short run (in 45 s: 20 draws two primary kills, 4 a snapshot
/// restore and a primary kill; both region kills, partitions both ways, `/sim` latency and
/// reconnect storms; `chaos --plan --seed S` shows them).
pub const CI_SEEDS: [u64; 2] = [20, 4];
/// Minutes of faults per seed in the short run.
pub const CI_MINUTES: &str = "0.75";

/// Run `chaos ARGS` after building what it runs.
pub fn run(args: &[String]) -> Result<()> {
    crate::setup::ensure_testbed()?;
    sh(
        &cargo(),
        &["build", "--bin", "multiregion", "--bin", "chaos"],
    )?;
    let mut all = vec!["run", "--quiet", "-p", "testbed", "--bin", "chaos", "--"];
    all.extend(args.iter().map(String::as_str));
    sh(&cargo(), &all)
}

/// The short run, in the background: one seed after the other, output to a log per seed.
pub struct CiRun {
    child: Option<Child>,
    log: PathBuf,
}

/// Whether the developer opted out of the testbed (never under CI), as the testbed does.
fn opted_out() -> bool {
    std::env::var("MULTIREGION_TESTBED").is_ok_and(|v| v == "skip")
        && std::env::var_os("CI").is_none()
}

impl CiRun {
    /// Start the short run with the `chaos` built by `cargo build --bins` (no cargo while it
    /// runs, so the other suites' builds do not wait for it).
    pub fn start(root: &Path) -> Result<CiRun> {
        let log = root.join("target").join("chaos-ci.log");
        if opted_out() {
            eprintln!("chaos short run skipped: MULTIREGION_TESTBED=skip");
            return Ok(CiRun { child: None, log });
        }
        let bin = root.join("target").join("debug").join("chaos");
        let script = CI_SEEDS
            .iter()
            .map(|s| format!("'{}' --minutes {CI_MINUTES} --seed {s}", bin.display()))
            .collect::<Vec<_>>()
            .join(" && ");
        eprintln!("+ (background, log {}) {script}", log.display());
        let out = std::fs::File::create(&log)?;
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            // Its own process group, so a stop reaches the chaos run itself, not only `sh`.
            .process_group(0)
            .spawn()
            .context("could not start the chaos run")?;
        Ok(CiRun {
            child: Some(child),
            log,
        })
    }

    /// Wait for it, print its log, and fail if it failed.
    pub fn wait(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = child.wait()?;
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        eprintln!("--- chaos short run ({}):\n{text}", self.log.display());
        if !status.success() {
            bail!(
                "the chaos run failed ({status}); its log: {}",
                self.log.display()
            );
        }
        Ok(())
    }
}

impl Drop for CiRun {
    fn drop(&mut self) {
        // An early failure of another step: stop it (SIGTERM to its process group: the chaos
        // run removes its bed and exits).
        if let Some(child) = self.child.as_mut() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = child.wait();
        }
    }
}
