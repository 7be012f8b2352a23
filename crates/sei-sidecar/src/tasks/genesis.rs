//! Genesis placement and the ceremony's S3 exchanges: `configure-genesis`,
//! `upload-genesis-artifacts` and `set-genesis-peers`.

use sei_tasks::params::UploadGenesisArtifactsParams;
use serde_json::{Value, json};

use super::{TaskContext, TaskError, write_file};
use crate::s3::Bucket;

const GENESIS_MARKER: &str = ".sei-sidecar-genesis-done";
const ARTIFACTS_MARKER: &str = ".sei-sidecar-artifact-upload-done";

/// Places `config/genesis.json`: the built-in file of a well-known chain, else
/// `s3://<genesis bucket>/<chain>/genesis.json`.
pub async fn configure(ctx: TaskContext) -> Result<(), TaskError> {
    if ctx.marker_done(GENESIS_MARKER) {
        return Ok(());
    }
    let chain = ctx.settings.chain_id.clone();
    let bytes = match sei_config::chains::genesis(&chain) {
        Ok(bytes) => bytes.to_vec(),
        Err(sei_config::ConfigError::UnknownChain(_)) => {
            Bucket::genesis(&ctx)?.get(&ctx, &format!("{chain}/genesis.json")).await?.to_vec()
        }
        Err(e) => return Err(ctx.err("genesis", e.to_string())),
    };
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| ctx.err("genesis", format!("not JSON: {e}")))?;
    if doc["chain_id"] != chain.as_str() {
        return Err(ctx.err("genesis", format!("the genesis file is for chain {}, not {chain}", doc["chain_id"])));
    }
    write_file(&ctx.config_dir().join("genesis.json"), bytes).await.map_err(|e| ctx.err("write", e.to_string()))?;
    ctx.write_marker(GENESIS_MARKER).await
}

/// Publishes this validator's gentx and node key for the assembler.
pub async fn upload_artifacts(ctx: TaskContext, p: UploadGenesisArtifactsParams) -> Result<(), TaskError> {
    if ctx.marker_done(ARTIFACTS_MARKER) {
        return Ok(());
    }
    if p.node_name.is_empty() || p.node_name.contains('/') {
        return Err(ctx.err("validate params", "nodeName is required and must not contain '/'"));
    }
    let gentx_dir = ctx.config_dir().join("gentx");
    let mut gentxs: Vec<_> = std::fs::read_dir(&gentx_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    gentxs.sort();
    let gentx = gentxs.first().ok_or_else(|| ctx.err("read gentx", "no gentx found; run generate-gentx first"))?;
    let gentx = std::fs::read(gentx).map_err(|e| ctx.err("read gentx", e.to_string()))?;
    let node_key = std::fs::read_to_string(ctx.config_dir().join("node_key.json"))
        .map_err(|e| ctx.err("read node key", format!("{e}; run generate-identity first")))?;
    let node_key: Value = serde_json::from_str(&node_key).map_err(|e| ctx.err("read node key", e.to_string()))?;
    let bucket = Bucket::genesis(&ctx)?;
    let chain = &ctx.settings.chain_id;
    bucket.put(&ctx, &format!("{chain}/{}/gentx.json", p.node_name), gentx).await?;
    let identity = serde_json::to_vec(&json!({"node_key": node_key})).expect("JSON");
    bucket.put(&ctx, &format!("{chain}/{}/identity.json", p.node_name), identity).await?;
    ctx.write_marker(ARTIFACTS_MARKER).await
}

/// Points this node at the other validators of a ceremony (`<chain>/peers.json`).
pub async fn set_peers(ctx: TaskContext) -> Result<(), TaskError> {
    let chain = ctx.settings.chain_id.clone();
    let body = Bucket::genesis(&ctx)?.get(&ctx, &format!("{chain}/peers.json")).await?;
    let peers: Vec<String> = serde_json::from_slice(&body).map_err(|e| ctx.err("peers", format!("peers.json: {e}")))?;
    let own = super::node_id(&ctx)?;
    let others: Vec<&str> = peers.iter().map(String::as_str).filter(|p| !p.starts_with(&format!("{own}@"))).collect();
    super::set_persistent_peers(&ctx, &others.join(",")).await
}
