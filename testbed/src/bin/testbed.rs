//! `testbed up [--token T] | down`: the network-namespace testbed for a person (what
//! `cargo xtask testbed` runs, after building `multiregion` and the UI).
//!
//! `up` removes any leftover testbed, runs the README's multi-machine recipe on fresh hosts
//! (the code the tests use) and prints the URLs; the hosts keep running after it returns.
//! `down` removes every namespace, link, rule and process of the testbed.

use testbed::{Host, Options, Testbed};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let done = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["up"] => up(None),
        ["up", "--token", token] => up(Some(token)),
        ["down"] => testbed::host::check().map(|()| {
            testbed::net::cleanup();
            println!("testbed removed (namespaces, links, rules and processes)");
        }),
        _ => {
            eprintln!("usage: testbed <up [--token TOKEN] | down>");
            std::process::exit(2)
        }
    };
    if let Err(e) = done {
        eprintln!("testbed: {e}");
        std::process::exit(1)
    }
}

fn up(token: Option<&str>) -> testbed::Result<()> {
    let mut options = Options::new()?;
    if let Some(t) = token {
        options.token = t.to_owned();
    }
    let logs = options.log_dir.clone();
    let bed = Testbed::up(options)?;
    println!("testbed up: the README's recipe on network namespaces");
    for step in bed.steps() {
        println!(
            "  on {} ({}): {}",
            step.host.name(),
            step.host.addr(),
            step.command
        );
    }
    for region in Host::REGIONS {
        let (url, token) = (bed.url(region), bed.token());
        println!("region {}: {url}/?token={token}", region.name());
    }
    println!(
        "logs: {}\nremove it with: cargo xtask testbed down",
        logs.display()
    );
    bed.detach();
    Ok(())
}
