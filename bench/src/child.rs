//! A server in a child process of the bench (`bench serve`, `bench bare-server`), and the
//! two-line handshake between it and the bench that started it:
//! - the child prints `ready name=ws://…/ws,…` (its [`Target`]s) on stdout once every port
//!   listens;
//! - it serves until its stdin closes, which is how it learns that the parent exited (also
//!   when the parent was killed: no signal handling needed on either side).

use crate::target::{self, Target};
use anyhow::{bail, Context};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// Run this executable with `args`, and wait for its `ready` line: the child and where it
/// listens. A child that ends or prints anything else first is killed, and that is the error.
pub fn spawn(args: &[String]) -> anyhow::Result<(Child, Vec<Target>)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("start the child process `{}`", args[0]))?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let Some(list) = line.trim().strip_prefix("ready ") else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("the child process `{}` did not start: {line:?}", args[0]);
    };
    Ok((child, target::parse_targets(list, true)))
}

/// The child side: print `ready name=ws://…,…` for `targets`, then wait until stdin closes
/// (the parent exited).
pub async fn ready_until_parent_exits(targets: &[Target]) -> anyhow::Result<()> {
    println!("ready {}", target::named_list(targets));
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    })
    .await?;
    Ok(())
}
