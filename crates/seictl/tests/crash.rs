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
            if name.ends_with(".tmp") || name.starts_with("snapshot-") {
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
