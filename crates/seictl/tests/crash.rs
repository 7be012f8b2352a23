//! SIGKILL the sidecar in the middle of long tasks, start it again: each task resumes and
//! completes correctly, readiness is what it was, and no file is left half-written.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::*;
use sei_testenv::{S3Server, SeidSimulator};
use serde_json::{Value, json};

fn leftovers(home: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in [home.to_path_buf(), home.join("config"), home.join("tmp")] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") || name.starts_with("snapshot-") || name.starts_with("export-") {
                found.push(format!("{}/{name}", dir.display()));
            }
        }
    }
    found
}

/// A gzip tar with one large file of pseudo-random bytes.
fn big_archive(height: u64, size: usize) -> (Vec<u8>, Vec<u8>) {
    let mut data = Vec::with_capacity(size);
    let mut x: u64 = 0x9E3779B97F4A7C15;
    while data.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none()));
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, format!("{height}/1/0"), &data[..]).unwrap();
    let mut gz = tar.into_inner().unwrap();
    gz.flush().unwrap();
    (gz.finish().unwrap(), data)
}

#[tokio::test]
async fn killed_during_snapshot_restore_and_result_compare_then_resumed() {
    let s3 = S3Server::start(&["genesis", "snapshots", "results"]).unwrap();
    let shadow = SeidSimulator::start("0000000000000000000000000000000000000001").await.unwrap();
    let canonical = SeidSimulator::start("0000000000000000000000000000000000000002").await.unwrap();
    shadow.set_height(1500);
    canonical.set_height(1500);
    shadow.diverge_from(1400);
    let (archive, data) = big_archive(5000, 48 << 20);
    let key = s3.object_path("snapshots", "pacific-1/state-sync/5000.tar.gz");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(key, &archive).unwrap();

    let mut env = s3.env();
    env.extend(
        [("SEI_GENESIS_BUCKET", "genesis"), ("SEI_SNAPSHOT_BUCKET", "snapshots")]
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut s = Sidecar::start_with(&shadow.url(), env).await;
    assert_eq!(s.run("mark-ready", Value::Null).await["status"], "completed");

    let restore = "dddddddd-2222-4333-8444-555555555555";
    let compare = "eeeeeeee-2222-4333-8444-555555555555";
    s.submit(json!({"id": restore, "type": "snapshot-restore", "params": {"targetHeight": 5000}})).await;
    s.submit(json!({"id": compare, "type": "result-export", "params": {"bucket": "results", "region": "r", "canonicalRpc": canonical.url()}})).await;
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(150 + 100 * round)).await;
        if round == 0 {
            assert_eq!(s.task(restore).await.1["status"], "running", "the first kill lands mid-restore");
        }
        s.crash_and_restart().await;
        assert_eq!(s.status_of("/v0/healthz").await, 200, "still ready after crash {round}");
    }
    for id in [restore, compare] {
        let t = s.finished(id).await;
        assert_eq!(t["status"], "completed", "{t}");
    }
    assert_eq!(std::fs::read(s.home.join("data/snapshots/5000/1/0")).unwrap(), data, "the restored file is whole");
    assert!(leftovers(&s.home).is_empty(), "{:?}", leftovers(&s.home));
    let state: Value =
        serde_json::from_slice(&std::fs::read(s.home.join(".sei-sidecar-last-export.json")).unwrap()).unwrap();
    assert_eq!(state["lastExportedHeight"], 1400);
    assert!(std::fs::read(s3.object_path("results", "divergence-1400.report.json.gz")).is_ok());
}

