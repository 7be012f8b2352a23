//! Sidecar tasks that use S3, against a real S3-compatible server (s3s-fs) and the seid
//! RPC simulator.

mod common;

use std::io::Read;
use std::path::Path;

use common::*;
use sei_testenv::{S3Server, SeidSimulator, block_hash};
use serde_json::{Value, json};

const GENESIS: &str = "genesis";
const SNAPSHOTS: &str = "snapshots";

fn s3_env(s3: &S3Server, chain: &str) -> Vec<(String, String)> {
    let mut env = s3.env();
    env.push(("SEI_CHAIN_ID".into(), chain.into()));
    env.push(("SEI_GENESIS_BUCKET".into(), GENESIS.into()));
    env.push(("SEI_SNAPSHOT_BUCKET".into(), SNAPSHOTS.into()));
    env
}

fn put_object(s3: &S3Server, bucket: &str, key: &str, body: &[u8]) {
    let path = s3.object_path(bucket, key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn object(s3: &S3Server, bucket: &str, key: &str) -> Option<Vec<u8>> {
    std::fs::read(s3.object_path(bucket, key)).ok()
}

const RPC_NOWHERE: &str = "http://127.0.0.1:9";

#[tokio::test]
async fn genesis_of_a_new_chain_comes_from_s3_and_a_missing_one_is_a_clear_error() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS]).unwrap();
    let s = Sidecar::start_with(RPC_NOWHERE, s3_env(&s3, "loadtest-7")).await;
    let t = s.run("configure-genesis", Value::Null).await;
    let error = t["error"].as_str().unwrap();
    assert!(error.contains("object \"loadtest-7/genesis.json\" not found in s3://genesis"), "{error}");
    assert!(error.contains("[hint: "), "{error}");
    assert!(!s.home.join(".sei-sidecar-genesis-done").exists(), "no marker after a failure");

    put_object(&s3, GENESIS, "loadtest-7/genesis.json", br#"{"chain_id":"other-1"}"#);
    let t = s.run("configure-genesis", Value::Null).await;
    assert!(t["error"].as_str().unwrap().contains("not loadtest-7"), "{t}");

    let genesis = br#"{"chain_id":"loadtest-7","app_state":{}}"#;
    put_object(&s3, GENESIS, "loadtest-7/genesis.json", genesis);
    assert_eq!(s.run("configure-genesis", Value::Null).await["status"], "completed");
    assert_eq!(std::fs::read(s.home.join("config/genesis.json")).unwrap(), genesis);
}

#[tokio::test]
async fn a_missing_bucket_names_the_variable_to_check() {
    let s3 = S3Server::start(&[GENESIS]).unwrap();
    let s = Sidecar::start_with(RPC_NOWHERE, s3_env(&s3, "pacific-1")).await;
    let t = s.run("snapshot-restore", json!({"targetHeight": 100})).await;
    let error = t["error"].as_str().unwrap();
    assert!(error.starts_with("snapshot-restore: S3:"), "{error}");
    assert!(error.contains("SEI_SNAPSHOT_BUCKET"), "{error}");
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    tar_gz_with(entries, None)
}

