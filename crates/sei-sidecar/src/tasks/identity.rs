//! `generate-identity`: the node's keys, as `seid init` creates them.

use std::path::Path;

use sei_tasks::params::GenerateIdentityParams;
use serde_json::{Value, json};

use super::{TaskContext, TaskError, write_file};
use crate::keys;

const MARKER: &str = ".sei-sidecar-identity-done";

/// Loads the key in `path`, or creates and writes a fresh one.
async fn load_or_generate(
    ctx: &TaskContext,
    path: &Path,
    render: fn(&ed25519_dalek::SigningKey) -> Value,
) -> Result<(), TaskError> {
    match std::fs::read(path) {
        // A key that exists is never replaced, even when it cannot be read: that would
        // silently change the node's identity.
        Ok(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| ctx.err("load key", format!("{} is not UTF-8", path.display())))?;
            keys::parse_key_file(&text).map_err(|e| ctx.err("load key", format!("{}: {e}", path.display())))?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = keys::generate().map_err(|e| ctx.err("generate key", e))?;
            let text = serde_json::to_string_pretty(&render(&key)).expect("JSON");
            super::write_secret_file(path, text).await.map_err(|e| ctx.err("write", format!("{}: {e}", path.display())))
        }
        Err(e) => Err(ctx.err("load key", format!("{}: {e}", path.display()))),
    }
}

pub async fn generate(ctx: TaskContext, p: GenerateIdentityParams) -> Result<(), TaskError> {
    if ctx.marker_done(MARKER) {
        return Ok(());
    }
    if p.chain_id.is_empty() || p.moniker.is_empty() {
        return Err(ctx.err("validate params", "chainId and moniker are required"));
    }
    let config = ctx.config_dir();
    let data = ctx.home().join("data");
    for dir in [&config, &data] {
        std::fs::create_dir_all(dir).map_err(|e| ctx.err("mkdir", e.to_string()))?;
    }
    load_or_generate(&ctx, &config.join("node_key.json"), keys::node_key_json).await?;
    load_or_generate(&ctx, &config.join("priv_validator_key.json"), keys::priv_validator_key_json).await?;
    let state = data.join("priv_validator_state.json");
    if !state.exists() {
        write_file(&state, keys::priv_validator_state_json().to_string())
            .await
            .map_err(|e| ctx.err("write", e.to_string()))?;
    }
    // seid's default node configuration, named and bound to the chain.
    let mut cfg = sei_config::defaults(sei_config::Mode::Full, &sei_config::Host::detect());
    for (key, value) in [("chain.moniker", &p.moniker), ("chain.chain_id", &p.chain_id)] {
        sei_config::apply_one(&mut cfg, key, value).map_err(|e| ctx.err("config", e.to_string()))?;
    }
    let rendered = sei_config::render(&cfg, sei_config::File::Config);
    write_file(&config.join("config.toml"), rendered).await.map_err(|e| ctx.err("write", e.to_string()))?;
    let genesis = config.join("genesis.json");
    if !genesis.exists() {
        let doc = json!({"chain_id": p.chain_id, "app_state": {}});
        write_file(&genesis, doc.to_string()).await.map_err(|e| ctx.err("write", e.to_string()))?;
    }
    ctx.write_marker(MARKER).await
}
