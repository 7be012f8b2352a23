//! `seictl`: the Sei command-line tool.
//!
//! Exit codes: 0 success, 1 invalid input (the reason on stderr), 2 usage error.

mod await_cmd;
mod bench;
mod cluster;
mod config_cmd;
mod jsonpath;
mod keys_cmd;
mod nd;
mod output;
mod patch_cmd;
mod plugin_cmd;
mod report_cmd;
mod rules;
mod serve_cmd;
mod workload_cmd;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "seictl",
    version,
    about = "Run and test Sei nodes on Kubernetes: fleets, throw-away test chains with a verdict, rules, config files, keys, and the node sidecar",
    after_help = "Exit codes: 0 success; 1 bad input or a failed operation (one line on stderr naming the flag or field); 2 usage error.\nThe same binary is the kubectl plugin `kubectl sei` (seictl install-plugin). Manual: docs/seictl.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// SeiNodeDeployments: apply from a preset, get, list, delete, watch.
    #[command(subcommand, name = "nodedeployment", visible_alias = "nd")]
    Nd(nd::NdCommand),
    /// Throw-away chains for tests: a chain, an RPC fleet and a workload with a verdict, in one command.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Prometheus rules with a verdict: a rules file, or one query or alert rule, over a window.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Workloads for test chains that follow the bench runtime contract (exit 0/1/2, RESULT_DIR).
    #[command(subcommand)]
    Workload(workload_cmd::WorkloadCommand),
    /// Wait for something on a chain: a validator known to the staking API.
    #[command(subcommand, name = "await")]
    Await(await_cmd::AwaitCommand),
    /// Shadow-node comparisons the sidecar's result-export uploaded: list them, print a divergence.
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
    /// Render, validate, compare and patch seid's config.toml and app.toml.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Change a node's genesis.json (merge-patch).
    #[command(subcommand)]
    Genesis(patch_cmd::GenesisCommand),
    /// Merge-patch any seid TOML or JSON file (the sidecar's config-patch algorithm).
    #[command(
        after_help = "Examples:\n  seictl patch ~/.sei/config/app.toml '{\"evm\": {\"http_port\": 8545}}' -i\n  \
        seictl patch genesis.json patch.yaml -o patched.json"
    )]
    Patch(patch_cmd::PatchArgs),
    /// Validator key files (priv_validator_key.json, node_key.json) for the Secrets a SeiNode names.
    #[command(subcommand)]
    Keys(keys_cmd::KeysCommand),
    /// Run the node sidecar: the task API the operator drives (see docs/sidecar.md).
    Serve(serve_cmd::ServeArgs),
    /// Install this binary as the kubectl plugin `kubectl-sei` (a symlink), so that
    /// `kubectl sei ...` runs it.
    InstallPlugin(plugin_cmd::InstallArgs),
}

fn main() -> ExitCode {
    // As the kubectl plugin, the same arguments mean the same; only help says `kubectl sei`.
    let mut command = Cli::command();
    if plugin_cmd::invoked_as_plugin() {
        command = command.name("kubectl-sei").bin_name("kubectl sei");
    }
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Keys(cmd) => keys_cmd::run(cmd),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Nd(cmd) => nd::run(cmd),
        Command::InstallPlugin(args) => plugin_cmd::install(args),
        Command::Workload(cmd) => workload_cmd::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Genesis(cmd) => patch_cmd::genesis(cmd),
        Command::Patch(args) => patch_cmd::run(&args.file, &args.out),
        Command::Await(cmd) => await_cmd::run(cmd),
        Command::Report(cmd) => report_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seictl: {e:#}");
            ExitCode::from(1)
        }
    }
}
