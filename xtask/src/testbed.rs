//! `cargo xtask testbed up [--token T] | down`: the network-namespace testbed for a person.
//!
//! Builds `multiregion` and the UI (for `up`), then runs the `testbed` crate's binary, which
//! uses the code the testbed tests use: `up` runs the README's multi-machine recipe on fresh
//! hosts (after removing any leftover) and prints the URLs, `down` removes everything.
//! Needs root.

use crate::{build_ui, cargo, sh};
use anyhow::Result;

/// Run `testbed ARGS`.
pub fn run(args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) == Some("up") {
        crate::setup::ensure_testbed()?;
        sh(
            &cargo(),
            &["build", "--bin", "multiregion", "--bin", "testbed"],
        )?;
        build_ui()?;
    }
    let mut all = vec!["run", "--quiet", "-p", "testbed", "--bin", "testbed", "--"];
    all.extend(args.iter().map(String::as_str));
    sh(&cargo(), &all)
}
