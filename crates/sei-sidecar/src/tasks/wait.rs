//! `await-condition`: wait for the local node to reach a height, then optionally stop it.

use std::time::Duration;

use sei_tasks::params::{AwaitAction, AwaitCondition, AwaitConditionParams};
use serde_json::Value;

use super::{TaskContext, TaskError};

/// seid's sync state from CometBFT `/status` (plain or JSON-RPC wrapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncInfo {
    pub latest_height: i64,
    pub catching_up: bool,
}

pub async fn sync_info(http: &reqwest::Client, node_rpc: &str, timeout: Duration) -> Result<SyncInfo, String> {
    let url = format!("{}/status", node_rpc.trim_end_matches('/'));
    let resp = http.get(&url).timeout(timeout).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    let body = if body["jsonrpc"] == "2.0" { body["result"].clone() } else { body };
    let sync = &body["sync_info"];
    let latest_height = sync["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| format!("{url}: no sync_info.latest_block_height"))?;
    Ok(SyncInfo { latest_height, catching_up: sync["catching_up"].as_bool().unwrap_or(false) })
}

/// The latest block height from CometBFT `/status`.
pub async fn latest_height(ctx: &TaskContext, timeout: Duration) -> Result<i64, String> {
    sync_info(&ctx.http, &ctx.settings.node_rpc, timeout).await.map(|s| s.latest_height)
}

pub async fn await_condition(ctx: TaskContext, p: AwaitConditionParams) -> Result<(), TaskError> {
    // The only condition (height) and action (SIGTERM_SEID) are checked by their types.
    let AwaitCondition::Height = p.condition;
    if p.target_height <= 0 {
        return Err(ctx.err("validate params", "targetHeight must be > 0"));
    }
    let mut healthy = true;
    loop {
        match latest_height(&ctx, Duration::from_millis(500)).await {
            Ok(h) if h >= p.target_height => break,
            Ok(_) => healthy = true,
            Err(e) if healthy => {
                tracing::warn!(error = %e, "node RPC unavailable; still waiting");
                healthy = false;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(ctx.err("wait", "cancelled")),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    if p.action == Some(AwaitAction::SigtermSeid) {
        crate::seid::terminate(&ctx).await?;
    }
    Ok(())
}
