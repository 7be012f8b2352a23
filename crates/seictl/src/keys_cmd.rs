//! `seictl keys`: CometBFT key files for a validator, to put in the Secrets a `SeiNode`
//! names in `spec.validator.signingKey` and `spec.validator.nodeKey`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use sei_sidecar::keys;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a fresh priv_validator_key.json and node_key.json (mode 0600) into a directory,
    /// as `seid init` would. Existing files are never overwritten.
    Generate {
        /// Directory to write into (created if missing).
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate { out_dir } => {
            std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
            let signing = keys::generate().map_err(anyhow::Error::msg)?;
            let node = keys::generate().map_err(anyhow::Error::msg)?;
            let files = [
                ("priv_validator_key.json", keys::priv_validator_key_json(&signing)),
                ("node_key.json", keys::node_key_json(&node)),
            ];
            for (name, _) in &files {
                let path = out_dir.join(name);
                if path.exists() {
                    bail!(
                        "{} exists; keys are never overwritten (remove it or pick another --out-dir)",
                        path.display()
                    );
                }
            }
            for (name, json) in &files {
                write_private(&out_dir.join(name), &serde_json::to_vec_pretty(json)?)?;
            }
            println!("validator address {}", hex_upper(&keys::address(&signing)));
            println!("node ID           {}", keys::node_id(&node));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
