//! `seictl`: the Sei command-line tool.
//!
//! Exit codes: 0 success, 1 invalid input (the reason on stderr), 2 usage error.

mod config_cmd;
mod keys_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "seictl", version, about = "Run and inspect Sei nodes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render, validate and compare seid's config.toml and app.toml.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Validator key files (priv_validator_key.json, node_key.json) for the Secrets a SeiNode names.
    #[command(subcommand)]
    Keys(keys_cmd::KeysCommand),
    /// Run the node sidecar: the task API the operator drives (see docs/sidecar.md).
    Serve(serve_cmd::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Keys(cmd) => keys_cmd::run(cmd),
        Command::Serve(args) => serve_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seictl: {e:#}");
            ExitCode::from(1)
        }
    }
}
