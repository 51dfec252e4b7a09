//! `bench`: the load generator. See the crate docs (`bench/src/lib.rs`) and
//! `docs/performance.md`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = bench::cli::Cli::parse();
    match bench::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
