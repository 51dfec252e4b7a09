//! Installing what the project needs, idempotently: only what is missing is installed.

use crate::sh;
use anyhow::{bail, Result};
use std::process::{Command, Stdio};

/// What the next step needs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Building the UI.
    Ui,
    /// Building and running the desktop app (and the headless servers).
    Run,
    /// Building the desktop app's Debian package (`cargo xtask package`).
    Package,
    /// Running every test.
    Test,
}

/// System packages Tauri needs to build and run on Debian/Ubuntu.
const DESKTOP_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libssl-dev",
    "libxdo-dev",
    "build-essential",
    "pkg-config",
    "redis-server",
];

/// Extra packages for the tests: a virtual display, WebKit's WebDriver, Chromium, Node;
/// docker-compose (validates docker-compose.yml; no engine is needed for that); `ip` and
/// `iptables` for the network-namespace testbed; `redis-cli` (cluster creation, Sentinel
/// queries) and `openssl` (a throwaway CA for TLS).
const TEST_PACKAGES: &[&str] = &[
    "iproute2",
    "iptables",
    "redis-tools",
    "openssl",
    "xvfb",
    "xauth",
    "imagemagick",
    "webkit2gtk-driver",
    "chromium",
    "docker-compose",
];

/// Extra packages for the Debian package: `dpkg-shlibdeps`, which computes its `Depends`,
/// and `desktop-file-validate`, which checks its menu entry.
const PACKAGE_PACKAGES: &[&str] = &["dpkg-dev", "desktop-file-utils"];

/// The `cargo-deb` version that packs the desktop app (compiled from crates.io: a minute
/// or two, once).
const CARGO_DEB_VERSION: &str = "3.8.0";

/// The `tauri-driver` version the desktop tests use.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// Install what `need` requires and is not there yet.
pub fn ensure(need: Need) -> Result<()> {
    let mut packages: Vec<&str> = Vec::new();
    if need >= Need::Run {
        packages.extend(DESKTOP_PACKAGES);
    }
    if need >= Need::Package {
        packages.extend(PACKAGE_PACKAGES);
    }
    if need >= Need::Test {
        packages.extend(TEST_PACKAGES);
        if !on_path("node") || !on_path("npm") {
            packages.extend(["nodejs", "npm"]);
        }
    }
    apt_install(&packages)?;
    if need >= Need::Package && !on_path("cargo-deb") {
        cargo_install("cargo-deb", CARGO_DEB_VERSION)?;
    }
    if need >= Need::Test && !on_path("tauri-driver") {
        cargo_install("tauri-driver", TAURI_DRIVER_VERSION)?;
    }
    Ok(())
}

/// `cargo install --locked` one tool at one version.
fn cargo_install(krate: &str, version: &str) -> Result<()> {
    sh(
        &crate::cargo(),
        &["install", krate, "--version", version, "--locked"],
    )
}

/// Install what `cargo xtask testbed up` needs: `ip`, `iptables` and `redis-server`.
pub fn ensure_testbed() -> Result<()> {
    apt_install(&["iproute2", "iptables", "redis-server"])
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!("missing system packages {missing:?}, and there is no apt-get here: install them with your package manager");
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let (program, mut prefix): (&str, Vec<&str>) = if root {
        ("apt-get", vec![])
    } else {
        ("sudo", vec!["apt-get"])
    };
    eprintln!("installing system packages: {}", missing.join(" "));
    let update: Vec<&str> = prefix.iter().copied().chain(["update", "-qq"]).collect();
    sh(program, &update)?;
    prefix.extend(["install", "-y", "-qq", "--no-install-recommends"]);
    prefix.extend(missing);
    // Non-interactive: no prompts from packages' configuration scripts (sudo keeps the
    // variable when it is passed as an argument).
    if !root {
        prefix.insert(0, "DEBIAN_FRONTEND=noninteractive");
        return sh(program, &prefix);
    }
    eprintln!("+ {program} {}", prefix.join(" "));
    let status = Command::new(program)
        .args(&prefix)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?;
    if !status.success() {
        bail!("apt-get install failed ({status})");
    }
    Ok(())
}
