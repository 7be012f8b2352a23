//! `seictl report list|divergence`: read what the sidecar's `result-export` compare mode
//! uploaded: pages `<prefix><start>-<end>.compare.ndjson.gz` and reports
//! `<prefix>divergence-<height>.report.json.gz`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use futures::TryStreamExt;
use object_store::ObjectStore;
use serde_json::{Value, json};

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// List the comparison pages and divergence reports under the prefix, by height.
    #[command(after_help = "Example:\n  seictl report list --env staging -o table")]
    List {
        #[command(flatten)]
        at: Location,
        /// json (default) or table (with a summary line on stderr).
        #[arg(short = 'o', long, default_value = "json", value_parser = ["json", "table"])]
        output: String,
    },
    /// Print a divergence report as Markdown (or the raw JSON).
    #[command(after_help = "Example:\n  seictl report divergence --env staging --height 1400")]
    Divergence {
        #[command(flatten)]
        at: Location,
        /// The report's key.
        #[arg(long, conflicts_with = "height", required_unless_present = "height")]
        key: Option<String>,
        /// The diverging height (the key is <prefix>divergence-<height>.report.json.gz).
        #[arg(long)]
        height: Option<i64>,
        /// The report as stored (JSON), not Markdown.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct Location {
    /// Shorthand for the bucket <env>-sei-shadow-results.
    #[arg(long, conflicts_with = "bucket", required_unless_present = "bucket")]
    pub env: Option<String>,
    /// The bucket.
    #[arg(long, env = "SEI_RESULT_EXPORT_BUCKET")]
    pub bucket: Option<String>,
    /// The key prefix the export wrote under.
    #[arg(long, env = "SEI_RESULT_EXPORT_PREFIX", default_value = "shadow-results/")]
    pub prefix: String,
    /// The bucket's region.
    #[arg(long, env = "SEI_RESULT_EXPORT_REGION", default_value = "eu-central-1")]
    pub region: String,
}

impl Location {
    fn bucket(&self) -> String {
        self.bucket.clone().unwrap_or_else(|| format!("{}-sei-shadow-results", self.env.clone().unwrap_or_default()))
    }

    fn store(&self) -> anyhow::Result<impl ObjectStore> {
        object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(self.bucket())
            .with_region(&self.region)
            .build()
            .with_context(|| format!("configuring access to s3://{}", self.bucket()))
    }
}

