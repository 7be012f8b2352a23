//! `config-apply`, `config-patch`, `config-validate` and `config-reload`.

use sei_config::{ConfigIntent, Diagnostic, File, Host, NodeConfig, read_files, registry, render, resolve};
use sei_tasks::params::{ConfigApplyParams, ConfigPatchParams, ConfigReloadParams};
use serde_json::{Value, json};
use toml_edit::{DocumentMut, Item, Table};

use super::{TaskContext, TaskError, off_runtime, write_file};

fn diagnostics_error(ctx: &TaskContext, diagnostics: &[Diagnostic]) -> TaskError {
    let json = serde_json::to_string(diagnostics).unwrap_or_default();
    ctx.err("validate", format!("config validation failed: {json}"))
}

fn read_current(ctx: &TaskContext) -> Result<NodeConfig, TaskError> {
    read_files(&ctx.config_dir(), &Host::detect()).map_err(|e| ctx.err("read", e.to_string()))
}

/// Writes both files of `cfg` into `config/` (fsync'd, so off the runtime's threads).
async fn write_merged(ctx: &TaskContext, cfg: NodeConfig) -> Result<(), TaskError> {
    let dir = ctx.config_dir();
    let written = off_runtime(move || Ok(sei_config::write_files(&cfg, &dir))).await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ctx.err("write", e.to_string())),
        Err(e) => Err(ctx.err("write", e.to_string())),
    }
}

/// Renders both files from an intent. A full apply writes fresh files (the same intent
/// always gives the same bytes); an incremental one edits the files on disk, keeping keys
/// the model does not know.
pub async fn apply(ctx: TaskContext, params: ConfigApplyParams) -> Result<(), TaskError> {
    let mut intent = ConfigIntent::from(params);
    // seid panics when config.toml and genesis disagree on the chain, so the chain ID is
    // always rendered (the reference never wrote it).
    intent.overrides.entry("chain.chain_id".into()).or_insert_with(|| ctx.settings.chain_id.clone());
    if !intent.incremental {
        keep_discovered_settings(&ctx, &mut intent);
    }
    let current = if intent.incremental { Some(read_current(&ctx)?) } else { None };
    let result = resolve(&intent, current.as_ref(), &Host::detect()).map_err(|e| ctx.err("resolve", e.to_string()))?;
    for d in &result.diagnostics {
        tracing::warn!(field = %d.field, message = %d.message, "config diagnostic");
    }
    let Some(cfg) = result.config else {
        return Err(diagnostics_error(&ctx, &result.diagnostics));
    };
    if intent.incremental {
        return write_merged(&ctx, cfg).await;
    }
    let dir = ctx.config_dir();
    for file in [File::Config, File::App] {
        write_file(&dir.join(file.name()), render(&cfg, file))
            .await
            .map_err(|e| ctx.err("write", format!("{}: {e}", file.name())))?;
    }
    Ok(())
}

/// Settings other tasks wrote into config.toml that a full render would otherwise reset:
/// the peers from `discover-peers`/`set-genesis-peers`, and the trust point from
/// `configure-state-sync` (whose marker stops it from running again). The intent's own
/// overrides win.
fn keep_discovered_settings(ctx: &TaskContext, intent: &mut ConfigIntent) {
    let Ok(text) = std::fs::read_to_string(ctx.config_dir().join("config.toml")) else { return };
    let Ok(doc) = text.parse::<DocumentMut>() else { return };
    let scalar = |table: &str, key: &str| -> Option<String> {
        let v = doc.get(table)?.get(key)?.as_value()?;
        Some(match v {
            toml_edit::Value::String(s) => s.value().clone(),
            other => other.to_string().trim().to_string(),
        })
    };
    let mut keep = Vec::new();
    if let Some(peers) = scalar("p2p", "persistent-peers").filter(|p| !p.is_empty()) {
        keep.push(("network.p2p.persistent_peers", peers));
    }
    if ctx.marker_done(".sei-sidecar-statesync-done") {
        for (key, unified) in [
            ("enable", "state_sync.enable"),
            ("trust-height", "state_sync.trust_height"),
            ("trust-hash", "state_sync.trust_hash"),
            ("rpc-servers", "state_sync.rpc_servers"),
            ("use-local-snapshot", "state_sync.use_local_snapshot"),
            ("trust-period", "state_sync.trust_period"),
            ("backfill-blocks", "state_sync.backfill_blocks"),
        ] {
            if let Some(v) = scalar("statesync", key) {
                keep.push((unified, v));
            }
        }
    }
    for (key, value) in keep {
        intent.overrides.entry(key.into()).or_insert(value);
    }
}

