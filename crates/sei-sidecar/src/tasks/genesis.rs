//! `configure-genesis`: place the chain's genesis.json.

use serde_json::Value;

use super::{TaskContext, TaskError, write_atomic};

const MARKER: &str = ".sei-sidecar-genesis-done";

pub async fn configure(ctx: TaskContext, _: Value) -> Result<(), TaskError> {
    if ctx.marker_done(MARKER) {
        return Ok(());
    }
    let chain = ctx.settings.chain_id.clone();
    let bytes = match sei_config::chains::genesis(&chain) {
        Ok(bytes) => bytes.to_vec(),
        Err(sei_config::ConfigError::UnknownChain(_)) => {
            return Err(ctx
                .err(
                    "genesis",
                    format!("{chain} has no built-in genesis and S3 download is not available in this build"),
                )
                .hint(format!("run a genesis ceremony or use one of {}", sei_config::chains::known_ids().join(", "))));
        }
        Err(e) => return Err(ctx.err("genesis", e.to_string())),
    };
    write_atomic(&ctx.config_dir().join("genesis.json"), &bytes).map_err(|e| ctx.err("write", e.to_string()))?;
    ctx.write_marker(MARKER)
}
