//! `seictl workload probe`: a small workload for test chains that follows the runtime
//! contract of bench Jobs. It asks the chain's Tendermint RPC for its height for the
//! run's duration and judges: exit 0 if blocks were produced, 1 if the chain answered but
//! did not advance (the system under test misbehaved), 2 if it never answered (could not
//! test). It writes `report.log` and `termination-message.json` to `RESULT_DIR`, uploads
//! them under `RESULTS_S3_URI` (the contract says workloads upload their own results) and
//! prints one summary line on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

#[derive(clap::Subcommand, Debug)]
pub enum WorkloadCommand {
    /// Check that the chain produces blocks for the run's duration (exit 0 yes, 1 no, 2 unreachable).
    Probe(ProbeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// Tendermint RPC base URL.
    #[arg(long, env = "SEI_TENDERMINT_RPC", value_name = "URL")]
    pub rpc: String,
    /// How long to watch, in seconds.
    #[arg(long, env = "DURATION_SECONDS", default_value_t = 60)]
    pub duration: u64,
    /// Seconds between two height queries.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
    /// Where the report goes (created if missing).
    #[arg(long, env = "RESULT_DIR", value_name = "DIR")]
    pub result_dir: Option<PathBuf>,
    /// Where to upload the result files: s3://bucket/prefix/ (credentials and endpoint from
    /// the standard AWS environment; region AWS_REGION, else us-east-1).
    #[arg(long, env = "RESULTS_S3_URI", value_name = "URI")]
    pub results_uri: Option<String>,
}

/// `s3://bucket/prefix/` as (bucket, prefix without slashes at the ends).
fn split_uri(uri: &str) -> anyhow::Result<(String, String)> {
    let rest =
        uri.strip_prefix("s3://").with_context(|| format!("--results-uri {uri:?}: expected s3://bucket/prefix/"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    anyhow::ensure!(!bucket.is_empty(), "--results-uri {uri:?}: no bucket");
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Uploads every file of `dir` under the URI; returns the object URLs.
async fn upload(dir: &std::path::Path, uri: &str) -> anyhow::Result<Vec<String>> {
    use object_store::ObjectStore as _;
    let (bucket, prefix) = split_uri(uri)?;
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let store = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(&bucket)
        .with_region(region)
        .build()
        .with_context(|| format!("configuring access to s3://{bucket}"))?;
    let mut uploaded = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).filter(|e| e.path().is_file()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        let key = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let body = std::fs::read(entry.path())?;
        store
            .put(&object_store::path::Path::from(key.as_str()), body.into())
            .await
            .with_context(|| format!("uploading s3://{bucket}/{key}"))?;
        uploaded.push(format!("s3://{bucket}/{key}"));
    }
    Ok(uploaded)
}

/// The latest height in a `/status` answer, flat (seid) or in a JSON-RPC envelope.
fn height(body: &Value) -> Option<i64> {
    let sync = body.get("result").unwrap_or(body).get("sync_info")?;
    sync.get("latest_block_height")?.as_str()?.parse().ok()
}

/// The verdict of a run from its height samples (`None`: no answer).
pub fn verdict(samples: &[Option<i64>]) -> (u8, String) {
    let heights: Vec<i64> = samples.iter().flatten().copied().collect();
    match (heights.first(), heights.last()) {
        (None, _) | (_, None) => (2, format!("the RPC never answered in {} queries", samples.len())),
        (Some(first), Some(last)) if last > first => (0, format!("height {first} -> {last}")),
        (Some(first), Some(_)) => (1, format!("the chain did not advance past height {first}")),
    }
}

pub fn run(cmd: WorkloadCommand) -> anyhow::Result<ExitCode> {
    let WorkloadCommand::Probe(a) = cmd;
    // A results URI that cannot work is said before the run, not after it.
    if let Some(uri) = &a.results_uri {
        split_uri(uri)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().context("HTTP client")?;
    let url = format!("{}/status", a.rpc.trim_end_matches('/'));
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut log = String::new();
    rt.block_on(async {
        loop {
            let answer = match http.get(&url).send().await {
                Ok(r) => r.json::<Value>().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let sample = answer.as_ref().ok().and_then(height);
            let elapsed = start.elapsed().as_secs_f64();
            match (&answer, sample) {
                (_, Some(h)) => log += &format!("{elapsed:.1}s height {h}\n"),
                (Err(e), None) => log += &format!("{elapsed:.1}s unreachable: {e}\n"),
                (Ok(_), None) => log += &format!("{elapsed:.1}s answer without a height\n"),
            }
            samples.push(sample);
            if start.elapsed() >= Duration::from_secs(a.duration) {
                break;
            }
            tokio::time::sleep(Duration::from_secs(a.interval.max(1))).await;
        }
    });
    let (code, why) = verdict(&samples);
    log += &format!("verdict: exit {code}: {why}\n");
    let mut report_path = String::new();
    if let Some(dir) = &a.result_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("--result-dir {}", dir.display()))?;
        let report = dir.join("report.log");
        std::fs::write(&report, &log).with_context(|| format!("writing {}", report.display()))?;
        report_path = report.display().to_string();
    }
    let (passed, failed) = if code == 0 { (1, 0) } else { (0, 1) };
    let summary =
        json!({"passed": passed, "failed": failed, "exitCode": code, "reportPath": report_path, "message": why});
    if let Some(dir) = &a.result_dir {
        let path = dir.join("termination-message.json");
        std::fs::write(&path, summary.to_string()).with_context(|| format!("writing {}", path.display()))?;
    }
    if let (Some(dir), Some(uri)) = (&a.result_dir, &a.results_uri) {
        // The verdict stands either way; a missing report is said, not hidden.
        match rt.block_on(upload(dir, uri)) {
            Ok(urls) => eprintln!("uploaded {}", urls.join(", ")),
            Err(e) => eprintln!("seictl workload probe: the results were not uploaded: {e:#}"),
        }
    }
    println!("{summary}");
    Ok(ExitCode::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_are_read_flat_or_wrapped_and_judged() {
        assert_eq!(height(&json!({"sync_info": {"latest_block_height": "7"}})), Some(7));
        assert_eq!(height(&json!({"result": {"sync_info": {"latest_block_height": "8"}}})), Some(8));
        assert_eq!(height(&json!({"error": "x"})), None);
        assert_eq!(verdict(&[Some(1), None, Some(5)]).0, 0);
        assert_eq!(verdict(&[Some(5), Some(5)]).0, 1);
        assert_eq!(verdict(&[None, None]).0, 2);
        assert_eq!(verdict(&[]).0, 2);
        assert_eq!(split_uri("s3://b/ns/probe/run/").unwrap(), ("b".into(), "ns/probe/run".into()));
        assert_eq!(split_uri("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(split_uri("https://b/x").is_err() && split_uri("s3:///x").is_err());
    }
}
