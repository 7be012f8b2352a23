//! `seictl config render|validate|diff`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sei_config::{
    ConfigIntent, Diagnostic, File, Host, Mode, NodeConfig, Severity, is_valid, read_files, resolve,
    snapshot_generation_overrides, validate, write_files,
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
    /// Merge-patch <home>/config/config.toml (or --file app.toml), keeping comments.
    #[command(after_help = "Example:\n  seictl config patch '{\"p2p\": {\"max-connections\": 50}}' --home ~/.sei -i")]
    Patch {
        /// config.toml or app.toml.
        #[arg(long, default_value = "config.toml", value_parser = ["config.toml", "app.toml", "client.toml"])]
        file: String,
        #[command(flatten)]
        home: crate::patch_cmd::HomeArgs,
        #[command(flatten)]
        out: crate::patch_cmd::Output,
    },
}

/// Settings shared by `render` and `diff`.
#[derive(Args)]
pub struct Overrides {
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
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=4096))]
    cpus: Option<u16>,
}

#[derive(Args)]
pub struct RenderArgs {
    /// Node mode.
    #[arg(long, value_parser = parse_mode)]
    mode: Mode,
    /// Chain ID, written to config.toml as chain-id (seid refuses a mismatch with genesis).
    #[arg(long)]
    chain_id: String,
    #[command(flatten)]
    overrides: Overrides,
    /// Directory to write config.toml and app.toml into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct DiffArgs {
    /// Node mode: the defaults to compare against, or with --dir the new mode.
    #[arg(long, value_parser = parse_mode, required_unless_present = "dir")]
    mode: Option<Mode>,
    /// Chain ID.
    #[arg(long)]
    chain_id: Option<String>,
    #[command(flatten)]
    overrides: Overrides,
    /// Compare against the files in this directory instead of the mode's defaults.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Parses a mode; clap turns the error into a usage error (exit 2).
fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse::<Mode>().map_err(|e| e.to_string())
}

impl Overrides {
    fn host(&self) -> Host {
        let detected = Host::detect();
        Host { cpus: self.cpus.map(usize::from).unwrap_or(detected.cpus), hostname: detected.hostname }
    }

    /// Snapshot generation first, then the chain ID and moniker, then --set (which wins).
    fn collect(&self, mode: Option<Mode>, chain_id: Option<&str>) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        if let Some(n) = self.snapshot_keep_recent {
            out.extend(snapshot_generation_overrides(n, mode == Some(Mode::Archive)));
        }
        if let Some(id) = chain_id {
            out.insert("chain.chain_id".into(), id.to_string());
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
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
}

/// Resolves an intent, failing with every finding when it is invalid.
fn resolved(intent: &ConfigIntent, current: Option<&NodeConfig>, host: &Host) -> Result<NodeConfig> {
    let result = resolve(intent, current, host)?;
    print_diagnostics(&result.diagnostics);
    match result.config {
        Some(cfg) => Ok(cfg),
        None => bail!("the resulting configuration is invalid ({} errors above)", errors(&result.diagnostics)),
    }
}

fn render(args: RenderArgs) -> Result<ExitCode> {
    let host = args.overrides.host();
    let intent = ConfigIntent {
        mode: args.mode.to_string(),
        overrides: args.overrides.collect(Some(args.mode), Some(&args.chain_id))?,
        ..Default::default()
    };
    let cfg = resolved(&intent, None, &host)?;
    if cfg.chain_id().is_empty() {
        bail!("the chain ID is empty: seid refuses to start when config.toml and genesis disagree");
    }
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

fn check(dir: PathBuf) -> Result<ExitCode> {
    let cfg = read_files(&dir, &Host::detect()).context("reading the config files")?;
    let diagnostics = validate(&cfg, sei_config::CURRENT_VERSION);
    print_diagnostics(&diagnostics);
    if is_valid(&diagnostics) {
        println!("{}: valid (mode {}, {} warnings)", dir.display(), cfg.mode_str(), diagnostics.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}: invalid ({} errors)", dir.display(), errors(&diagnostics));
        Ok(ExitCode::from(1))
    }
}

fn diff(args: DiffArgs) -> Result<ExitCode> {
    let host = args.overrides.host();
    let chain = args.chain_id.as_deref();
    let (base, cfg) = match &args.dir {
        Some(dir) => {
            let current = read_files(dir, &host).context("reading the config files")?;
            // Without --mode the files' own mode decides what snapshot generation may change.
            let mode = args.mode.or_else(|| current.mode());
            let intent = ConfigIntent {
                mode: args.mode.map(|m| m.to_string()).unwrap_or_default(),
                overrides: args.overrides.collect(mode, chain)?,
                incremental: true,
                ..Default::default()
            };
            let cfg = resolved(&intent, Some(&current), &host)?;
            (current, cfg)
        }
        None => {
            let mode = args.mode.expect("clap requires --mode without --dir");
            let intent = ConfigIntent {
                mode: mode.to_string(),
                overrides: args.overrides.collect(Some(mode), chain)?,
                ..Default::default()
            };
            (sei_config::defaults(mode, &host), resolved(&intent, None, &host)?)
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

pub fn run(cmd: ConfigCommand) -> Result<ExitCode> {
    match cmd {
        ConfigCommand::Render(args) => render(args),
        ConfigCommand::Validate { dir } => check(dir),
        ConfigCommand::Diff(args) => diff(args),
        ConfigCommand::Patch { file, home, out } => crate::patch_cmd::run(&home.config_file(&file), &out),
    }
}

/// Where a key is written, e.g. `config.toml [p2p] max-connections`.
fn locations(key: &str) -> Vec<String> {
    [File::Config, File::App]
        .iter()
        .flat_map(|f| {
            f.layout().iter().filter(|s| s.2.field() == Some(key)).map(move |(table, k, _)| match table {
                Some(t) => format!("{} [{t}] {k}", f.name()),
                None => format!("{} {k}", f.name()),
            })
        })
        .collect()
}
