//! `snapshot-restore` and `snapshot-upload`: state-sync snapshot archives in the
//! platform snapshot bucket under `<chain>/state-sync/<height>.tar.gz`.

use std::path::{Component, Path, PathBuf};

use sei_tasks::params::SnapshotRestoreParams;
use serde_json::{Value, json};

use super::{TaskContext, TaskError, write_file};
use crate::s3::Bucket;

const RESTORE_MARKER: &str = ".sei-sidecar-snapshot-done";
const HEIGHT_FILE: &str = ".sei-sidecar-snapshot-height";
const UPLOAD_STATE: &str = ".sei-sidecar-last-upload.json";

/// The height in a key ending in `/<digits>.tar.gz`.
fn key_height(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let digits = name.strip_suffix(".tar.gz")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub async fn restore(ctx: TaskContext, p: SnapshotRestoreParams) -> Result<(), TaskError> {
    if ctx.marker_done(RESTORE_MARKER) {
        return Ok(());
    }
    let target_height = p.target_height.unwrap_or(0);
    if target_height < 0 {
        return Err(ctx.err("validate params", "targetHeight must be >= 0"));
    }
    let bucket = Bucket::snapshots(&ctx)?;
    let prefix = format!("{}/state-sync/", ctx.settings.chain_id);
    let keys = bucket.list(&ctx, &prefix).await?;
    let best = keys
        .iter()
        .filter_map(|k| key_height(k).map(|h| (h, k)))
        .filter(|(h, _)| target_height == 0 || *h <= target_height)
        .max_by_key(|(h, _)| *h);
    let Some((height, key)) = best else {
        let what = if target_height > 0 {
            format!("no snapshot at or below height {target_height}")
        } else {
            "no snapshots found".into()
        };
        return Err(ctx.err("select", format!("{what} in s3://{}/{prefix}", bucket.name)));
    };
    let archive = ctx.temp_file("snapshot-", ".tar.gz")?;
    let result = async {
        bucket.download(&ctx, key, &archive).await?;
        if let Err(e) = std::fs::write(ctx.home().join(HEIGHT_FILE), height.to_string()) {
            tracing::warn!(error = %e, "cannot record the snapshot height");
        }
        let dest = ctx.home().join("data/snapshots");
        let (archive, cancel) = (archive.to_path_buf(), ctx.cancel.clone());
        tokio::task::spawn_blocking(move || extract(&archive, &dest, &cancel))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .map_err(|e| ctx.err("extract", e))
    }
    .await;
    drop(archive);
    result?;
    tracing::info!(height, key = %key, "snapshot restored");
    ctx.write_marker(RESTORE_MARKER).await
}

/// `path` with `.` removed, refusing absolute paths and any `..`.
fn contained(path: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return Err(format!("archive entry {} leaves the destination", path.display())),
        }
    }
    Ok(out)
}

/// Unpacks a gzip tar into `dest`: directories, regular files and symlinks that stay
/// inside `dest`; nothing is written outside it.
fn extract(archive: &Path, dest: &Path, cancel: &tokio_util::sync::CancellationToken) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
    for entry in tar.entries().map_err(|e| e.to_string())? {
        if cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        let mut entry = entry.map_err(|e| format!("reading the archive: {e}"))?;
        let rel = contained(&entry.path().map_err(|e| e.to_string())?)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        let mode = entry.header().mode().unwrap_or(0o644);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o700))
                    .map_err(|e| e.to_string())?;
            }
            tar::EntryType::Regular => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                let mut out = std::fs::File::create(&target).map_err(|e| format!("{}: {e}", target.display()))?;
                std::io::copy(&mut entry, &mut out).map_err(|e| format!("{}: {e}", target.display()))?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o600))
                    .map_err(|e| e.to_string())?;
            }
            tar::EntryType::Symlink => {
                let link = entry.link_name().map_err(|e| e.to_string())?.ok_or("symlink without a target")?;
                let resolved = rel.parent().unwrap_or(Path::new("")).join(&link);
                if link.is_absolute() || contained(&resolved).is_err() {
                    return Err(format!("symlink {} points outside the destination", rel.display()));
                }
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                let _ = std::fs::remove_file(&target);
                std::os::unix::fs::symlink(&link, &target).map_err(|e| e.to_string())?;
            }
            _ => {} // hard links, devices, fifos: not part of a snapshot
        }
    }
    Ok(())
}

