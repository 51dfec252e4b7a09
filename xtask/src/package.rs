//! `cargo xtask package`: the desktop app as a Debian package.
//!
//! Three steps, each one a tool that works offline here:
//! 1. the UI (`ui/build.sh`), which the app embeds;
//! 2. the app in release mode with the `custom-protocol` feature: Tauri's production build,
//!    which serves the embedded UI and never a development server (a plain `cargo build`
//!    of a Tauri 2 app is a development build);
//! 3. `cargo deb --no-build`, which packs that binary, the `.desktop` entry and the icon set
//!    as `src-tauri/Cargo.toml`'s `[package.metadata.deb]` lists them, with `Depends`
//!    computed from the binary's libraries by `dpkg-shlibdeps`.
//!
//! The package lands in `<target>/debian/` under Debian's usual name
//! (`multiregion-desktop_<version>-1_<arch>.deb`). `cargo xtask test` builds it once: the
//! desktop e2e drives the binary unpacked from it ([`unpack`]), the install test installs it.

use crate::{build_ui, cargo, setup, sh};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The desktop app's Cargo package (and binary, and Debian package) name.
const APP: &str = "multiregion-desktop";

/// `cargo xtask package`: build the package and say where it is and how big.
pub fn run() -> Result<()> {
    let deb = build()?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "\nBuilt {} ({}). Install it with:\n  sudo apt-get install {}\n(or `sudo dpkg -i` it; remove with `sudo apt-get remove {APP}`).",
        deb.display(),
        mib(size(&deb)),
        deb.display(),
    );
    Ok(())
}

/// Install what packaging needs, build the UI and the release binary, and pack them; return
/// the package's path. (A later `cargo test --release -p multiregion-desktop` replaces
/// `target/release/multiregion-desktop` with a test build: [`unpack`] gives the packaged
/// binary itself.)
pub fn build() -> Result<PathBuf> {
    setup::ensure(setup::Need::Package)?;
    build_ui()?;
    let cargo = cargo();
    sh(&cargo, &release_build_args())?;
    let binary = target_dir().join("release").join(APP);
    if !binary.is_file() {
        bail!("the release build did not produce {}", binary.display());
    }
    sh(
        "desktop-file-validate",
        &[&format!("src-tauri/{APP}.desktop")],
    )?;
    cargo_deb(&cargo)
}

/// The `cargo` arguments of the app's production build (`cargo xtask run` uses the same, so
/// the two share one build).
pub fn release_build_args() -> Vec<&'static str> {
    vec![
        "build",
        "--release",
        "-p",
        APP,
        "--features",
        "custom-protocol",
    ]
}

/// Extract `deb` into `<target>/debian/unpacked/` (replacing what was there) and return the
/// packaged binary's path there: the exact binary a person installs, for the desktop e2e.
pub fn unpack(deb: &Path) -> Result<PathBuf> {
    let dir = target_dir().join("debian").join("unpacked");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let (deb_arg, dir_arg) = (deb.to_string_lossy(), dir.to_string_lossy());
    sh("dpkg-deb", &["-x", &deb_arg, &dir_arg])?;
    let binary = dir.join("usr/bin").join(APP);
    if !binary.is_file() {
        bail!("{} holds no usr/bin/{APP}", deb.display());
    }
    Ok(binary)
}

/// Run `cargo deb` on the binary built already; return the path it printed.
fn cargo_deb(cargo: &str) -> Result<PathBuf> {
    let args = ["deb", "-p", APP, "--no-build"];
    eprintln!("+ {cargo} {}", args.join(" "));
    let out = Command::new(cargo)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .context("could not start cargo deb")?;
    if !out.status.success() {
        bail!("`cargo deb` failed ({})", out.status);
    }
    // cargo-deb prints the package's path as its last line on stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .map(str::trim)
        .rfind(|l| l.ends_with(".deb"))
        .with_context(|| format!("cargo deb printed no .deb path: {stdout:?}"))?;
    let deb = absolute(Path::new(path));
    if !deb.is_file() {
        bail!("cargo deb reported {}, which is not there", deb.display());
    }
    Ok(deb)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target` (the working directory is
/// the repository root).
pub fn target_dir() -> PathBuf {
    absolute(Path::new(
        &std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()),
    ))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