/// Entries written raw; with `link`, a symlink entry (name, target) is added last.
fn tar_gz_with(entries: &[(&str, &[u8])], link: Option<(&str, &str)>) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    if let Some((name, target)) = link {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        header.set_cksum();
        tar.append(&header, &[][..]).unwrap();
    }
    for (path, body) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Written raw so that hostile paths reach the extractor unchanged.
        let name = header.as_old_mut().name.as_mut();
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        tar.append(&header, *body).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[tokio::test]
async fn snapshot_restore_picks_the_best_height_and_refuses_hostile_archives() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS]).unwrap();
    let s = Sidecar::start_with(RPC_NOWHERE, s3_env(&s3, "pacific-1")).await;
    for h in [1000u64, 2000, 3000] {
        let body = format!("chunk of {h}");
        let archive = tar_gz(&[(&format!("{h}/1/0"), body.as_bytes()), ("metadata.db", b"meta")]);
        put_object(&s3, SNAPSHOTS, &format!("pacific-1/state-sync/{h}.tar.gz"), &archive);
    }
    put_object(&s3, SNAPSHOTS, "pacific-1/state-sync/latest.txt", b"3000");
    let t = s.run("snapshot-restore", json!({"targetHeight": 999})).await;
    assert!(t["error"].as_str().unwrap().contains("no snapshot at or below height 999"), "{t}");
    let t = s.run("snapshot-restore", json!({"targetHeight": 2500})).await;
    assert_eq!(t["status"], "completed", "{t}");
    let restored = s.home.join("data/snapshots");
    assert_eq!(std::fs::read_to_string(restored.join("2000/1/0")).unwrap(), "chunk of 2000");
    assert_eq!(std::fs::read_to_string(restored.join("metadata.db")).unwrap(), "meta");
    assert!(!restored.join("3000").exists());
    assert_eq!(std::fs::read_to_string(s.home.join(".sei-sidecar-snapshot-height")).unwrap(), "2000");
    assert_eq!(std::fs::read_dir(s.home.join("tmp")).unwrap().count(), 0, "the download is removed");

    // Another node, a hostile archive: nothing lands outside data/snapshots.
    let s2 = Sidecar::start_with(RPC_NOWHERE, s3_env(&s3, "pacific-1")).await;
    put_object(&s3, SNAPSHOTS, "pacific-1/state-sync/4000.tar.gz", &tar_gz(&[("../../escaped", b"x")]));
    let t = s2.run("snapshot-restore", json!({})).await;
    assert!(t["error"].as_str().unwrap().contains("leaves the destination"), "{t}");
    assert!(!s2.home.join("escaped").exists() && !s2.home.parent().unwrap().join("escaped").exists());
    put_object(&s3, SNAPSHOTS, "pacific-1/state-sync/4000.tar.gz", &tar_gz(&[("/tmp/sei-absolute-escape", b"x")]));
    let t = s2.run("snapshot-restore", json!({})).await;
    assert!(t["error"].as_str().unwrap().contains("leaves the destination"), "{t}");
    assert!(!std::path::Path::new("/tmp/sei-absolute-escape").exists());
    // A symlink pointing out, then a file written through it.
    let archive = tar_gz_with(&[("out/owned", b"x")], Some(("out", "../../..")));
    put_object(&s3, SNAPSHOTS, "pacific-1/state-sync/4000.tar.gz", &archive);
    let t = s2.run("snapshot-restore", json!({})).await;
    assert!(t["error"].as_str().unwrap().contains("points outside"), "{t}");
    assert!(!s2.home.parent().unwrap().join("owned").exists());
}

