//! `cargo xtask <command>`: the project's one-step commands.
//!
//! - `run`: install what the desktop app needs, build the UI, start the desktop app (its
//!   production build, as packaged) or, with no display, the headless regions serving the
//!   browser UI on the desktop's broker chain (`REDIS_URL`, the Redis on 6379, a private
//!   `redis-server`, embedded).
//! - `serve [ARGS]`: build the UI and run `multiregion serve --ui-dir ui/dist ARGS`.
//! - `ui`: build the UI into `ui/dist`.
//! - `package`: build the desktop app's Debian package (release, production mode) into
//!   `target/debian/` ([`package`]).
//! - `setup [ui|run|package|test]`: install system packages and tools, idempotently.
//! - `test`: install everything the tests need, then run every check and test.
//! - `testbed up [--token T] | down`: the README's multi-machine recipe on network namespaces
//!   (root only), for a person to try; the testbed tests use the same code.
//! - `chaos [--minutes M] [--seed S]`: minutes of random overlapping faults on hosts of their
//!   own while every region publishes, then a checker over the whole history (root only;
//!   [`chaos`]). `test` runs a short one beside the e2e suite.
//!
//! Installs use `apt-get` (with `sudo` when not root) and only touch what is missing.

mod chaos;
mod package;
mod setup;
mod testbed;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => run(),
        Some("serve") => {
            setup::ensure(setup::Need::Run)?;
            build_ui()?;
            serve(&args[1..])
        }
        Some("ui") => {
            setup::ensure(setup::Need::Ui)?;
            build_ui()
        }
        Some("setup") => match args.get(1).map(String::as_str) {
            Some("test") => setup::ensure(setup::Need::Test),
            Some("ui") => setup::ensure(setup::Need::Ui),
            Some("package") => setup::ensure(setup::Need::Package),
            _ => setup::ensure(setup::Need::Run),
        },
        Some("package") => package::run(),
        Some("test") => test(),
        Some("testbed") => testbed::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <run | serve [ARGS] | ui | package | setup [ui|run|package|test] | test | testbed up|down | chaos [--minutes M] [--seed S]>"
            );
            std::process::exit(2)
        }
    }
}

/// The repository root (the parent of this crate's directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the repo")
        .to_path_buf()
}

/// Run a command, echoing it, and fail with its name if it fails.
pub(crate) fn sh(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("+ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub(crate) fn build_ui() -> Result<()> {
    sh("bash", &["ui/build.sh"])
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn run() -> Result<()> {
    setup::ensure(setup::Need::Run)?;
    build_ui()?;
    if !has_display() {
        eprintln!(
            "\nNo display here (DISPLAY and WAYLAND_DISPLAY are unset: a server or an SSH session?).\n\
             Starting the three regions headless instead; open http://127.0.0.1:4000 in a browser\n\
             (through an SSH tunnel if remote: ssh -L 4000:127.0.0.1:4000 -L 4001:127.0.0.1:4001 -L 4002:127.0.0.1:4002 <host>).\n"
        );
        // The desktop app's broker chain: REDIS_URL, the Redis on 6379, a private
        // redis-server (stopped with the regions), then the embedded broker.
        return serve(&["--private-redis".into()]);
    }
    // The production build `cargo xtask package` makes too (the UI from the binary's
    // embedded assets, Tauri's production mode), so the two share one build.
    let mut args = package::release_build_args();
    args[0] = "run";
    sh(&cargo(), &args)
}

fn serve(extra: &[String]) -> Result<()> {
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "multiregion",
        "--",
        "serve",
        "--ui-dir",
        "ui/dist",
    ];
    args.extend(extra.iter().map(String::as_str));
    sh(&cargo(), &args)
}

fn test() -> Result<()> {
    setup::ensure(setup::Need::Test)?;
    build_ui()?;
    let cargo = cargo();
    sh(&cargo, &["fmt", "--all", "--check"])?;
    sh(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The Docker path is checked for syntax only: there is no Docker engine here.
    compose_config()?;
    // The desktop app is built in release only (its dependency tree, WebKitGTK's and GTK's
    // bindings among them, is the largest of the workspace: built once, not in two profiles).
    let no_desktop = ["--workspace", "--exclude", "multiregion-desktop"];
    sh(&cargo, &[&["build", "--bins"][..], &no_desktop].concat())?;
    sh(&cargo, &[&["test"][..], &no_desktop].concat())?;
    // The benchmark's smoke mode: a few seconds of load on both brokers; fails on any lost or
    // duplicated event (no timing is checked: the full benchmark is run by hand).
    sh(&cargo, &["run", "-p", "bench", "--", "smoke"])?;
    // The Debian package; the desktop e2e drives the binary in it, and the install test
    // installs, runs and removes it.
    let deb = package::build()?;
    let packaged = package::unpack(&deb)?;
    // The desktop crate's tests (on Tauri's mock runtime), on the release dependency tree the
    // package was just built with. After the package: this replaces the uplifted
    // target/release binary with a test build, which is why the e2e takes the unpacked one.
    sh(&cargo, &["test", "--release", "-p", "multiregion-desktop"])?;
    sh("npm", &["ci", "--prefix", "e2e", "--no-audit", "--no-fund"])?;
    // The short chaos run beside the e2e suite: its bed shares no namespace, address or port
    // with the suite's testbed (or anything else), and it runs no cargo. Waited for (and
    // failing the test) after the suite; stopped if the suite fails first.
    let chaos = chaos::CiRun::start(&root())?;
    let mut e2e = vec!["--test", "--test-concurrency=1"];
    for f in [
        "e2e/browser.test.mjs",
        "e2e/browser-publishing.test.mjs",
        "e2e/browser-channels.test.mjs",
        "e2e/browser-presence.test.mjs",
        "e2e/socketio.test.mjs",
        "e2e/desktop.test.mjs",
        "e2e/package.test.mjs",
        "e2e/testbed.test.mjs",
    ] {
        if Path::new(f).exists() {
            e2e.push(f);
        }
    }
    eprintln!("+ node {}", e2e.join(" "));
    let status = Command::new("node")
        .args(&e2e)
        .env("MULTIREGION_DESKTOP_BIN", &packaged)
        .env("MULTIREGION_DEB", &deb)
        .status()
        .context("could not start node")?;
    if !status.success() {
        bail!("the end-to-end tests failed ({status})");
    }
    chaos.wait()
}

/// Validate docker-compose.yml (with a placeholder token; the file requires one).
fn compose_config() -> Result<()> {
    eprintln!("+ docker-compose config -q");
    let status = Command::new("docker-compose")
        .args(["-f", "docker-compose.yml", "config", "-q"])
        .env("MULTIREGION_TOKEN", "ci-placeholder")
        .status()
        .context("could not start docker-compose (apt-get install docker-compose)")?;
    if !status.success() {
        bail!("docker-compose.yml is not valid ({status})");
    }
    Ok(())
}
