//! The README's "Running regions on several machines" recipe, as the testbed runs it.
//!
//! The recipe is one `sh` block of the README: a `# on <machine>` comment names the machine,
//! the command under it (with `\` continuations) runs there. The testbed runs exactly those
//! commands, with the recipe's machine names replaced by the testbed's addresses, in the
//! matching hosts; `$SECRET` is set in their environment and `multiregion` is found on `PATH`.

use crate::net::Host;
use crate::{Error, Result};

/// The README the recipe is read from (compiled in, so the test is of the README as
/// committed).
pub const README: &str = include_str!("../../README.md");

/// Heading of the recipe's section.
const SECTION: &str = "## Running regions on several machines";

/// The recipe's machine names and the testbed hosts that play them.
pub const MACHINES: [(&str, Host); 4] = [
    ("redis.internal", Host::Redis),
    ("a.internal", Host::As),
    ("b.internal", Host::Us),
    ("c.internal", Host::Eu),
];

/// One command of the recipe, addresses substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Where it runs.
    pub host: Host,
    /// The `sh` command line.
    pub command: String,
}

/// The recipe's commands, in order, for the testbed.
pub fn steps(readme: &str) -> Result<Vec<Step>> {
    let mut steps = raw_steps(readme)?;
    for s in &mut steps {
        s.command = substitute(&s.command);
    }
    Ok(steps)
}

/// The recipe's commands, in order, with the README's machine names (`a.internal`, …) as
/// they are: for another bed to substitute its own addresses.
pub fn raw_steps(readme: &str) -> Result<Vec<Step>> {
    let bad = |why: &str| Error::Recipe(why.to_owned());
    let section = readme
        .split_once(SECTION)
        .ok_or_else(|| bad("no \"Running regions on several machines\" section"))?
        .1;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .ok_or_else(|| bad("no ```sh block in the section"))?
        .0;
    let mut steps: Vec<Step> = Vec::new();
    let mut host = None;
    let mut command = String::new();
    for line in block.lines() {
        let line = line.trim();
        if let Some(machine) = line.strip_prefix("# on ") {
            let name = machine.split_whitespace().next().unwrap_or_default();
            host = Some(
                MACHINES
                    .iter()
                    .find(|(m, _)| *m == name)
                    .map(|(_, h)| *h)
                    .ok_or_else(|| bad(&format!("unknown machine {name:?}")))?,
            );
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let host = host.ok_or_else(|| bad("a command before any `# on <machine>` line"))?;
        match line.strip_suffix('\\') {
            Some(part) => command.push_str(part),
            None => {
                command.push_str(line);
                steps.push(Step {
                    host,
                    command: std::mem::take(&mut command),
                });
            }
        }
    }
    if steps.is_empty() {
        return Err(bad("the block has no commands"));
    }
    Ok(steps)
}

/// The recipe's machine names replaced by the testbed's addresses.
pub fn substitute(text: &str) -> String {
    MACHINES.iter().fold(text.to_owned(), |t, (name, host)| {
        t.replace(name, &host.addr().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_recipe_starts_redis_and_three_regions_with_a_token() {
        let steps = steps(README).unwrap();
        let hosts: Vec<Host> = steps.iter().map(|s| s.host).collect();
        assert_eq!(hosts, [Host::Redis, Host::As, Host::Us, Host::Eu]);
        for s in &steps[1..] {
            assert!(s.command.starts_with("multiregion serve"), "{}", s.command);
            assert!(s.command.contains("--token \"$SECRET\""), "{}", s.command);
            assert!(
                s.command.contains("redis://10.203.77.20:6379"),
                "{}",
                s.command
            );
            assert!(!s.command.contains(".internal"), "{}", s.command);
        }
    }

    #[test]
    fn continuation_lines_are_joined() {
        let md = "## Running regions on several machines\n```sh\n# on a.internal (x)\n\
                  multiregion serve \\\n  --peer us=http://b.internal:4001\n```\n";
        let s = steps(md).unwrap();
        assert_eq!(
            s,
            [Step {
                host: Host::As,
                command: "multiregion serve --peer us=http://10.203.77.12:4001".into()
            }]
        );
    }
}
