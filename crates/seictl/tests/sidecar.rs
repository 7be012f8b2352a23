//! Black-box tests of `seictl serve`: the built binary, driven over HTTP.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

use reqwest::StatusCode;
use sei_testenv::SeidSimulator;
use serde_json::{Value, json};
use sha2::Digest;

const RPC_NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn refuses_to_start_without_a_token_or_a_required_variable() {
    let dir = tempfile::tempdir().unwrap();
    let run = |envs: Vec<(String, String)>, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
        cmd.arg("serve").args(extra).env_clear().envs(envs);
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(env(dir.path(), free_port(), RPC_NOWHERE, None), &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("SEI_SIDECAR_TOKEN_FILE") && err.contains("--insecure-no-auth"), "{err}");
    let mut missing = env(dir.path(), free_port(), RPC_NOWHERE, None);
    missing.retain(|(k, _)| k != "SEI_SNAPSHOT_BUCKET");
    let (code, err) = run(missing, &["--insecure-no-auth"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("SEI_SNAPSHOT_BUCKET is required"), "{err}");
    assert!(!dir.path().join("sidecar.db").exists(), "nothing opened before the check");
    std::fs::write(dir.path().join("short"), "abc").unwrap();
    let (code, err) = run(env(dir.path(), free_port(), RPC_NOWHERE, Some(&dir.path().join("short"))), &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("shorter than 16"), "{err}");
}

#[tokio::test]
async fn insecure_mode_serves_without_a_token_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seictl"))
        .args(["serve", "--insecure-no-auth"])
        .env_clear()
        .envs(env(&dir.path().join("sei"), port, RPC_NOWHERE, None))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v0/tasks");
    let mut code = None;
    for _ in 0..200 {
        if let Ok(r) = http.post(&url).json(&json!({"type": "mark-ready"})).send().await {
            code = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code, Some(StatusCode::CREATED));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WITHOUT authentication"));
}

#[tokio::test]
async fn task_endpoints_need_the_bearer_token_and_health_endpoints_do_not() {
    let s = Sidecar::start(RPC_NOWHERE).await;
    let body = json!({"type": "mark-ready"});
    let none = s.http.post(s.url("/v0/tasks")).json(&body).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(none.json::<Value>().await.unwrap()["error"], "missing bearer token");
    let wrong =
        s.http.post(s.url("/v0/tasks")).bearer_auth("test-token-0123456789abcdeX").json(&body).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid bearer token");
    for path in ["/v0/tasks", "/v0/tasks/6f1c2d8e-9a0b-4c3d-8e7f-112233445566"] {
        assert_eq!(s.status_of(path).await, 401, "GET {path}");
    }
    let del = s.http.delete(s.url("/v0/tasks/6f1c2d8e-9a0b-4c3d-8e7f-112233445566")).send().await.unwrap();
    assert_eq!(del.status(), 401);
    for path in ["/v0/livez", "/v0/status", "/v0/metrics"] {
        assert_eq!(s.status_of(path).await, 200, "{path}");
    }
    assert_eq!(s.status_of("/v0/healthz").await, 503);
    assert_eq!(s.status_of("/v0/node-id").await, 500, "no node key yet");
}

#[tokio::test]
async fn submissions_are_validated_with_json_errors() {
    let s = Sidecar::start(RPC_NOWHERE).await;
    for (body, code, message) in [
        (json!({}), 400, "type is required"),
        (json!({"type": "frobnicate"}), 400, "unknown task type: frobnicate"),
        (json!({"type": "mark-ready", "id": "not-a-uuid"}), 400, "task ID must be a valid UUID: \"not-a-uuid\""),
        (
            json!({"type": "mark-ready", "params": [1, 2]}),
            400,
            "invalid params for mark-ready: params must be a JSON object",
        ),
        (json!({"type": 7}), 400, "invalid request body"),
        (json!({"type": "mark-ready", "parameters": {}}), 400, "unknown field `parameters`"),
        // Parameters are checked against the task's type at submission: a misspelt key, a
        // missing required field or a wrong type is refused, naming the key.
        (
            json!({"type": "snapshot-restore", "params": {"targetHeigth": 100}}),
            400,
            "invalid params for snapshot-restore: unknown field `targetHeigth`, expected `targetHeight`",
        ),
        (json!({"type": "generate-identity", "params": {"chainId": "c"}}), 400, "missing field `moniker`"),
        (json!({"type": "generate-identity", "params": {"chainId": 5, "moniker": "m"}}), 400, "chainId: invalid type"),
        (
            json!({"type": "config-apply", "params": {"mode": "full", "overrides": {"mempool.size": 5}}}),
            400,
            "overrides.mempool.size: invalid type: integer `5`, expected a string",
        ),
        (
            json!({"type": "discover-peers", "params": {"sources": [{"type": "static", "adresses": ["a@b:1"]}]}}),
            400,
            "sources[0]: unknown field `adresses`",
        ),
        (json!({"type": "mark-ready", "params": {"now": true}}), 400, "unknown field `now`"),
    ] {
        let (status, resp) = s.submit(body.clone()).await;
        assert_eq!(status, code, "{body}");
        assert!(resp["error"].as_str().unwrap().contains(message), "{body}: {resp}");
    }
    let raw = |text: &'static str| {
        s.http.post(s.url("/v0/tasks")).bearer_auth(TOKEN).header("content-type", "application/json").body(text)
    };
    let r = raw("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["error"].as_str().unwrap().starts_with("invalid request body"));
    // No content type: accepted, as by the reference.
    let r = s.http.post(s.url("/v0/tasks")).bearer_auth(TOKEN).body(r#"{"type":"mark-ready"}"#).send().await.unwrap();
    assert_eq!(r.status(), 201);
    // What the reference operator sends is accepted: explicit zero values, no params.
    for body in [
        json!({"type": "config-apply", "params": {"mode": "full", "incremental": false, "targetVersion": 0}}),
        json!({"type": "snapshot-upload"}),
        json!({"type": "mark-ready", "params": null}),
        json!({"type": "mark-ready", "params": {}}),
    ] {
        let (code, resp) = s.submit(body.clone()).await;
        assert_eq!(code, 201, "{body}: {resp}");
    }
    // A fresh client: the server closes the connection after refusing the body.
    let big = format!("{{\"type\":\"mark-ready\",\"params\":{{\"x\":\"{}\"}}}}", "a".repeat(2 << 20));
    let r = reqwest::Client::new()
        .post(s.url("/v0/tasks"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    let r = s.http.get(s.url("/v0/nothing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not found");
    let r = s.http.put(s.url("/v0/livez")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let (code, body) = s.task("6f1c2d8e-9a0b-4c3d-8e7f-112233445566").await;
    assert_eq!((code.as_u16(), body["error"].as_str()), (404, Some("task not found")));
}

#[tokio::test]
async fn resubmitting_an_id_is_idempotent_and_says_so_in_a_header_and_a_failed_task_reruns() {
    let s = Sidecar::start(RPC_NOWHERE).await;
    let id = "11111111-2222-4333-8444-555555555555";
    let (code, said, body) = s.submit_saying(json!({"id": id, "type": "mark-ready"})).await;
    assert_eq!((code.as_u16(), said.as_deref(), body), (201, Some("started"), json!({"id": id})));
    let done = s.finished(id).await;
    assert_eq!((done["status"].as_str(), done["run"].as_i64()), (Some("completed"), Some(1)));
    // As the reference: 201 and exactly {"id"} for every accepted submission.
    let (code, said, body) = s.submit_saying(json!({"id": id, "type": "mark-ready"})).await;
    assert_eq!((code.as_u16(), said.as_deref(), body), (201, Some("deduplicated"), json!({"id": id})));

    // A task that fails, then succeeds when resubmitted with good parameters.
    let id = "aaaaaaaa-2222-4333-8444-555555555555";
    let (code, _, _) = s.submit_saying(json!({"id": id, "type": "config-apply", "params": {"mode": "observer"}})).await;
    assert_eq!(code, 201);
    let failed = s.finished(id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().starts_with("config-apply: "), "{failed}");
    assert_eq!(failed["params"], json!({"mode": "observer"}));
    let (code, said, body) =
        s.submit_saying(json!({"id": id, "type": "config-apply", "params": {"mode": "full"}})).await;
    assert_eq!((code.as_u16(), said.as_deref(), body), (201, Some("rerun"), json!({"id": id})));
    let ok = s.finished(id).await;
    assert_eq!((ok["status"].as_str(), ok["run"].as_i64()), (Some("completed"), Some(2)), "{ok}");
    assert_eq!(ok["params"], json!({"mode": "full"}));

    let list: Value = s.http.get(s.url("/v0/tasks")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], id, "newest first");
}

#[tokio::test]
async fn readiness_survives_a_crash() {
    let mut s = Sidecar::start(RPC_NOWHERE).await;
    assert_eq!(s.status_of("/v0/healthz").await, 503);
    assert_eq!(s.run("mark-ready", Value::Null).await["status"], "completed");
    assert_eq!(s.status_of("/v0/healthz").await, 200);
    s.crash_and_restart().await;
    assert_eq!(s.status_of("/v0/healthz").await, 200);
    let status: Value = s.http.get(s.url("/v0/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status, json!({"status": "Ready"}));
}

#[tokio::test]
async fn delete_cancels_a_running_task_and_it_stays_deleted() {
    let sim = SeidSimulator::start("0000000000000000000000000000000000000001").await.unwrap();
    let s = Sidecar::start(&sim.url()).await;
    let id = "bbbbbbbb-2222-4333-8444-555555555555";
    let (code, _) = s
        .submit(json!({"id": id, "type": "await-condition", "params": {"condition": "height", "targetHeight": 100}}))
        .await;
    assert_eq!(code, 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.task(id).await.1["status"], "running");
    let del = s.http.delete(s.url(&format!("/v0/tasks/{id}"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(del.status(), 204);
    // The task really stopped: it no longer polls the node.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let polls = sim.requests();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.requests(), polls, "the cancelled task still polls");
    sim.set_height(150); // would have completed it
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.task(id).await.0, 404, "a cancelled task does not come back");
    let del = s.http.delete(s.url(&format!("/v0/tasks/{id}"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(del.status(), 404);
}

#[tokio::test]
async fn a_task_interrupted_by_a_crash_resumes_and_completes() {
    let sim = SeidSimulator::start("0000000000000000000000000000000000000001").await.unwrap();
    sim.set_jsonrpc(true);
    let mut s = Sidecar::start(&sim.url()).await;
    let id = "cccccccc-2222-4333-8444-555555555555";
    s.submit(json!({"id": id, "type": "await-condition", "params": {"condition": "height", "targetHeight": 50}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.crash_and_restart().await;
    let t = s.task(id).await.1;
    assert_eq!((t["status"].as_str(), t["run"].as_i64()), (Some("running"), Some(1)), "resumed, same run: {t}");
    sim.set_height(50);
    let t = s.finished(id).await;
    assert_eq!(t["status"], "completed", "{t}");
    let metrics = s.http.get(s.url("/v0/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        !metrics.contains("seictl_task_submissions_total{type=\"await-condition\"}"),
        "a resumed task is not a new submission"
    );
    assert!(
        metrics
            .contains("seictl_task_execution_duration_seconds_count{type=\"await-condition\",status=\"completed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn config_tasks_render_validate_patch_and_reload() {
    let s = Sidecar::start(RPC_NOWHERE).await;
    let t = s.run("config-apply", json!({"mode": "archive", "overrides": {"evm.http_port": "18545"}})).await;
    assert_eq!(t["status"], "completed", "{t}");
    let config_dir = s.home.join("config");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(config_dir.join("config.toml")).unwrap()).unwrap();
    assert_eq!(config["chain-id"].as_str(), Some("pacific-1"), "defaults to SEI_CHAIN_ID");
    let app: toml::Table = toml::from_str(&std::fs::read_to_string(config_dir.join("app.toml")).unwrap()).unwrap();
    assert_eq!(app["evm"]["http_port"].as_integer(), Some(18545));
    assert_eq!(app["receipt-store"]["keep-recent"].as_integer(), Some(0));
    assert_eq!(s.run("config-validate", Value::Null).await["status"], "completed");

    let t = s.run("config-apply", json!({"mode": "full", "overrides": {"mempool.size": "12abc"}})).await;
    assert!(t["error"].as_str().unwrap().contains(r#""mempool.size"="12abc""#), "{t}");
    let t = s.run("config-apply", json!({"mode": "full", "overrides": {"logging.format": "xml"}})).await;
    let error = t["error"].as_str().unwrap();
    let json_part = &error[error.find('[').unwrap()..];
    let diags: Value = serde_json::from_str(json_part).unwrap();
    assert_eq!(diags[0]["field"], "logging.format");
    assert_eq!(diags[0]["severity"], "ERROR");

    let t = s
        .run("config-patch", json!({"files": {"config.toml": {"p2p": {"persistent-peers": "abc@1.2.3.4:26656"}}}}))
        .await;
    assert_eq!(t["status"], "completed", "{t}");
    let t = s.run("config-patch", json!({"files": {"../escape.toml": {"a": 1}}})).await;
    assert!(t["error"].as_str().unwrap().contains("plain name"), "{t}");
    assert!(!s.home.join("escape.toml").exists());
    assert!(s.run("config-patch", json!({"files": {}})).await["error"].as_str().unwrap().contains("at least one file"));

    // A running seid (in the pod's shared process namespace) is told to re-read its config.
    let signals = s.home.join("seid-signals");
    let mut seid = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"exec -a seid bash -c 'trap "echo HUP >> {}" HUP; while :; do sleep 0.1; done'"#,
            signals.display()
        ))
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let t = s.run("config-reload", json!({"fields": {"logging.level": "debug", "mempool.size": "6000"}})).await;
    assert_eq!(t["status"], "completed", "{t}");
    let mut told = String::new();
    for _ in 0..50 {
        told = std::fs::read_to_string(&signals).unwrap_or_default();
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = seid.kill();
    let _ = seid.wait();
    assert_eq!(told, "HUP\n", "seid was not signalled once");
    let config = std::fs::read_to_string(config_dir.join("config.toml")).unwrap();
    assert!(config.contains("persistent-peers = \"abc@1.2.3.4:26656\""), "an incremental write keeps patched values");
    assert!(config.contains("log-level = \"debug\"") && config.contains("size = 6000"));
    let t = s.run("config-reload", json!({"fields": {"evm.http_port": "1"}})).await;
    assert!(t["error"].as_str().unwrap().contains("require a restart: evm.http_port"), "{t}");
    let t = s.run("config-reload", json!({"fields": {"nope.key": "1"}})).await;
    assert!(t["error"].as_str().unwrap().contains("unknown field \"nope.key\""), "{t}");

    std::fs::write(config_dir.join("app.toml"), "pruning = \"sometimes\"\n[sei]\nmode = \"full\"\n").unwrap();
    let t = s.run("config-validate", Value::Null).await;
    let error = t["error"].as_str().unwrap();
    let report: Value = serde_json::from_str(&error[error.find('{').unwrap()..]).unwrap();
    assert_eq!(report["valid"], false);
    assert!(report["diagnostics"].as_array().unwrap().iter().any(|d| d["field"] == "storage.pruning"));
}

#[tokio::test]
async fn genesis_and_identity_tasks_write_verifiable_files() {
    let s = Sidecar::start(RPC_NOWHERE).await;
    assert_eq!(s.run("configure-genesis", Value::Null).await["status"], "completed");
    let genesis = std::fs::read(s.home.join("config/genesis.json")).unwrap();
    let digest: String = sha2::Sha256::digest(&genesis).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, "d7ce8349b9e26573951c8c19afe018ee721cddcedb2d5a8df6f712ecbccc3428");
    assert!(s.home.join(".sei-sidecar-genesis-done").exists());

    let t = s.run("generate-identity", json!({"chainId": "pacific-1", "moniker": ""})).await;
    assert!(t["error"].as_str().unwrap().contains("moniker are required"));
    assert_eq!(
        s.run("generate-identity", json!({"chainId": "pacific-1", "moniker": "node-0"})).await["status"],
        "completed"
    );
    let node_key: Value = serde_json::from_slice(&std::fs::read(s.home.join("config/node_key.json")).unwrap()).unwrap();
    let id: Value = s.http.get(s.url("/v0/node-id")).send().await.unwrap().json().await.unwrap();
    assert_eq!(id["nodeId"], node_key["id"]);
    assert_eq!(id["nodeId"].as_str().unwrap().len(), 40);
    let pv_path = s.home.join("config/priv_validator_key.json");
    let pv: Value = serde_json::from_slice(&std::fs::read(&pv_path).unwrap()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&pv_path).unwrap().permissions().mode() & 0o777, 0o600, "keys are private");
    assert_eq!(pv["pub_key"]["type"], "tendermint/PubKeyEd25519");
    assert_eq!(pv["address"].as_str().unwrap().len(), 40);
    let state: Value =
        serde_json::from_slice(&std::fs::read(s.home.join("data/priv_validator_state.json")).unwrap()).unwrap();
    assert_eq!(state, json!({"height": "0", "round": 0, "step": 0}));
    let config = std::fs::read_to_string(s.home.join("config/config.toml")).unwrap();
    assert!(config.contains("moniker = \"node-0\"") && config.contains("chain-id = \"pacific-1\""));

    // A damaged key is an error, never silently replaced by a new identity.
    let good = std::fs::read(&pv_path).unwrap();
    let mut damaged = good.clone();
    damaged.push(0xff);
    std::fs::write(&pv_path, &damaged).unwrap();
    std::fs::remove_file(s.home.join(".sei-sidecar-identity-done")).unwrap();
    let t = s.run("generate-identity", json!({"chainId": "pacific-1", "moniker": "node-0"})).await;
    assert!(t["error"].as_str().unwrap().contains("priv_validator_key.json"), "{t}");
    assert_eq!(std::fs::read(&pv_path).unwrap(), damaged);

    // A genesis of the wrong shape fails the gentx task with a reason (no stuck task).
    std::fs::write(&pv_path, &good).unwrap();
    std::fs::write(s.home.join("config/genesis.json"), r#"{"chain_id":"pacific-1","app_state":"x"}"#).unwrap();
    let t = s
        .run("generate-gentx", json!({"chainId": "pacific-1", "stakingAmount": "10usei", "accountBalance": "100usei"}))
        .await;
    assert!(t["error"].as_str().unwrap().contains("app_state has the wrong type"), "{t}");
}

#[tokio::test]
async fn await_condition_validates_and_waits_for_the_height() {
    let sim = SeidSimulator::start("0000000000000000000000000000000000000001").await.unwrap();
    sim.set_height(10);
    let s = Sidecar::start(&sim.url()).await;
    // Unknown conditions and actions are refused at submission (the reference found an
    // unknown action only once the height was reached).
    for (params, message) in [
        (json!({"condition": "time", "targetHeight": 5}), "unknown variant `time`, expected `height`"),
        (json!({"condition": "height"}), "missing field `targetHeight`"),
        (json!({"condition": "height", "targetHeight": 5, "action": "REBOOT"}), "unknown variant `REBOOT`"),
    ] {
        let (code, body) = s.submit(json!({"type": "await-condition", "params": params})).await;
        assert_eq!(code, 400, "{params}");
        assert!(body["error"].as_str().unwrap().contains(message), "{params}: {body}");
    }
    let t = s.run("await-condition", json!({"condition": "height", "targetHeight": 0})).await;
    assert!(t["error"].as_str().unwrap().contains("targetHeight must be > 0"), "{t}");
    assert_eq!(
        s.run("await-condition", json!({"condition": "height", "targetHeight": 10})).await["status"],
        "completed"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Sidecar::start(RPC_NOWHERE).await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    slow.write_all(b"GET /v0/livez HTTP/1.1\r\nHost: sidecar\r\n").await.unwrap(); // no blank line
    let start = std::time::Instant::now();
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), slow.read(&mut buf))
        .await
        .expect("the connection was still open after 20 s");
    let waited = start.elapsed();
    // Closed (or answered with an error status), after the 5 s allowance and not long after.
    let answer = String::from_utf8_lossy(&buf[..read.unwrap_or(0)]).into_owned();
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(waited >= std::time::Duration::from_secs(4), "cut off after only {waited:?}");
    assert!(waited < std::time::Duration::from_secs(10), "cut off after {waited:?}");
    // Meanwhile and afterwards, ordinary requests are served.
    let livez = s.http.get(format!("http://127.0.0.1:{}/v0/livez", s.port)).send().await.unwrap();
    assert!(livez.status().is_success());
}