/// Numeric directory names under `data/snapshots`, ascending.
fn local_heights(root: &Path) -> Vec<u64> {
    let mut heights: Vec<u64> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    heights.sort_unstable();
    heights
}

/// One upload attempt: the second-highest local snapshot (the highest may still be
/// written), unless it was already uploaded. Returns the height uploaded, if any.
async fn upload_once(ctx: &TaskContext) -> Result<Option<u64>, TaskError> {
    let root = ctx.home().join("data/snapshots");
    let heights = local_heights(&root);
    if heights.len() < 2 {
        return Ok(None);
    }
    let candidate = heights[heights.len() - 2];
    let state_path = ctx.home().join(UPLOAD_STATE);
    let last = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["lastUploadedHeight"].as_u64())
        .unwrap_or(0);
    if last >= candidate {
        return Ok(None);
    }
    let bucket = Bucket::snapshots(ctx)?;
    let chain = &ctx.settings.chain_id;
    let key = format!("{chain}/state-sync/{candidate}.tar.gz");
    let src = root.clone();
    bucket
        .upload_stream(ctx, &key, move |out| {
            let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            let mut tar = tar::Builder::new(gz);
            tar.follow_symlinks(false);
            tar.append_dir_all(candidate.to_string(), src.join(candidate.to_string()))?;
            let metadata = src.join("metadata.db");
            if metadata.is_dir() {
                tar.append_dir_all("metadata.db", &metadata)?;
            } else if metadata.is_file() {
                tar.append_path_with_name(&metadata, "metadata.db")?;
            }
            tar.into_inner()?.finish()?;
            Ok(())
        })
        .await?;
    bucket.put(ctx, &format!("{chain}/state-sync/latest.txt"), candidate.to_string().into_bytes()).await?;
    let state = json!({"lastUploadedHeight": candidate}).to_string();
    write_file(&state_path, state).await.map_err(|e| ctx.err("state", e.to_string()))?;
    Ok(Some(candidate))
}

/// Publishes new local snapshots every `SEI_SNAPSHOT_UPLOAD_INTERVAL` until cancelled.
/// A failed attempt is logged and retried at the next interval.
pub async fn upload(ctx: TaskContext) -> Result<(), TaskError> {
    loop {
        match upload_once(&ctx).await {
            Ok(Some(h)) => tracing::info!(height = h, "snapshot uploaded"),
            Ok(None) => tracing::debug!("no new snapshot to upload"),
            Err(e) => tracing::warn!(error = %e, "snapshot upload failed; retrying at the next interval"),
        }
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(ctx.err("upload", "cancelled")),
            _ = tokio::time::sleep(ctx.settings.snapshot_upload_interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_come_only_from_numeric_archive_names() {
        assert_eq!(key_height("pacific-1/state-sync/1200000.tar.gz"), Some(1_200_000));
        assert_eq!(key_height("pacific-1/state-sync/latest.txt"), None);
        assert_eq!(key_height("pacific-1/state-sync/snapshot-12.tar.gz"), None);
        assert_eq!(key_height("pacific-1/state-sync/.tar.gz"), None);
    }

    #[test]
    fn containment_refuses_escapes_but_allows_dot_files() {
        assert!(contained(Path::new("../x")).is_err());
        assert!(contained(Path::new("a/../../x")).is_err());
        assert!(contained(Path::new("/etc/passwd")).is_err());
        assert_eq!(contained(Path::new("./.meta/x")).unwrap(), PathBuf::from(".meta/x"));
    }
}
