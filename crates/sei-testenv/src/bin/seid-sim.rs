//! `seid-sim`: the seid simulator of one simulated pod, as its own process, so that the
//! sidecar can stop it the way it stops seid (SIGTERM, found through a pid file).
//!
//!   seid-sim --home DIR --port N --chain-epoch-ms MS --pid-file FILE [--catch-up-ms MS]
//!
//! It follows the live chain that started at `--chain-epoch-ms` (catching up first), and
//! on SIGTERM writes the height it stopped at to `DIR/seid-halted-at` and exits.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use sei_testenv::{LiveChain, SeidSimulator};

#[derive(Parser)]
#[command(about = "A simulated seid RPC for one pod of the local simulated cluster")]
struct Cli {
    /// The node's home: its node ID is that of `config/node_key.json`.
    #[arg(long)]
    home: PathBuf,
    /// Loopback port of the RPC.
    #[arg(long)]
    port: u16,
    /// When the chain was at height 0 (milliseconds since the Unix epoch).
    #[arg(long)]
    chain_epoch_ms: u64,
    /// Where to write this process's pid.
    #[arg(long)]
    pid_file: PathBuf,
    /// How long joining the chain takes (milliseconds).
    #[arg(long, default_value_t = sei_testenv::CATCH_UP.as_millis() as u64)]
    catch_up_ms: u64,
}

/// Where the height at which the node was stopped is noted.
const HALTED_AT: &str = "seid-halted-at";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let sim = SeidSimulator::for_home_on(&cli.home, cli.port).await.with_context(|| format!("port {}", cli.port))?;
    sim.follow_catching_up_for(
        LiveChain { epoch_ms: cli.chain_epoch_ms },
        std::time::Duration::from_millis(cli.catch_up_ms),
    );
    std::fs::write(&cli.pid_file, std::process::id().to_string())
        .with_context(|| format!("writing {}", cli.pid_file.display()))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    term.recv().await;
    let (height, _) = sim.sync_info();
    std::fs::write(cli.home.join(HALTED_AT), height.to_string())?;
    Ok(())
}