#[tokio::test]
async fn snapshot_upload_publishes_the_second_newest_snapshot_once() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS]).unwrap();
    let mut env = s3_env(&s3, "pacific-1");
    env.push(("SEI_SNAPSHOT_UPLOAD_INTERVAL".into(), "200ms".into()));
    let s = Sidecar::start_with(RPC_NOWHERE, env).await;
    let snaps = s.home.join("data/snapshots");
    for h in ["100", "200"] {
        std::fs::create_dir_all(snaps.join(h).join("1")).unwrap();
        std::fs::write(snaps.join(h).join("1/0"), format!("data {h}")).unwrap();
    }
    std::fs::write(snaps.join("metadata.db"), "meta").unwrap();
    let (code, body) = s.submit(json!({"type": "snapshot-upload"})).await;
    assert_eq!(code, 201);
    let key = "pacific-1/state-sync/100.tar.gz";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The state file is written last, after `latest.txt`.
    let state_file = s.home.join(".sei-sidecar-last-upload.json");
    while object(&s3, SNAPSHOTS, "pacific-1/state-sync/latest.txt").is_none() || !state_file.exists() {
        assert!(std::time::Instant::now() < deadline, "nothing uploaded");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(object(&s3, SNAPSHOTS, "pacific-1/state-sync/latest.txt").unwrap(), b"100");
    let uploaded = object(&s3, SNAPSHOTS, key).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&uploaded[..]));
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if name == "100/1/0" {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text, "data 100");
        }
        names.push(name);
    }
    assert!(names.contains(&"100/1/0".to_string()) && names.contains(&"metadata.db".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("200")), "the newest may still be written");
    let state: Value =
        serde_json::from_slice(&std::fs::read(s.home.join(".sei-sidecar-last-upload.json")).unwrap()).unwrap();
    assert_eq!(state["lastUploadedHeight"], 100);
    // The task keeps running: it uploads again when a newer snapshot appears.
    std::fs::create_dir_all(snaps.join("300")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while object(&s3, SNAPSHOTS, "pacific-1/state-sync/latest.txt").as_deref() != Some(b"200") {
        assert!(std::time::Instant::now() < deadline, "200 never uploaded");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(s.task(body["id"].as_str().unwrap()).await.1["status"], "running");
}

#[tokio::test]
async fn ceremony_artifacts_go_up_and_genesis_peers_come_down() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS]).unwrap();
    let s = Sidecar::start_with(RPC_NOWHERE, s3_env(&s3, "loadtest-7")).await;
    assert_eq!(
        s.run("generate-identity", json!({"chainId": "loadtest-7", "moniker": "v0"})).await["status"],
        "completed"
    );
    let t = s.run("upload-genesis-artifacts", json!({"nodeName": "v-0"})).await;
    assert!(t["error"].as_str().unwrap().contains("no gentx"), "{t}");
    std::fs::create_dir_all(s.home.join("config/gentx")).unwrap();
    std::fs::write(s.home.join("config/gentx/gentx-abc.json"), br#"{"body":{}}"#).unwrap();
    assert_eq!(s.run("upload-genesis-artifacts", json!({"nodeName": "v-0"})).await["status"], "completed");
    assert_eq!(object(&s3, GENESIS, "loadtest-7/v-0/gentx.json").unwrap(), br#"{"body":{}}"#);
    let identity: Value =
        serde_json::from_slice(&object(&s3, GENESIS, "loadtest-7/v-0/identity.json").unwrap()).unwrap();
    let own: Value = serde_json::from_slice(&std::fs::read(s.home.join("config/node_key.json")).unwrap()).unwrap();
    assert_eq!(identity["node_key"], own);

    let own_id = own["id"].as_str().unwrap();
    let peers =
        json!([format!("{own_id}@v-0-0.v-0.ns.svc.cluster.local:26656"), "abc@v-1-0.v-1.ns.svc.cluster.local:26656"]);
    put_object(&s3, GENESIS, "loadtest-7/peers.json", peers.to_string().as_bytes());
    assert_eq!(s.run("set-genesis-peers", Value::Null).await["status"], "completed");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
    assert_eq!(
        config["p2p"]["persistent-peers"].as_str(),
        Some("abc@v-1-0.v-1.ns.svc.cluster.local:26656"),
        "itself dropped"
    );
    assert_eq!(config["moniker"].as_str(), Some("v0"), "the rest of config.toml is kept");
}

#[tokio::test]
async fn upload_file_ships_files_under_the_home_only() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS, "artifacts"]).unwrap();
    let s = Sidecar::start_with(RPC_NOWHERE, s3_env(&s3, "pacific-1")).await;
    let file = s.home.join("data/report.json");
    std::fs::write(&file, "{\"ok\":true}").unwrap();
    let params =
        |f: &Path| json!({"file": f, "bucket": "artifacts", "key": "runs/1/report.json", "region": "eu-central-1"});
    assert_eq!(s.run("upload-file", params(&file)).await["status"], "completed");
    assert_eq!(object(&s3, "artifacts", "runs/1/report.json").unwrap(), b"{\"ok\":true}");
    let t = s.run("upload-file", params(Path::new("/etc/hostname"))).await;
    assert!(t["error"].as_str().unwrap().contains("is not a file under"), "{t}");
    let e = s.refused("upload-file", json!({"file": file})).await;
    assert!(e.contains("missing field `bucket`"), "{e}");
    let t = s.run("upload-file", json!({"file": file, "bucket": "", "key": "k", "region": "r"})).await;
    assert!(t["error"].as_str().unwrap().contains("are required"), "{t}");
}

