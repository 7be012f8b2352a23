//! `seid-sim`: the seid simulator of one simulated pod, as its own process, so that the
//! sidecar can stop it the way it stops seid (SIGTERM).
//!
//! Beside a pod-runner sidecar (flags only):
//!
//!   seid-sim --home DIR --port N --chain-epoch-ms MS --pid-file FILE [--catch-up-ms MS]
//!
//! As `seid` in the stand-in seid image of the real node, with seid's own command lines:
//!
//!   seid init MONIKER --chain-id ID --home DIR [--overwrite]
//!   seid start --home DIR [--halt-height N]
//!
//! `start` serves the RPC on every address at seid's port (26657), follows the chain that
//! began at the genesis file's `genesis_time`, and with `--halt-height` stops at that height
//! with exit code 130 as seid's halt does (for the bootstrap Job). It follows the live chain
//! (catching up first), ignores SIGHUP (seid re-reads its config), and on SIGTERM writes
//! the height it stopped at to `DIR/seid-halted-at` and exits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use sei_testenv::{LiveChain, SeidSimulator};

#[derive(Parser)]
#[command(about = "A simulated seid RPC for one pod of the local simulated cluster")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Seid>,
    #[command(flatten)]
    runner: RunnerArgs,
}

#[derive(clap::Args)]
struct RunnerArgs {
    /// The node's home: its node ID is that of `config/node_key.json`.
    #[arg(long)]
    home: Option<PathBuf>,
    /// Loopback port of the RPC.
    #[arg(long)]
    port: Option<u16>,
    /// When the chain was at height 0 (milliseconds since the Unix epoch).
    #[arg(long)]
    chain_epoch_ms: Option<u64>,
    /// Where to write this process's pid.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// How long joining the chain takes (milliseconds).
    #[arg(long, default_value_t = sei_testenv::CATCH_UP.as_millis() as u64)]
    catch_up_ms: u64,
}

/// The part of seid's command line the operator's containers use.
#[derive(Subcommand)]
enum Seid {
    /// Writes a new home as `seid init` does: keys, validator state, config and genesis.
    Init {
        moniker: String,
        #[arg(long)]
        chain_id: String,
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        overwrite: bool,
    },
    /// Runs the node.
    Start {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        halt_height: Option<i64>,
    },
}

/// Where the height at which the node was stopped is noted.
const HALTED_AT: &str = "seid-halted-at";
/// seid's CometBFT RPC port.
const RPC_PORT: u16 = 26657;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Seid::Init { moniker, chain_id, home, overwrite }) => init(&home, &moniker, &chain_id, overwrite),
        Some(Seid::Start { home, halt_height }) => start(&home, halt_height).await,
        None => run_beside_runner(cli.runner).await,
    }
}

async fn run_beside_runner(a: RunnerArgs) -> Result<()> {
    let (Some(home), Some(port), Some(epoch), Some(pid_file)) = (a.home, a.port, a.chain_epoch_ms, a.pid_file) else {
        bail!("--home, --port, --chain-epoch-ms and --pid-file are required without a subcommand");
    };
    let sim = SeidSimulator::for_home_on(&home, port).await.with_context(|| format!("port {port}"))?;
    sim.follow_catching_up_for(LiveChain { epoch_ms: epoch }, Duration::from_millis(a.catch_up_ms));
    std::fs::write(&pid_file, std::process::id().to_string())
        .with_context(|| format!("writing {}", pid_file.display()))?;
    serve_until_stopped(&sim, &home, None).await
}

fn write_new(path: &Path, text: &str, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        bail!("{} already exists (seid init --overwrite replaces it)", path.display());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn init(home: &Path, moniker: &str, chain_id: &str, overwrite: bool) -> Result<()> {
    use sei_sidecar::keys;
    let config = home.join("config");
    let data = home.join("data");
    for dir in [&config, &data] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let node_key = keys::generate().map_err(anyhow::Error::msg)?;
    let validator_key = keys::generate().map_err(anyhow::Error::msg)?;
    write_new(&config.join("node_key.json"), &keys::node_key_json(&node_key).to_string(), overwrite)?;
    write_new(
        &config.join("priv_validator_key.json"),
        &keys::priv_validator_key_json(&validator_key).to_string(),
        overwrite,
    )?;
    write_new(&data.join("priv_validator_state.json"), &keys::priv_validator_state_json().to_string(), overwrite)?;
    let mut cfg = sei_config::defaults(sei_config::Mode::Full, &sei_config::Host::detect());
    for (key, value) in [("chain.moniker", moniker), ("chain.chain_id", chain_id)] {
        sei_config::apply_one(&mut cfg, key, value).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
    }
    for file in [sei_config::File::Config, sei_config::File::App] {
        let path = config.join(file.name());
        write_new(&path, &sei_config::render(&cfg, file), overwrite)?;
    }
    let now = k8s_openapi::jiff::Timestamp::now();
    let genesis = serde_json::json!({"genesis_time": now.to_string(), "chain_id": chain_id, "initial_height": "1", "app_state": {}});
    write_new(&config.join("genesis.json"), &serde_json::to_string_pretty(&genesis)?, overwrite)?;
    println!("{}", serde_json::json!({"moniker": moniker, "chain_id": chain_id, "node_id": keys::node_id(&node_key)}));
    Ok(())
}

/// The chain the genesis file describes: it began at `genesis_time`.
fn chain_of(home: &Path) -> Result<LiveChain> {
    let path = home.join("config/genesis.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let genesis: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let time = genesis["genesis_time"].as_str().with_context(|| format!("{} has no genesis_time", path.display()))?;
    let at: k8s_openapi::jiff::Timestamp = time.parse().with_context(|| format!("genesis_time {time:?}"))?;
    Ok(LiveChain { epoch_ms: at.as_millisecond().max(0) as u64 })
}

async fn start(home: &Path, halt_height: Option<i64>) -> Result<()> {
    let chain = chain_of(home)?;
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], RPC_PORT));
    let sim = SeidSimulator::for_home_at(home, addr).await.with_context(|| format!("listening on {addr}"))?;
    sim.follow(chain);
    eprintln!(
        "seid-sim: serving the RPC on {addr}, following the chain of {}",
        home.join("config/genesis.json").display()
    );
    serve_until_stopped(&sim, home, halt_height).await
}

/// Runs until SIGTERM (or the halt height), noting the height it stopped at.
async fn serve_until_stopped(sim: &SeidSimulator, home: &Path, halt_height: Option<i64>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = hup.recv() => eprintln!("seid-sim: SIGHUP, configuration re-read"),
            _ = tick.tick() => {
                if let Some(halt) = halt_height && sim.sync_info().0 >= halt {
                    sim.set_height(halt);
                    std::fs::write(home.join(HALTED_AT), halt.to_string())?;
                    eprintln!("seid-sim: reached halt height {halt}");
                    std::process::exit(130);
                }
            }
        }
    }
    let (height, _) = sim.sync_info();
    std::fs::write(home.join(HALTED_AT), height.to_string())?;
    Ok(())
}
