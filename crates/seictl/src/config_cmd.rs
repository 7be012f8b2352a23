//! `seictl config render|validate|diff`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sei_config::{
    ConfigIntent, Diagnostic, File, Host, Mode, NodeConfig, Severity, is_valid, read_files,
    resolve, snapshot_generation_overrides, validate, write_files,
};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Write config.toml and app.toml for a node mode.
    Render(RenderArgs),
    /// Check config.toml and app.toml in a directory and report every problem.
    Validate {
        /// Directory holding config.toml and app.toml.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Show what a set of overrides changes, relative to a mode's defaults or to files.
    Diff(DiffArgs),
}

#[derive(Args)]
pub struct Intent {
    /// Node mode.
    #[arg(long, value_parser = ["full", "validator", "archive", "seed"])]
    mode: Option<String>,
    /// Chain ID written to config.toml (chain-id) and used by seid at start.
    #[arg(long)]
    chain_id: Option<String>,
    /// Override one setting by its dotted key, e.g. --set evm.http_port=8545. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Produce state-sync snapshots every 2000 blocks, keeping this many.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    snapshot_keep_recent: Option<u32>,
    /// Node name (default: this host's name).
    #[arg(long)]
    moniker: Option<String>,
    /// CPU count the CPU-dependent defaults are computed for (default: this machine's).
    #[arg(long)]
    cpus: Option<usize>,
}

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    intent: Intent,
    /// Directory to write config.toml and app.toml into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct DiffArgs {
    #[command(flatten)]
    intent: Intent,
    /// Compare against the files in this directory instead of the mode's defaults.
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl Intent {
    fn host(&self) -> Host {
        let detected = Host::detect();
        Host {
            cpus: self.cpus.unwrap_or(detected.cpus),
            hostname: detected.hostname,
        }
    }

    /// The overrides: snapshot generation first, then --chain-id/--moniker, then --set
    /// (which wins).
    fn overrides(&self, archive: bool) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        if let Some(n) = self.snapshot_keep_recent {
            out.extend(snapshot_generation_overrides(n, archive));
        }
        if let Some(id) = &self.chain_id {
            out.insert("chain.chain_id".into(), id.clone());
        }
        if let Some(m) = &self.moniker {
            out.insert("chain.moniker".into(), m.clone());
        }
        for pair in &self.set {
            let Some((k, v)) = pair.split_once('=') else {
                bail!("--set {pair:?}: expected KEY=VALUE");
            };
            out.insert(k.trim().to_string(), v.to_string());
        }
        Ok(out)
    }

    fn to_intent(&self, incremental: bool) -> Result<ConfigIntent> {
        let archive = self.mode.as_deref() == Some("archive");
        Ok(ConfigIntent {
            mode: self.mode.clone().unwrap_or_default(),
            overrides: self.overrides(archive)?,
            target_version: 0,
            incremental,
        })
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

/// Resolves an intent, failing with every finding when it is invalid.
fn resolved(
    intent: &ConfigIntent,
    current: Option<&NodeConfig>,
    host: &Host,
) -> Result<NodeConfig> {
    let result = resolve(intent, current, host)?;
    print_diagnostics(&result.diagnostics);
    match result.config {
        Some(cfg) => Ok(cfg),
        None => bail!(
            "the resulting configuration is invalid ({} errors above)",
            errors(&result.diagnostics)
        ),
    }
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

pub fn run(cmd: ConfigCommand) -> Result<ExitCode> {
    match cmd {
        ConfigCommand::Render(args) => {
            if args.intent.mode.is_none() {
                bail!("--mode is required");
            }
            if args.intent.chain_id.as_deref().is_none_or(str::is_empty) {
                bail!(
                    "--chain-id is required: seid refuses to start when config.toml and genesis disagree"
                );
            }
            let host = args.intent.host();
            let cfg = resolved(&args.intent.to_intent(false)?, None, &host)?;
            write_files(&cfg, &args.out)?;
            println!(
                "wrote {} and {} (mode {}, chain {})",
                args.out.join("config.toml").display(),
                args.out.join("app.toml").display(),
                cfg.mode_str(),
                cfg.chain_id()
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Validate { dir } => {
            let cfg = read_files(&dir, &Host::detect()).context("reading the config files")?;
            let diagnostics = validate(&cfg, sei_config::CURRENT_VERSION);
            print_diagnostics(&diagnostics);
            if is_valid(&diagnostics) {
                println!(
                    "{}: valid (mode {}, {} warnings)",
                    dir.display(),
                    cfg.mode_str(),
                    diagnostics.len()
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "{}: invalid ({} errors)",
                    dir.display(),
                    errors(&diagnostics)
                );
                Ok(ExitCode::from(1))
            }
        }
        ConfigCommand::Diff(args) => {
            let host = args.intent.host();
            let (base, cfg) = match &args.dir {
                Some(dir) => {
                    let current = read_files(dir, &host).context("reading the config files")?;
                    let cfg = resolved(&args.intent.to_intent(true)?, Some(&current), &host)?;
                    (current, cfg)
                }
                None => {
                    let Some(mode) = &args.intent.mode else {
                        bail!("--mode or --dir is required")
                    };
                    let mode: Mode = mode.parse()?;
                    let cfg = resolved(&args.intent.to_intent(false)?, None, &host)?;
                    (sei_config::defaults(mode, &host), cfg)
                }
            };
            let changes = base.diff(&cfg);
            if changes.is_empty() {
                println!("no changes");
            }
            for (key, old, new) in changes {
                println!("{key}: {old} -> {new}    ({})", locations(key).join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where a key is written, e.g. `config.toml [p2p] max-connections`.
fn locations(key: &str) -> Vec<String> {
    [File::Config, File::App]
        .iter()
        .flat_map(|f| {
            f.layout()
                .iter()
                .filter(|s| s.2.field() == Some(key))
                .map(move |(table, k, _)| match table {
                    Some(t) => format!("{} [{t}] {k}", f.name()),
                    None => format!("{} {k}", f.name()),
                })
        })
        .collect()
}
