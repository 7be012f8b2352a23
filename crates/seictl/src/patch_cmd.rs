//! `seictl patch`, `config patch`, `genesis patch`: merge-patch a seid TOML or JSON file
//! locally, with the sidecar's `config-patch` algorithm (objects merge, `null` deletes,
//! anything else replaces; TOML comments and layout kept). The result goes to stdout, to
//! `-o FILE` (mode 0600) or back into the file with `-i` (atomic, permissions kept).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Map, Value};

#[derive(Args, Debug)]
pub struct Output {
    /// The patch: inline JSON ('{"p2p": {"max-connections": 50}}'), a JSON or YAML file,
    /// or - for stdin.
    #[arg(value_name = "PATCH")]
    pub patch: String,
    /// Write the result to this file (mode 0600) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Write the result back into the file (atomically, keeping its permissions).
    #[arg(short = 'i', long)]
    pub in_place: bool,
}

#[derive(Args, Debug)]
pub struct PatchArgs {
    /// The file to patch: *.toml (config.toml, app.toml, client.toml) or *.json (genesis.json).
    pub file: PathBuf,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Args, Debug)]
pub struct HomeArgs {
    /// seid's home (default: $SEI_HOME, else ~/.sei).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

impl HomeArgs {
    pub fn config_file(&self, name: &str) -> PathBuf {
        let home = self
            .home
            .clone()
            .or_else(|| std::env::var_os("SEI_HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".sei"));
        home.join("config").join(name)
    }
}

/// The patch as a JSON object.
fn read_patch(arg: &str) -> anyhow::Result<Map<String, Value>> {
    let (text, source) = if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("PATCH -: reading stdin")?;
        (s, "stdin".to_string())
    } else if arg.trim_start().starts_with('{') {
        (arg.to_string(), "inline JSON".to_string())
    } else {
        (std::fs::read_to_string(arg).with_context(|| format!("PATCH {arg}"))?, arg.to_string())
    };
    let value: Value = serde_norway::from_str(&text).with_context(|| format!("PATCH {source}: not JSON or YAML"))?;
    match value {
        Value::Object(map) => Ok(map),
        other => bail!("PATCH {source}: must be an object, got {other}"),
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_json(target: &mut Value, patch: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("an object");
    for (k, v) in patch {
        match v {
            Value::Null => {
                map.remove(k);
            }
            Value::Object(inner) => merge_json(map.entry(k.clone()).or_insert(Value::Null), inner),
            other => {
                map.insert(k.clone(), other.clone());
            }
        }
    }
}

/// The patched text of `file`.
fn patched(file: &Path, patch: &Map<String, Value>) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    match file.extension().and_then(|e| e.to_str()) {
        Some("toml") => {
            sei_sidecar::tasks::merge_patch(&text, patch).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
        }
        Some("json") => {
            let mut doc: Value =
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))?;
            merge_json(&mut doc, patch);
            Ok(serde_json::to_string_pretty(&doc)? + "\n")
        }
        _ => bail!("{}: patches *.toml or *.json files", file.display()),
    }
}

fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp =
        dir.join(format!(".{}.seictl-{}", path.file_name().unwrap_or_default().to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

pub fn run(file: &Path, out: &Output) -> anyhow::Result<ExitCode> {
    let patch = read_patch(&out.patch)?;
    let text = patched(file, &patch)?;
    if out.in_place {
        let mode = std::fs::metadata(file)?.permissions().mode() & 0o7777;
        write(file, &text, mode)?;
    } else if let Some(path) = &out.output {
        write(path, &text, 0o600)?;
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_merge_patch_merges_deletes_and_replaces() {
        let mut doc = json!({"chain_id": "a", "app_state": {"bank": {"x": 1, "y": 2}}, "list": [1]});
        let patch =
            json!({"chain_id": "b", "app_state": {"bank": {"x": null, "z": 3}}, "list": [2, 3], "new": {"k": true}});
        merge_json(&mut doc, patch.as_object().unwrap());
        assert_eq!(
            doc,
            json!({"chain_id": "b", "app_state": {"bank": {"y": 2, "z": 3}}, "list": [2, 3], "new": {"k": true}})
        );
    }
}

/// `seictl genesis ...`.
#[derive(clap::Subcommand, Debug)]
pub enum GenesisCommand {
    /// Merge-patch <home>/config/genesis.json.
    #[command(
        after_help = "Example:\n  seictl genesis patch '{\"app_state\": {\"staking\": {\"params\": {\"max_validators\": 50}}}}' -i"
    )]
    Patch {
        #[command(flatten)]
        home: HomeArgs,
        #[command(flatten)]
        out: Output,
    },
}

pub fn genesis(cmd: GenesisCommand) -> anyhow::Result<ExitCode> {
    let GenesisCommand::Patch { home, out } = cmd;
    run(&home.config_file("genesis.json"), &out)
}
