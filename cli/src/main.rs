//! `multiregion`: run regional servers headless (thin over `server_core`).
//!
//! # Layout
//! - [`config`]: every setting of `serve`, from flags, environment, `--config` file, defaults.
//! - [`serve`]: choose the broker and run the regions until a shutdown signal.

mod config;
mod serve;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "multiregion",
    version,
    about = "Multi-Region Servers: regional WebSocket servers synced through Redis"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run regional servers (all three by default, or the ones named with --region).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML file of settings (keys as the flags, `_` for `-`); flags and environment
    /// variables override it.
    #[arg(long, env = "MULTIREGION_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration as TOML (which --config accepts) and exit.
    #[arg(long)]
    print_config: bool,
    #[command(flatten)]
    settings: config::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (Command::Serve(args), Some(("serve", serve_matches))) =
        (cli.command, matches.subcommand())
    else {
        unreachable!("serve is the only command");
    };
    // A bad setting stops everything before anything starts, as clap does for a bad flag.
    let settings = match config::resolve(serve_matches, args.settings, args.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if args.print_config {
        print!("{}", settings.to_toml());
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    serve::run(settings).await
}
