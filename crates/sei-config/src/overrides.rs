//! Dotted-key overrides and `SEI_*` environment variables.

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::model::NodeConfig;
use crate::registry::{FIELDS, lookup};
use crate::value::Value;

/// Applies overrides in key order (so the result never depends on map order). The first
/// invalid one aborts with an error naming the key, the value and why.
pub fn apply_overrides(cfg: &mut NodeConfig, overrides: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (key, text) in overrides {
        apply_one(cfg, key, text)?;
    }
    Ok(())
}

/// Applies one `key=value` override.
pub fn apply_one(cfg: &mut NodeConfig, key: &str, text: &str) -> Result<(), ConfigError> {
    let field = lookup(key).ok_or_else(|| ConfigError::UnknownKey(key.to_string()))?;
    let value = Value::parse(field.kind, text).map_err(|reason| ConfigError::Override {
        key: key.to_string(),
        value: text.to_string(),
        reason,
    })?;
    cfg.set(key, value)
}

/// The overrides that make a node produce state-sync snapshots every 2000 blocks, keeping
/// `keep_recent` of them. Archive nodes keep their full history: for them only the two
/// snapshot settings apply (as the reference operator sets them), never the pruning or
/// retention ones that would make seid prune receipts and blocks.
pub fn snapshot_generation_overrides(keep_recent: u32, archive: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        ("storage.snapshot_interval".to_string(), crate::mode::DEFAULT_SNAPSHOT_INTERVAL.to_string()),
        ("storage.snapshot_keep_recent".to_string(), keep_recent.to_string()),
    ]);
    if !archive {
        for (k, v) in [
            ("storage.pruning_keep_recent", "50000"),
            ("storage.pruning_keep_every", "0"),
            ("chain.min_retain_blocks", "50000"),
            ("network.p2p.max_connections", "500"),
            ("network.p2p.send_rate", "20971520"),
            ("network.p2p.recv_rate", "20971520"),
        ] {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// Applies `SEI_<KEY>` variables (and the deprecated `SEID_<KEY>`, which `SEI_` beats).
/// Bad values and deprecated names become warnings; nothing fails.
pub fn resolve_env(cfg: &mut NodeConfig, vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let vars: BTreeMap<String, String> = vars.into_iter().collect();
    let mut warnings = Vec::new();
    for field in FIELDS {
        let name = field.env_var();
        let legacy = format!("SEID_{}", &name[4..]);
        let (var, text) = match (vars.get(&name), vars.get(&legacy)) {
            (Some(v), _) => (&name, v),
            (None, Some(v)) => {
                warnings.push(format!("{legacy} is deprecated; use {name}"));
                (&legacy, v)
            }
            (None, None) => continue,
        };
        match Value::parse(field.kind, text) {
            Ok(value) => cfg.set(field.key, value).expect("parsed for this field"),
            Err(reason) => warnings.push(format!("{var}: {reason}; ignored")),
        }
    }
    warnings
}
