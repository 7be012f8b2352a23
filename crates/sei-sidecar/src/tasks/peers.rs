//! `discover-peers` and `configure-state-sync`: finding peers and a state-sync trust point
//! through peers' CometBFT RPC.

use std::time::Duration;

use futures::StreamExt;
use sei_tasks::params::{ConfigureStateSyncParams, DiscoverPeersParams, PeerSource as Source};
use serde_json::{Map, Value, json};

use super::{TaskContext, TaskError};

/// CometBFT `/status` or `/block` of a peer: seid answers flat JSON, upstream CometBFT
/// wraps it in a JSON-RPC envelope.
async fn rpc(ctx: &TaskContext, url: &str) -> Result<Value, String> {
    let resp = ctx.http.get(url).timeout(Duration::from_secs(10)).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {}", text.chars().take(512).collect::<String>()));
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))?;
    if body["jsonrpc"] == "2.0" {
        if !body["error"].is_null() {
            return Err(format!("{url}: {}", body["error"]));
        }
        return Ok(body["result"].clone());
    }
    Ok(body)
}

/// The RPC base URL of a peer host (`host` or `host:port`; the port defaults to the
/// configured peer RPC port, 26657).
fn rpc_base(ctx: &TaskContext, host: &str) -> String {
    if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !host.starts_with('[') {
        format!("http://{host}")
    } else {
        format!("http://{host}:{}", ctx.settings.peer_rpc_port)
    }
}

/// Resolves peers from every source (any source error aborts) and writes them, de-duplicated
/// in first-seen order, to `[p2p] persistent-peers`.
pub async fn discover(ctx: TaskContext, p: DiscoverPeersParams) -> Result<(), TaskError> {
    if p.sources.is_empty() {
        return Err(ctx.err("validate params", "at least one source is required"));
    }
    let sources = p.sources;
    for (i, source) in sources.iter().enumerate() {
        let problem = match source {
            Source::Ec2Tags { region, tags } if region.is_empty() || tags.is_empty() => {
                Some("region and tags are required".to_string())
            }
            Source::Ec2Tags { region, .. } => crate::ec2::check_region(region).err(),
            Source::Static { addresses } if addresses.is_empty() => Some("addresses must not be empty".to_string()),
            Source::DnsEndpoints { endpoints } if endpoints.is_empty() => {
                Some("endpoints must not be empty".to_string())
            }
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(ctx.err("validate params", format!("sources[{i}]: {problem}")));
        }
    }
    let mut peers: Vec<String> = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let found = match source {
            Source::Static { addresses } => addresses.clone(),
            Source::DnsEndpoints { endpoints } => {
                let mut found = Vec::new();
                for endpoint in endpoints {
                    let url = format!("{}/status", rpc_base(&ctx, endpoint));
                    match rpc(&ctx, &url).await {
                        Ok(status) => match status["node_info"]["id"].as_str() {
                            Some(id) if !id.is_empty() => {
                                let host = endpoint.rsplit_once(':').map(|(h, _)| h).unwrap_or(endpoint);
                                found.push(format!("{id}@{host}:{}", sei_config::PORT_P2P));
                            }
                            _ => tracing::warn!(%url, "no node_info.id; skipped"),
                        },
                        Err(e) => tracing::warn!(%url, error = %e, "peer unreachable; skipped"),
                    }
                }
                if found.is_empty() {
                    return Err(ctx.err("discover", format!("sources[{i}]: none of {} answered", endpoints.join(", "))));
                }
                found
            }
            Source::Ec2Tags { region, tags } => {
                let ips = crate::ec2::running_instances(&ctx.http, region, tags)
                    .await
                    .map_err(|e| ctx.err("discover", format!("sources[{i}]: {e}")))?;
                // Asked 16 at a time: an unreachable instance costs a whole timeout.
                let answers: Vec<Option<String>> = futures::stream::iter(ips.clone())
                    .map(|ip| {
                        let ctx = ctx.clone();
                        async move {
                            let url = format!("{}/status", rpc_base(&ctx, &ip));
                            match rpc(&ctx, &url).await {
                                Ok(status) => match status["node_info"]["id"].as_str() {
                                    Some(id) if !id.is_empty() => Some(format!("{id}@{ip}:{}", sei_config::PORT_P2P)),
                                    _ => {
                                        tracing::warn!(%url, "no node_info.id; skipped");
                                        None
                                    }
                                },
                                Err(e) => {
                                    tracing::warn!(%url, error = %e, "instance unreachable; skipped");
                                    None
                                }
                            }
                        }
                    })
                    .buffered(16)
                    .collect()
                    .await;
                let found: Vec<String> = answers.into_iter().flatten().collect();
                if found.is_empty() {
                    let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    return Err(ctx.err(
                        "discover",
                        format!(
                            "sources[{i}]: no reachable running instance tagged {} in {region} ({} found)",
                            tags.join(","),
                            ips.len()
                        ),
                    ));
                }
                found
            }
        };
        for peer in found {
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
    }
    super::set_persistent_peers(&ctx, &peers.join(",")).await
}

