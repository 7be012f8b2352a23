//! `upload-file` and `export-state`.

use sei_tasks::params::{ExportStateParams, UploadFileParams};

use super::{TaskContext, TaskError};
use crate::s3::Bucket;

const EXPORT_MARKER: &str = ".sei-sidecar-export-done";

/// Streams a file under the seid home to S3 (the sidecar's S3 identity ships an artifact
/// for seid). Unlike the reference, files outside the home are refused.
pub async fn upload_file(ctx: TaskContext, p: UploadFileParams) -> Result<(), TaskError> {
    if p.file.is_empty() || p.bucket.is_empty() || p.key.is_empty() || p.region.is_empty() {
        return Err(ctx.err("validate params", "file, bucket, key and region are required"));
    }
    let home = ctx.home().canonicalize().map_err(|e| ctx.err("validate params", e.to_string()))?;
    let file = std::path::Path::new(&p.file)
        .canonicalize()
        .map_err(|e| ctx.err("validate params", format!("{}: {e}", p.file)))?;
    if !file.starts_with(&home) || !file.is_file() {
        return Err(ctx.err("validate params", format!("{} is not a file under {}", p.file, home.display())));
    }
    // Opened now, and not through a symlink, so the file checked is the file uploaded.
    use std::os::unix::fs::OpenOptionsExt;
    let mut handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&file)
        .map_err(|e| ctx.err("open", format!("{}: {e}", file.display())))?;
    let bucket = Bucket::open(&ctx, &p.bucket, &p.region, "the task's bucket and region")?;
    bucket
        .upload_stream(&ctx, &p.key, move |out| {
            std::io::copy(&mut handle, out)?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Runs `seid export` and uploads the state (for forking a chain).
pub async fn export_state(ctx: TaskContext, p: ExportStateParams) -> Result<(), TaskError> {
    if ctx.marker_done(EXPORT_MARKER) {
        return Ok(());
    }
    let height = p.height.unwrap_or(0);
    if p.chain_id.is_empty() || p.s3_bucket.is_empty() || p.s3_region.is_empty() {
        return Err(ctx.err("validate params", "chainId, s3Bucket and s3Region are required"));
    }
    let key = match p.s3_key.clone().filter(|k| !k.is_empty()) {
        Some(k) => k,
        None => format!("{}/exported-state.json", p.chain_id),
    };
    let out_path = ctx.temp_file("export-", ".json")?;
    let result = async {
        let out = std::fs::File::create(&out_path).map_err(|e| ctx.err("export", e.to_string()))?;
        let mut cmd = tokio::process::Command::new("seid");
        cmd.arg("export").arg("--home").arg(ctx.home()).stdout(out).kill_on_drop(true);
        if height > 0 {
            cmd.arg("--height").arg(height.to_string());
        }
        let status = cmd.status().await.map_err(|e| ctx.err("export", format!("cannot run seid: {e}")))?;
        if !status.success() {
            return Err(ctx.err("export", format!("seid export exited with {status}")));
        }
        let bucket = Bucket::open(&ctx, &p.s3_bucket, &p.s3_region, "the task's s3Bucket and s3Region")?;
        let path = out_path.to_path_buf();
        bucket
            .upload_stream(&ctx, &key, move |w| {
                std::io::copy(&mut std::fs::File::open(&path)?, w)?;
                Ok(())
            })
            .await
    }
    .await;
    drop(out_path);
    result?;
    ctx.write_marker(EXPORT_MARKER).await
}