#[tokio::test]
async fn peers_are_discovered_and_state_sync_gets_a_trust_point() {
    let sim = SeidSimulator::start("aaaabbbbccccddddeeeeffff0000111122223333").await.unwrap();
    sim.set_height(10_000);
    let mut env = vec![("SEI_PEER_RPC_PORT".to_string(), sim.port.to_string())];
    env.push(("SEI_CHAIN_ID".into(), "pacific-1".into()));
    let s = Sidecar::start_with(RPC_NOWHERE, env).await;
    let t = s.run("configure-state-sync", json!({})).await;
    assert!(t["error"].as_str().unwrap().contains("no peers"), "{t}");
    let e = s.refused("discover-peers", json!({"sources": [{"type": "static"}]})).await;
    assert!(e.contains("sources[0]: missing field `addresses`"), "{e}");
    let t = s.run("discover-peers", json!({"sources": [{"type": "static", "addresses": []}]})).await;
    assert!(t["error"].as_str().unwrap().contains("sources[0]: addresses must not be empty"), "{t}");
    let e = s.refused("discover-peers", json!({"sources": [{"type": "carrier-pigeon"}]})).await;
    assert!(e.contains("sources[0].type: unknown variant `carrier-pigeon`"), "{e}");
    let sources = json!({"sources": [
        {"type": "dnsEndpoints", "endpoints": ["127.0.0.1", "127.0.0.1"]},
        {"type": "static", "addresses": ["ffff@10.0.0.9:26656"]}
    ]});
    assert_eq!(s.run("discover-peers", sources).await["status"], "completed");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
    assert_eq!(
        config["p2p"]["persistent-peers"].as_str(),
        Some("aaaabbbbccccddddeeeeffff0000111122223333@127.0.0.1:26656,ffff@10.0.0.9:26656"),
        "de-duplicated, in order"
    );
    let t = s.run("configure-state-sync", json!({"trustPeriod": "168h", "backfillBlocks": 10})).await;
    assert_eq!(t["status"], "completed", "{t}");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
    let ss = &config["statesync"];
    assert_eq!(ss["enable"].as_bool(), Some(true));
    assert_eq!(ss["trust-height"].as_integer(), Some(8000), "2000 behind the tip");
    assert_eq!(ss["trust-hash"].as_str(), Some(block_hash(8000).as_str()));
    let port = sim.port;
    assert_eq!(
        ss["rpc-servers"].as_str(),
        Some(format!("127.0.0.1:{port},10.0.0.9:{port}").as_str()),
        "the first two peers"
    );
    assert_eq!((ss["trust-period"].as_str(), ss["backfill-blocks"].as_integer()), (Some("168h"), Some(10)));
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn result_export_ships_complete_pages_and_resumes_where_it_stopped() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS, "results"]).unwrap();
    let node = SeidSimulator::start("0000000000000000000000000000000000000001").await.unwrap();
    node.set_height(2500);
    let s = Sidecar::start_with(&node.url(), s3_env(&s3, "pacific-1")).await;
    let params = json!({"bucket": "results", "region": "eu-central-1", "prefix": "shadow"});
    assert_eq!(s.run("result-export", params.clone()).await["status"], "completed");
    let page = gunzip(&object(&s3, "results", "shadow/1-1000.ndjson.gz").unwrap());
    let lines: Vec<Value> = page.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1000);
    assert_eq!(lines[0]["height"], 1);
    assert_eq!(lines[999]["block_results"]["height"], "1000", "the raw response, verbatim");
    assert!(object(&s3, "results", "shadow/1001-2000.ndjson.gz").is_some());
    assert!(object(&s3, "results", "shadow/2001-3000.ndjson.gz").is_none(), "only complete pages");
    // A new task ID continues after the last exported page.
    node.set_height(3000);
    assert_eq!(s.run("result-export", params).await["status"], "completed");
    assert!(object(&s3, "results", "shadow/2001-3000.ndjson.gz").is_some());
    assert!(s.refused("result-export", json!({"bucket": "results"})).await.contains("missing field `region`"));
}