/// A `seid` whose `export` takes a second, so a kill can land in the middle of it.
fn slow_seid(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script =
        "#!/bin/sh\n[ \"$1\" = export ] || exit 2\nsleep 1\necho '{\"chain_id\":\"old-1\",\"app_state\":{}}'\n";
    let path = bin.join("seid");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

#[tokio::test]
async fn killed_during_uploads_an_export_and_a_wait_then_resumed() {
    let s3 = S3Server::start(&["genesis", "snapshots", "artifacts"]).unwrap();
    let seid = SeidSimulator::start("0000000000000000000000000000000000000003").await.unwrap();
    seid.set_height(10);
    let tools = tempfile::tempdir().unwrap();
    let mut env = s3.env();
    env.extend(
        [
            ("SEI_GENESIS_BUCKET", "genesis"),
            ("SEI_SNAPSHOT_BUCKET", "snapshots"),
            ("SEI_SNAPSHOT_UPLOAD_INTERVAL", "200ms"),
            ("SEI_CHAIN_ID", "pacific-1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env.push(("PATH".into(), slow_seid(tools.path())));
    let mut s = Sidecar::start_with(&seid.url(), env).await;
    assert_eq!(s.run("mark-ready", Value::Null).await["status"], "completed");

    // Large inputs, so that the kills land while bytes are moving.
    let (_, big) = big_archive(1, 40 << 20);
    std::fs::write(s.home.join("data/big.bin"), &big).unwrap();
    let snaps = s.home.join("data/snapshots");
    for h in ["100", "200"] {
        std::fs::create_dir_all(snaps.join(h).join("1")).unwrap();
    }
    std::fs::write(snaps.join("100/1/0"), &big[..24 << 20]).unwrap();
    std::fs::write(snaps.join("metadata.db"), "meta").unwrap();

    let upload = "11111111-2222-4333-8444-555555555555";
    let export = "22222222-2222-4333-8444-555555555555";
    let wait = "33333333-2222-4333-8444-555555555555";
    let publish = "44444444-2222-4333-8444-555555555555";
    let file = s.home.join("data/big.bin");
    for body in [
        json!({"id": upload, "type": "upload-file", "params": {"file": file, "bucket": "artifacts", "key": "runs/big.bin", "region": "r"}}),
        json!({"id": export, "type": "export-state", "params": {"chainId": "old-1", "height": 9, "s3Bucket": "genesis", "s3Region": "r"}}),
        json!({"id": wait, "type": "await-condition", "params": {"condition": "height", "targetHeight": 20}}),
        json!({"id": publish, "type": "snapshot-upload"}),
    ] {
        let (code, answer) = s.submit(body).await;
        assert_eq!(code, 201, "{answer}");
    }
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(200 + 150 * round)).await;
        if round == 0 {
            for id in [upload, export, wait, publish] {
                assert_eq!(s.task(id).await.1["status"], "running", "{id}: the first kill lands mid-task");
            }
        }
        s.crash_and_restart().await;
        assert_eq!(s.status_of("/v0/healthz").await, 200, "still ready after crash {round}");
    }
    seid.set_height(20);
    for id in [upload, export, wait] {
        let t = s.finished(id).await;
        assert_eq!((t["status"].as_str(), t["error"].as_str()), (Some("completed"), None), "{t}");
    }
    assert_eq!(std::fs::read(s3.object_path("artifacts", "runs/big.bin")).unwrap(), big, "the upload is whole");
    let exported: Value =
        serde_json::from_slice(&std::fs::read(s3.object_path("genesis", "old-1/exported-state.json")).unwrap())
            .unwrap();
    assert_eq!(exported["chain_id"], "old-1");
    // The periodic upload resumed, published snapshot 100 whole, and keeps running.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read(s3.object_path("snapshots", "pacific-1/state-sync/latest.txt")).ok().as_deref() != Some(b"100")
    {
        assert!(std::time::Instant::now() < deadline, "snapshot 100 never published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let archive = std::fs::read(s3.object_path("snapshots", "pacific-1/state-sync/100.tar.gz")).unwrap();
    let mut entries = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    let mut restored = None;
    for entry in entries.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("100/1/0") {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            restored = Some(bytes);
        }
    }
    assert!(restored.as_deref() == Some(&big[..24 << 20]), "snapshot 100 is whole in the bucket");
    assert_eq!(s.task(publish).await.1["status"], "running");
    assert!(leftovers(&s.home).is_empty(), "{:?}", leftovers(&s.home));
}