/// `(start, end)` of a page key's file name, or the height of a report's.
fn page(name: &str) -> Option<(i64, i64)> {
    let (a, b) = name.strip_suffix(".compare.ndjson.gz")?.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn report_height(name: &str) -> Option<i64> {
    name.strip_prefix("divergence-")?.strip_suffix(".report.json.gz")?.parse().ok()
}

/// The listing of `keys` (full keys; only those directly under `prefix` count).
pub fn listing(prefix: &str, keys: &[String]) -> Value {
    let mut pages = Vec::new();
    let mut reports = Vec::new();
    for key in keys {
        let Some(name) = key.strip_prefix(prefix).filter(|n| !n.contains('/')) else { continue };
        if let Some((start, end)) = page(name) {
            pages.push(json!({"key": key, "startHeight": start, "endHeight": end, "blocks": end - start + 1}));
        } else if let Some(h) = report_height(name) {
            reports.push(json!({"key": key, "height": h}));
        }
    }
    pages.sort_by_key(|p| p["startHeight"].as_i64());
    reports.sort_by_key(|r| r["height"].as_i64());
    let total: i64 = pages.iter().filter_map(|p| p["blocks"].as_i64()).sum();
    json!({"pages": pages, "divergenceReports": reports, "totalBlocks": total})
}

/// A report as Markdown: where it diverged, the header hashes, the differing transactions.
pub fn markdown(report: &Value) -> String {
    let c = &report["comparison"];
    let l0 = &c["layer0"];
    let mut md = format!("# Divergence at height {}\n\n", report["height"]);
    md += &format!("Divergence layer: {}\n\n", c["divergenceLayer"]);
    md += "| Check | Match | Shadow | Canonical |\n|---|---|---|---|\n";
    for (label, flag, shadow, canonical) in [
        ("App hash", "appHashMatch", "shadowAppHash", "canonicalAppHash"),
        ("Last results hash", "lastResultsHashMatch", "shadowLastResultsHash", "canonicalLastResultsHash"),
    ] {
        let s = |k: &str| l0[k].as_str().unwrap_or("").to_string();
        md += &format!("| {label} | {} | {} | {} |\n", l0[flag], s(shadow), s(canonical));
    }
    let divergences = c["layer1"]["divergences"].as_array().cloned().unwrap_or_default();
    if !divergences.is_empty() {
        md += "\n## Transactions\n\n| Tx | Field | Shadow | Canonical |\n|---|---|---|---|\n";
        for d in &divergences {
            for f in d["fields"].as_array().into_iter().flatten() {
                let s = |k: &str| f[k].as_str().map(String::from).unwrap_or_else(|| f[k].to_string());
                md += &format!("| {} | {} | {} | {} |\n", d["txIndex"], s("field"), s("shadow"), s("canonical"));
            }
        }
    }
    md
}

pub fn run(cmd: ReportCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async {
        match cmd {
            ReportCommand::List { at, output } => {
                let store = at.store()?;
                let prefix = object_store::path::Path::from(at.prefix.trim_end_matches('/'));
                let keys: Vec<String> = store
                    .list(Some(&prefix))
                    .map_ok(|m| m.location.to_string())
                    .try_collect()
                    .await
                    .with_context(|| format!("listing s3://{}/{}", at.bucket(), at.prefix))?;
                let prefix = if at.prefix.is_empty() || at.prefix.ends_with('/') {
                    at.prefix.clone()
                } else {
                    format!("{}/", at.prefix)
                };
                let l = listing(&prefix, &keys);
                if output == "table" {
                    println!("{:<50} {:>12} {:>12} {:>8}", "KEY", "START", "END", "BLOCKS");
                    for p in l["pages"].as_array().into_iter().flatten() {
                        println!(
                            "{:<50} {:>12} {:>12} {:>8}",
                            p["key"].as_str().unwrap_or(""),
                            p["startHeight"],
                            p["endHeight"],
                            p["blocks"]
                        );
                    }
                    for r in l["divergenceReports"].as_array().into_iter().flatten() {
                        println!("{:<50} {:>12}", r["key"].as_str().unwrap_or(""), r["height"]);
                    }
                    eprintln!(
                        "{} pages, {} blocks compared, {} divergence reports",
                        l["pages"].as_array().map_or(0, Vec::len),
                        l["totalBlocks"],
                        l["divergenceReports"].as_array().map_or(0, Vec::len)
                    );
                } else {
                    println!("{}", serde_json::to_string_pretty(&l)?);
                }
                Ok(ExitCode::SUCCESS)
            }
            ReportCommand::Divergence { at, key, height, json } => {
                let key = match (key, height) {
                    (Some(k), _) => k,
                    (None, Some(h)) => format!("{}divergence-{h}.report.json.gz", at.prefix),
                    (None, None) => bail!("--key or --height is required"),
                };
                let store = at.store()?;
                let bytes = store
                    .get(&object_store::path::Path::from(key.as_str()))
                    .await
                    .with_context(|| format!("s3://{}/{key}", at.bucket()))?
                    .bytes()
                    .await
                    .with_context(|| format!("reading s3://{}/{key}", at.bucket()))?;
                let text = if key.ends_with(".gz") {
                    let mut s = String::new();
                    flate2::read::GzDecoder::new(&bytes[..])
                        .read_to_string(&mut s)
                        .with_context(|| format!("{key}: not gzip"))?;
                    s
                } else {
                    String::from_utf8_lossy(&bytes).into_owned()
                };
                let report: Value = serde_json::from_str(&text).with_context(|| format!("{key}: not a JSON report"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{}", markdown(&report));
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_by_height_and_counted() {
        let keys: Vec<String> = [
            "p/101-150.compare.ndjson.gz",
            "p/1-100.compare.ndjson.gz",
            "p/divergence-150.report.json.gz",
            "p/x/1-2.compare.ndjson.gz",
            "p/other.txt",
        ]
        .map(String::from)
        .to_vec();
        let l = listing("p/", &keys);
        assert_eq!(l["pages"][0]["startHeight"], 1);
        assert_eq!(l["pages"][1]["blocks"], 50);
        assert_eq!(l["totalBlocks"], 150);
        assert_eq!(l["divergenceReports"], json!([{"key": "p/divergence-150.report.json.gz", "height": 150}]));
    }
}
