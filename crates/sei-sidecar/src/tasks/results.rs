//! `result-export`: block results of this node to S3, either exported page by page, or
//! compared block by block against a canonical node until they diverge (shadow nodes).

use std::io::Write;
use std::time::Duration;

use sei_tasks::params::ResultExportParams;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{TaskContext, TaskError, write_file};
use crate::s3::Bucket;

const STATE: &str = ".sei-sidecar-last-export.json";
const SNAPSHOT_HEIGHT: &str = ".sei-sidecar-snapshot-height";
const PAGE: i64 = 1000;
const COMPARE_PAGE: usize = 100;
const POLL: Duration = Duration::from_secs(5);

fn now_secs() -> String {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("0 is valid");
    now.format(&Rfc3339).expect("formats")
}

/// The verbatim body and its (envelope-unwrapped) JSON.
async fn fetch(ctx: &TaskContext, url: &str) -> Result<(Value, Value), String> {
    let resp = ctx.http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {}", text.chars().take(512).collect::<String>()));
    }
    let raw: Value = serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))?;
    let inner = if raw["jsonrpc"] == "2.0" { raw["result"].clone() } else { raw.clone() };
    Ok((raw, inner))
}

async fn tip(ctx: &TaskContext, rpc: &str) -> Result<i64, String> {
    let (_, status) = fetch(ctx, &format!("{rpc}/status")).await?;
    status["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| format!("{rpc}/status: no height"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

fn ndjson(records: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(r.to_string().as_bytes());
        out.push(b'\n');
    }
    gzip(&out)
}

fn last_exported(ctx: &TaskContext) -> i64 {
    let state = std::fs::read(ctx.home().join(STATE)).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    if let Some(h) = state.and_then(|v| v["lastExportedHeight"].as_i64()) {
        return h;
    }
    std::fs::read_to_string(ctx.home().join(SNAPSHOT_HEIGHT)).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

async fn save_last_exported(ctx: &TaskContext, height: i64) -> Result<(), TaskError> {
    write_file(&ctx.home().join(STATE), json!({"lastExportedHeight": height}).to_string())
        .await
        .map_err(|e| ctx.err("state", e.to_string()))
}

pub async fn export(ctx: TaskContext, p: ResultExportParams) -> Result<(), TaskError> {
    if p.bucket.is_empty() || p.region.is_empty() {
        return Err(ctx.err("validate params", "bucket and region are required"));
    }
    let mut prefix = p.prefix.unwrap_or_default();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let rpc_endpoint = p.rpc_endpoint.filter(|r| !r.is_empty()).unwrap_or_else(|| ctx.settings.node_rpc.clone());
    let local = rpc_endpoint.trim_end_matches('/').to_string();
    let bucket = Bucket::open(&ctx, &p.bucket, &p.region, "the task's bucket and region")?;
    let start = last_exported(&ctx).saturating_add(1);
    match p.canonical_rpc.filter(|c| !c.is_empty()) {
        None => export_pages(&ctx, &bucket, &prefix, &local, start).await,
        Some(canonical) => compare(&ctx, &bucket, &prefix, &local, canonical.trim_end_matches('/'), start).await,
    }
}

/// Every complete page of 1,000 blocks up to the local tip. An unreachable node is "no
/// new blocks" (the operator resubmits later).
async fn export_pages(
    ctx: &TaskContext,
    bucket: &Bucket,
    prefix: &str,
    local: &str,
    mut start: i64,
) -> Result<(), TaskError> {
    let Ok(tip) = tip(ctx, local).await else { return Ok(()) };
    while start + PAGE - 1 <= tip {
        let end = start + PAGE - 1;
        let mut lines = Vec::with_capacity(PAGE as usize);
        for h in start..=end {
            let (raw, _) =
                fetch(ctx, &format!("{local}/block_results?height={h}")).await.map_err(|e| ctx.err("fetch", e))?;
            lines.push(json!({"block_results": raw, "exported_at": now_secs(), "height": h}));
        }
        bucket.put(ctx, &format!("{prefix}{start}-{end}.ndjson.gz"), ndjson(&lines)).await?;
        if save_last_exported(ctx, end).await.is_err() {
            return Ok(()); // the next run redoes this page
        }
        start = end + 1;
    }
    Ok(())
}

fn field(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Layer 1: per-transaction differences of two `/block_results`.
fn compare_txs(shadow: &Value, canonical: &Value) -> Value {
    let empty = Vec::new();
    let s = shadow["txs_results"].as_array().unwrap_or(&empty);
    let c = canonical["txs_results"].as_array().unwrap_or(&empty);
    let mut divergences = Vec::new();
    for i in 0..s.len().max(c.len()) {
        let fields: Vec<Value> = match (s.get(i), c.get(i)) {
            (Some(a), Some(b)) => [
                ("code", "code"),
                ("gasUsed", "gas_used"),
                ("gasWanted", "gas_wanted"),
                ("log", "log"),
                ("events", "events"),
            ]
            .iter()
            .filter(|(_, k)| a[*k] != b[*k])
            .map(|(name, k)| json!({"field": name, "shadow": a[*k], "canonical": b[*k]}))
            .collect(),
            (Some(_), None) => vec![json!({"field": "presence", "shadow": "present", "canonical": "missing"})],
            (None, Some(_)) => vec![json!({"field": "presence", "shadow": "missing", "canonical": "present"})],
            (None, None) => unreachable!(),
        };
        if !fields.is_empty() {
            divergences.push(json!({"txIndex": i, "fields": fields}));
        }
    }
    let mut out = Map::new();
    out.insert("totalTxs".into(), json!(s.len().max(c.len())));
    out.insert("txCountMatch".into(), json!(s.len() == c.len()));
    if !divergences.is_empty() {
        out.insert("divergences".into(), Value::Array(divergences));
    }
    Value::Object(out)
}

struct Compared {
    record: Value,
    diverged: bool,
    /// Raw bodies for the divergence report: (shadow block, shadow results, canonical block, canonical results).
    raw: (Value, Value, Value, Value),
}

async fn compare_height(ctx: &TaskContext, local: &str, canonical: &str, h: i64) -> Result<Compared, String> {
    let (shadow_raw, shadow) = fetch(ctx, &format!("{local}/block?height={h}")).await?;
    let (canon_raw, canon) = fetch(ctx, &format!("{canonical}/block?height={h}")).await?;
    let (sa, ca) = (&shadow["block"]["header"]["app_hash"], &canon["block"]["header"]["app_hash"]);
    let (sr, cr) = (&shadow["block"]["header"]["last_results_hash"], &canon["block"]["header"]["last_results_hash"]);
    let mut layer0 = Map::new();
    layer0.insert("appHashMatch".into(), json!(sa == ca));
    layer0.insert("lastResultsHashMatch".into(), json!(sr == cr));
    layer0.insert("gasUsedMatch".into(), json!(true));
    if sa != ca {
        layer0.insert("shadowAppHash".into(), json!(field(sa)));
        layer0.insert("canonicalAppHash".into(), json!(field(ca)));
    }
    if sr != cr {
        layer0.insert("shadowLastResultsHash".into(), json!(field(sr)));
        layer0.insert("canonicalLastResultsHash".into(), json!(field(cr)));
    }
    let matched = sa == ca && sr == cr;
    let mut record = json!({"height": h, "timestamp": now_secs(), "match": matched, "layer0": layer0});
    let mut raw = (shadow_raw, Value::Null, canon_raw, Value::Null);
    if !matched {
        match (
            fetch(ctx, &format!("{local}/block_results?height={h}")).await,
            fetch(ctx, &format!("{canonical}/block_results?height={h}")).await,
        ) {
            (Ok((sraw, s)), Ok((craw, c))) => {
                let layer1 = compare_txs(&s, &c);
                record["divergenceLayer"] = json!(if layer1.get("divergences").is_some() { 1 } else { 0 });
                record["layer1"] = layer1;
                raw.1 = sraw;
                raw.3 = craw;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(height = h, error = %e, "layer-1 comparison unavailable");
                record["divergenceLayer"] = json!(0);
            }
        }
    }
    Ok(Compared { record, diverged: !matched, raw })
}

async fn flush(ctx: &TaskContext, bucket: &Bucket, prefix: &str, buffer: &[Value]) -> Result<i64, TaskError> {
    let first = buffer[0]["height"].as_i64().unwrap_or_default();
    let last = buffer[buffer.len() - 1]["height"].as_i64().unwrap_or_default();
    bucket.put(ctx, &format!("{prefix}{first}-{last}.compare.ndjson.gz"), ndjson(buffer)).await?;
    Ok(last)
}

async fn wait(ctx: &TaskContext, d: Duration) -> Result<(), TaskError> {
    tokio::select! {
        _ = ctx.cancel.cancelled() => Err(ctx.err("compare", "cancelled")),
        _ = tokio::time::sleep(d) => Ok(()),
    }
}

/// Compares every new block with the canonical node; completes at the first divergence,
/// after uploading a report.
async fn compare(
    ctx: &TaskContext,
    bucket: &Bucket,
    prefix: &str,
    local: &str,
    canonical: &str,
    start: i64,
) -> Result<(), TaskError> {
    let mut next = start;
    let mut buffer: Vec<Value> = Vec::new();
    loop {
        let tip = match tip(ctx, local).await {
            Ok(t) if t >= next => t,
            _ => {
                wait(ctx, POLL).await?;
                continue;
            }
        };
        while next <= tip {
            let compared = match compare_height(ctx, local, canonical, next).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(height = next, error = %e, "comparison failed; retrying");
                    wait(ctx, POLL).await?;
                    continue;
                }
            };
            buffer.push(compared.record.clone());
            if compared.diverged {
                let (sb, sr, cb, cr) = compared.raw;
                let report = json!({
                    "height": next,
                    "timestamp": now_secs(),
                    "comparison": compared.record,
                    "shadow": {"block": sb, "blockResults": sr},
                    "canonical": {"block": cb, "blockResults": cr}
                });
                let body = gzip(serde_json::to_string_pretty(&report).expect("JSON").as_bytes());
                if let Err(e) = bucket.put(ctx, &format!("{prefix}divergence-{next}.report.json.gz"), body).await {
                    tracing::warn!(error = %e, "divergence report upload failed");
                }
                flush(ctx, bucket, prefix, &buffer).await?;
                save_last_exported(ctx, next).await?;
                tracing::warn!(height = next, "shadow node diverged from the canonical chain");
                return Ok(());
            }
            if buffer.len() >= COMPARE_PAGE {
                match flush(ctx, bucket, prefix, &buffer).await {
                    Ok(last) => {
                        buffer.clear();
                        save_last_exported(ctx, last).await?;
                    }
                    Err(e) => tracing::warn!(error = %e, "flush failed; retrying after the next block"),
                }
            }
            next += 1;
        }
    }
}