#[tokio::test]
async fn result_compare_finds_the_first_divergent_block_and_reports_it() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS, "results"]).unwrap();
    let shadow = SeidSimulator::start("0000000000000000000000000000000000000001").await.unwrap();
    let canonical = SeidSimulator::start("0000000000000000000000000000000000000002").await.unwrap();
    shadow.set_height(300);
    canonical.set_height(300);
    canonical.set_jsonrpc(true); // the canonical node is upstream CometBFT
    shadow.diverge_from(150);
    let s = Sidecar::start_with(&shadow.url(), s3_env(&s3, "pacific-1")).await;
    let t = s
        .run(
            "result-export",
            json!({"bucket": "results", "region": "r", "prefix": "cmp/", "canonicalRpc": canonical.url()}),
        )
        .await;
    assert_eq!(t["status"], "completed", "{t}");
    let first = gunzip(&object(&s3, "results", "cmp/1-100.compare.ndjson.gz").unwrap());
    let records: Vec<Value> = first.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 100);
    assert!(records.iter().all(|r| r["match"] == true && r.get("layer1").is_none()));
    let rest = gunzip(&object(&s3, "results", "cmp/101-150.compare.ndjson.gz").unwrap());
    let last: Value = serde_json::from_str(rest.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["height"].as_i64(), last["match"].as_bool(), last["divergenceLayer"].as_i64()),
        (Some(150), Some(false), Some(1))
    );
    assert_eq!(last["layer0"]["appHashMatch"], false);
    assert_eq!(
        last["layer1"]["divergences"][0],
        json!({"txIndex": 1, "fields": [{"field": "gasUsed", "shadow": "22000", "canonical": "21000"}]})
    );
    let report: Value =
        serde_json::from_str(&gunzip(&object(&s3, "results", "cmp/divergence-150.report.json.gz").unwrap())).unwrap();
    assert_eq!(report["height"], 150);
    assert_eq!(report["canonical"]["block"]["jsonrpc"], "2.0", "raw bodies are kept verbatim");
    let state: Value =
        serde_json::from_slice(&std::fs::read(s.home.join(".sei-sidecar-last-export.json")).unwrap()).unwrap();
    assert_eq!(state["lastExportedHeight"], 150);

    // seictl report reads what the export wrote.
    let report = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_seictl"))
            .arg("report")
            .args(args)
            .args(["--bucket", "results", "--prefix", "cmp/", "--region", "r"])
            .envs(s3.env())
            .output()
            .unwrap();
        (o.status.code().unwrap(), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
    };
    let (code, stdout, stderr) = report(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["totalBlocks"], 150);
    assert_eq!(
        (listed["pages"][0]["endHeight"].as_i64(), listed["pages"][1]["startHeight"].as_i64()),
        (Some(100), Some(101))
    );
    assert_eq!(listed["divergenceReports"], json!([{"key": "cmp/divergence-150.report.json.gz", "height": 150}]));
    let (code, stdout, stderr) = report(&["list", "-o", "table"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("cmp/1-100.compare.ndjson.gz")
            && stderr.contains("2 pages, 150 blocks compared, 1 divergence reports"),
        "{stdout}{stderr}"
    );
    let (code, stdout, stderr) = report(&["divergence", "--height", "150"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("# Divergence at height 150"), "{stdout}");
    assert!(stdout.contains("| App hash | false |") && stdout.contains("| 1 | gasUsed | 22000 | 21000 |"), "{stdout}");
    let (code, stdout, _) = report(&["divergence", "--key", "cmp/divergence-150.report.json.gz", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["height"], 150);
    let (code, _, stderr) = report(&["divergence", "--height", "151"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("s3://results/cmp/divergence-151.report.json.gz") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(report(&["divergence"]).0, 2, "--key or --height is required");
}

#[tokio::test]
async fn a_full_config_apply_keeps_discovered_peers_and_the_state_sync_trust_point() {
    let sim = SeidSimulator::start("aaaabbbbccccddddeeeeffff0000111122223333").await.unwrap();
    sim.set_height(10_000);
    let env = vec![("SEI_PEER_RPC_PORT".to_string(), sim.port.to_string())];
    let s = Sidecar::start_with(RPC_NOWHERE, env).await;
    let sources = json!({"sources": [{"type": "static", "addresses": ["aaaabbbbccccddddeeeeffff0000111122223333@127.0.0.1:26656"]}]});
    assert_eq!(s.run("discover-peers", sources).await["status"], "completed");
    assert_eq!(s.run("configure-state-sync", json!({})).await["status"], "completed");
    assert_eq!(s.run("config-apply", json!({"mode": "full"})).await["status"], "completed");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
    assert_eq!(
        config["p2p"]["persistent-peers"].as_str(),
        Some("aaaabbbbccccddddeeeeffff0000111122223333@127.0.0.1:26656")
    );
    assert_eq!(config["statesync"]["enable"].as_bool(), Some(true));
    assert_eq!(config["statesync"]["trust-height"].as_integer(), Some(8000));
    assert_eq!(config["chain-id"].as_str(), Some("pacific-1"));
    // An explicit override still wins.
    let t = s.run("config-apply", json!({"mode": "full", "overrides": {"network.p2p.persistent_peers": ""}})).await;
    assert_eq!(t["status"], "completed");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(s.home.join("config/config.toml")).unwrap()).unwrap();
    assert_eq!(config["p2p"]["persistent-peers"].as_str(), Some(""));
}

/// A stand-in `seid` on PATH: `seid export` prints a state document, or fails on demand.
fn fake_seid(dir: &Path, fail: bool) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = if fail {
        "#!/bin/sh\necho 'export: database locked' >&2\nexit 3\n".to_string()
    } else {
        "#!/bin/sh\n[ \"$1\" = export ] || exit 2\necho '{\"chain_id\":\"old-1\",\"args\":\"'\"$*\"'\"}'\n".to_string()
    };
    let path = bin.join("seid");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

#[tokio::test]
async fn export_state_runs_seid_export_and_uploads_the_result() {
    let s3 = S3Server::start(&[GENESIS, SNAPSHOTS]).unwrap();
    let tools = tempfile::tempdir().unwrap();
    let mut env = s3_env(&s3, "old-1");
    env.push(("PATH".into(), fake_seid(tools.path(), false)));
    let s = Sidecar::start_with(RPC_NOWHERE, env).await;
    let t =
        s.run("export-state", json!({"chainId": "old-1", "height": 77, "s3Bucket": GENESIS, "s3Region": "r"})).await;
    assert_eq!(t["status"], "completed", "{t}");
    let exported: Value = serde_json::from_slice(&object(&s3, GENESIS, "old-1/exported-state.json").unwrap()).unwrap();
    assert_eq!(exported["chain_id"], "old-1");
    let args = exported["args"].as_str().unwrap_or_else(|| panic!("{exported}"));
    assert!(args.contains("--height 77") && args.contains("--home"), "{args}");
    assert!(std::fs::read_dir(s.home.join("tmp")).unwrap().next().is_none(), "the export file is removed");

    let tools = tempfile::tempdir().unwrap();
    let mut env = s3_env(&s3, "old-1");
    env.push(("PATH".into(), fake_seid(tools.path(), true)));
    let s = Sidecar::start_with(RPC_NOWHERE, env).await;
    let t = s
        .run("export-state", json!({"chainId": "old-1", "s3Bucket": GENESIS, "s3Region": "r", "s3Key": "x/state.json"}))
        .await;
    assert!(t["error"].as_str().unwrap().contains("seid export exited with"), "{t}");
    assert!(!s.home.join(".sei-sidecar-export-done").exists());
    assert!(s.refused("export-state", json!({"chainId": "old-1"})).await.contains("missing field `s3Bucket`"));
}
