//! `seictl bench`: a throw-away chain, an RPC fleet peering with it and a workload Job,
//! made, found and removed by the label contract alone (no CRD, no controller of its own).

pub mod aws;
pub mod down;
pub mod envelope;
pub mod identity;
pub mod list;
pub mod plan;
pub mod up;
pub mod wait;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;

use crate::cluster::ClusterArgs;

/// The server-side-apply field manager of everything bench applies (renaming it would
/// abandon ownership of earlier runs' objects).
pub const FIELD_MANAGER: &str = "seictl-bench";

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Create a chain (validators holding a genesis ceremony), an RPC fleet and a workload
    /// Job; wait for each and print the result envelope (endpoints, verdict) on stdout.
    ///
    /// Progress goes to stderr, one JSON line per phase change. The exit code is the
    /// verdict's: the workload's exit code (0 passed, 1 failed, 2 could not test) AND every
    /// --rules rule; with --no-wait it is 0 once everything is applied. A failure of bench
    /// itself (bad input, a conflict, a fleet not ready in time) is exit 1 with an error
    /// envelope.
    #[command(after_help = "Examples:\n  \
        seictl bench up --name demo --owner alice --image ghcr.io/sei-protocol/sei:v6.3.0\n  \
        seictl bench up --name demo --owner alice --image sei:v6.3.0 --size m --duration 45m --no-wait\n  \
        seictl bench up --name demo --owner alice --image sei:v6.3.0 --dry-run -o yaml\n\n\
        The owner is --owner, else the kube context's user; the namespace is -n, else the\n\
        context's namespace, else eng-<owner>. With --aws the owner is the AWS caller, the\n\
        namespace eng-<owner>, and an ECR tag is pinned to its digest.")]
    Up(Box<up::UpArgs>),
    /// Delete a run's objects: everything labelled with its chain ID.
    ///
    /// Refuses, listing them, while objects other than the run's own carry the chain ID,
    /// unless --cascade.
    #[command(after_help = "Examples:\n  seictl bench down --name demo --owner alice\n  \
        seictl bench down --chain-id bench-alice-demo --cascade")]
    Down(down::DownArgs),
    /// List runs (grouped by chain ID) with their fleets' readiness and the workload's state.
    #[command(
        after_help = "Examples:\n  seictl bench list\n  seictl bench list -A -o json | jq '.data.items[].chainId'"
    )]
    List(list::ListArgs),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async {
        match cmd {
            BenchCommand::Up(a) => up::run(*a).await,
            BenchCommand::Down(a) => down::run(a).await,
            BenchCommand::List(a) => list::run(a).await,
        }
    })
}

/// `30` (minutes, as the reference took it), or with a unit: `90s`, `45m`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let bad = || format!("{s:?} is not a duration like 30 (minutes), 90s, 45m or 2h");
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "m" => n * 60,
        "s" => n,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}

/// `1800` seconds as `30m`, `90` as `90s`.
pub fn show_duration(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The cluster flags and owner every bench verb takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Who {
    /// Whose run this is (label sei.io/engineer; default: the kube context's user, or with
    /// --aws the AWS caller).
    #[arg(long, value_name = "ALIAS")]
    pub owner: Option<String>,
    /// The AWS path: the owner is the AWS caller (STS), the namespace eng-<owner>, and an
    /// ECR image tag is pinned to its digest.
    #[arg(long)]
    pub aws: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_default_to_minutes() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("1d").is_err() && parse_duration("m").is_err());
        assert_eq!(
            (show_duration(1800), show_duration(90), show_duration(7200)),
            ("30m".into(), "90s".into(), "2h".into())
        );
    }
}