/// Merges a JSON patch into a TOML table: objects merge, `null` deletes, anything else
/// replaces. Comments and the order of untouched keys survive.
pub(super) fn merge(table: &mut Table, patch: &serde_json::Map<String, Value>) -> Result<(), String> {
    for (key, value) in patch {
        match value {
            Value::Null => {
                table.remove(key);
            }
            Value::Object(obj) => {
                if !table.get(key).is_some_and(Item::is_table) {
                    table.insert(key, Item::Table(Table::new()));
                }
                let sub = table.get_mut(key).and_then(Item::as_table_mut).expect("a table was just ensured");
                merge(sub, obj).map_err(|e| format!("{key}.{e}"))?;
            }
            other => {
                let v = to_toml(other).map_err(|e| format!("{key}: {e}"))?;
                match table.get_mut(key).and_then(Item::as_value_mut) {
                    Some(existing) => {
                        let decor = existing.decor().clone();
                        *existing = v;
                        *existing.decor_mut() = decor;
                    }
                    None => {
                        table.insert(key, Item::Value(v));
                    }
                }
            }
        }
    }
    Ok(())
}

fn to_toml(v: &Value) -> Result<toml_edit::Value, String> {
    Ok(match v {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => f.into(),
            _ => return Err(format!("number {n} does not fit TOML")),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => toml_edit::Value::Array(items.iter().map(to_toml).collect::<Result<_, _>>()?),
        Value::Object(obj) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in obj {
                t.insert(k, to_toml(v)?);
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => return Err("null is only allowed to delete a key".into()),
    })
}

/// Merge-patches files in `config/` using seid's own key names.
pub async fn patch(ctx: TaskContext, p: ConfigPatchParams) -> Result<(), TaskError> {
    if p.files.is_empty() {
        return Err(ctx.err("validate params", "at least one file is required"));
    }
    // Check everything before touching anything.
    for name in p.files.keys() {
        if name.is_empty() || name.contains('/') || name.contains('\\') || name == "." || name == ".." {
            return Err(ctx.err("validate params", format!("file name {name:?} must be a plain name inside config/")));
        }
    }
    for (name, patch) in p.files {
        super::patch_file(&ctx, ctx.config_dir().join(name), patch).await?;
    }
    Ok(())
}

/// Reads both files and fails with every finding when any is an error.
pub async fn validate(ctx: TaskContext) -> Result<(), TaskError> {
    let cfg = read_current(&ctx)?;
    let diagnostics = sei_config::validate(&cfg, sei_config::CURRENT_VERSION);
    if sei_config::is_valid(&diagnostics) {
        tracing::info!(mode = cfg.mode_str(), findings = diagnostics.len(), "config valid");
        return Ok(());
    }
    let report = json!({"valid": false, "version": cfg.version(), "mode": cfg.mode_str(), "diagnostics": diagnostics});
    Err(ctx.err("validate", format!("config validation failed: {report}")))
}

/// Changes settings seid applies without a restart.
pub async fn reload(ctx: TaskContext, p: ConfigReloadParams) -> Result<(), TaskError> {
    if p.fields.is_empty() {
        return Err(ctx.err("validate params", "at least one field is required"));
    }
    let mut cold = Vec::new();
    for key in p.fields.keys() {
        match registry::lookup(key) {
            None => return Err(ctx.err("validate params", format!("unknown field {key:?}"))),
            Some(f) if !f.hot_reload => cold.push(key.as_str()),
            Some(_) => {}
        }
    }
    if !cold.is_empty() {
        return Err(ctx.err("validate params", format!("these fields require a restart: {}", cold.join(", "))));
    }
    let mut cfg = read_current(&ctx)?;
    sei_config::apply_overrides(&mut cfg, &p.fields).map_err(|e| ctx.err("override", e.to_string()))?;
    let diagnostics = sei_config::validate(&cfg, sei_config::CURRENT_VERSION);
    if !sei_config::is_valid(&diagnostics) {
        return Err(diagnostics_error(&ctx, &diagnostics));
    }
    write_merged(&ctx, cfg).await?;
    // The reference never told seid (a TODO); the files alone change nothing until seid
    // re-reads them.
    if let Some(signal) = ctx.settings.reload_signal {
        match crate::seid::notify(signal, ctx.settings.seid_pid_file.as_deref())
            .map_err(|e| ctx.err("notify seid", e))?
        {
            Some(pid) => tracing::info!(pid, %signal, "asked seid to re-read its config"),
            None => tracing::info!("seid is not running; it reads the new config when it starts"),
        }
    }
    Ok(())
}