const STATESYNC_MARKER: &str = ".sei-sidecar-statesync-done";

/// Blocks behind the tip the trust point is taken at.
const TRUST_LAG: i64 = 2000;

/// Fills `[statesync]` with a trust point from the first peer (or the newest local
/// snapshot) and two RPC servers.
pub async fn configure_state_sync(ctx: TaskContext, p: ConfigureStateSyncParams) -> Result<(), TaskError> {
    if ctx.marker_done(STATESYNC_MARKER) {
        return Ok(());
    }
    let use_local_snapshot = p.use_local_snapshot.unwrap_or(false);
    let trust_period = p.trust_period.unwrap_or_default();
    let backfill_blocks = p.backfill_blocks.unwrap_or(0);
    if !trust_period.is_empty() {
        sei_config::duration::GoDuration::parse(&trust_period).map_err(|e| ctx.err("validate params", e))?;
    }
    let config =
        std::fs::read_to_string(ctx.config_dir().join("config.toml")).map_err(|e| ctx.err("read", e.to_string()))?;
    let doc: toml_edit::DocumentMut = config.parse().map_err(|e| ctx.err("read", format!("config.toml: {e}")))?;
    let peers = doc.get("p2p").and_then(|t| t.get("persistent-peers")).and_then(|v| v.as_str()).unwrap_or("");
    let hosts: Vec<String> = peers
        .split(',')
        .map(str::trim)
        .filter_map(|p| p.split_once('@').map(|(_, addr)| addr))
        .filter_map(|addr| addr.rsplit_once(':').map(|(host, _)| host.to_string()))
        .take(2)
        .collect();
    let Some(first) = hosts.first() else {
        return Err(ctx.err("peers", "no peers in config.toml [p2p] persistent-peers; run discover-peers first"));
    };
    let base = rpc_base(&ctx, first);
    let trust_height = if use_local_snapshot {
        let root = ctx.home().join("data/snapshots");
        std::fs::read_dir(&root)
            .map_err(|e| ctx.err("local snapshot", format!("{}: {e}", root.display())))?
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i64>().ok()))
            .max()
            .ok_or_else(|| ctx.err("local snapshot", format!("no snapshot directory under {}", root.display())))?
    } else {
        let status = rpc(&ctx, &format!("{base}/status")).await.map_err(|e| ctx.err("trust height", e))?;
        let latest: i64 = status["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| ctx.err("trust height", "no sync_info.latest_block_height in /status"))?;
        (latest - TRUST_LAG).max(1)
    };
    let block =
        rpc(&ctx, &format!("{base}/block?height={trust_height}")).await.map_err(|e| ctx.err("trust hash", e))?;
    let hash = block["block_id"]["hash"].as_str().unwrap_or_default().to_string();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ctx.err("trust hash", format!("block {trust_height} has no 64-hex-digit hash: {hash:?}")));
    }
    let rpc_port = ctx.settings.peer_rpc_port;
    let mut servers: Vec<String> = hosts.iter().map(|h| format!("{h}:{rpc_port}")).collect();
    if servers.len() == 1 {
        servers.push(servers[0].clone());
    }
    let mut section = Map::new();
    section.insert("enable".into(), json!(true));
    section.insert("trust-height".into(), json!(trust_height));
    section.insert("trust-hash".into(), json!(hash));
    section.insert("rpc-servers".into(), json!(servers.join(",")));
    section.insert("use-local-snapshot".into(), json!(use_local_snapshot));
    if !trust_period.is_empty() {
        section.insert("trust-period".into(), json!(trust_period));
    }
    if backfill_blocks > 0 {
        section.insert("backfill-blocks".into(), json!(backfill_blocks));
    }
    let mut patch = Map::new();
    patch.insert("statesync".into(), Value::Object(section));
    super::patch_config_toml(&ctx, patch).await?;
    ctx.write_marker(STATESYNC_MARKER).await
}
