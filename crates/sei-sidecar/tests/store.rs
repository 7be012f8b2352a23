//! The task store under stress: liveness while the store's writer is held, liveness when
//! the store is gone, and records left by another version that this one cannot run.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

fn settings(home: &std::path::Path) -> sei_sidecar::Settings {
    let get = |k: &str| match k {
        "SEI_CHAIN_ID" => Some("pacific-1".into()),
        "SEI_GENESIS_BUCKET" | "SEI_SNAPSHOT_BUCKET" => Some("b".into()),
        "SEI_GENESIS_REGION" | "SEI_SNAPSHOT_REGION" => Some("r".into()),
        "SEI_NODE_RPC" => Some("http://127.0.0.1:9".into()),
        _ => None,
    };
    sei_sidecar::Settings::from_env(get, Some(home.to_path_buf()), Some(0), true).unwrap()
}

async fn call(router: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Value) {
    call(router, Request::get(path).body(Body::empty()).unwrap()).await
}

async fn post(router: axum::Router, body: Value) -> (StatusCode, Value) {
    let req = Request::post("/v0/tasks").body(Body::from(body.to_string())).unwrap();
    call(&router, req).await
}

// A single-threaded runtime: if a store call blocked the runtime's thread, nothing else
// (the liveness probe included) could run until it returned.
#[tokio::test(flavor = "current_thread")]
async fn livez_answers_while_the_writer_is_held_and_503_when_the_store_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("sei");
    let (_engine, router) = sei_sidecar::build(settings(&home), Default::default()).await.unwrap();
    assert_eq!(get(&router, "/v0/livez").await.0, StatusCode::OK);

    // Another connection holds the database's write lock: the sidecar's next write waits
    // in SQLite's busy handler (up to 5 s) while holding the store.
    let blocker = rusqlite::Connection::open(home.join("sidecar.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let submission = tokio::spawn(post(router.clone(), json!({"type": "mark-ready"})));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!submission.is_finished(), "the submission should be waiting for the write lock");
    let (code, body) = get(&router, "/v0/livez").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(!submission.is_finished(), "livez answered only after the writer gave up");
    blocker.execute_batch("COMMIT").unwrap();
    let (code, body) = submission.await.unwrap();
    assert_eq!(code, StatusCode::CREATED, "{body}");

    // The volume is gone: the probe cannot open the database.
    std::fs::remove_dir_all(&home).unwrap();
    let (code, body) = get(&router, "/v0/livez").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"].as_str().unwrap().starts_with("task store: "), "{body}");
}

#[tokio::test]
async fn running_records_another_version_left_fail_at_resume_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("sei");
    // A first start creates the store.
    drop(sei_sidecar::build(settings(&home), Default::default()).await.unwrap());
    let conn = rusqlite::Connection::open(home.join("sidecar.db")).unwrap();
    for (id, task_type, params) in [
        ("11111111-0000-4000-8000-000000000001", "snapshot-restore", r#"{"targetHeigth":100}"#),
        ("11111111-0000-4000-8000-000000000002", "generate-identity", "null"),
        ("11111111-0000-4000-8000-000000000003", "frobnicate", "null"),
        ("11111111-0000-4000-8000-000000000004", "mark-ready", "null"),
        ("11111111-0000-4000-8000-000000000005", "config-validate", "not json"),
    ] {
        conn.execute(
            "INSERT INTO task_results (id, type, status, params, error, submitted_at, run)
             VALUES (?1, ?2, 'running', ?3, '', '2026-05-05T10:00:00.000000001Z', 1)",
            [id, task_type, params],
        )
        .unwrap();
    }
    drop(conn);

    let (_engine, router) = sei_sidecar::build(settings(&home), Default::default()).await.unwrap();
    let task = |id: &'static str| {
        let router = router.clone();
        async move { get(&router, &format!("/v0/tasks/11111111-0000-4000-8000-00000000000{id}")).await.1 }
    };
    let t = task("1").await;
    assert_eq!(t["status"], "failed", "{t}");
    let error = t["error"].as_str().unwrap();
    assert!(error.starts_with("snapshot-restore: resume: the stored params no longer decode"), "{error}");
    assert!(error.contains("unknown field `targetHeigth`"), "{error}");
    assert!(t["completedAt"].is_string(), "{t}");
    let t = task("2").await;
    assert!(t["error"].as_str().unwrap().contains("missing field `chainId`"), "{t}");
    let t = task("3").await;
    assert_eq!(
        (t["status"].as_str(), t["error"].as_str()),
        (Some("failed"), Some("no handler registered for task type"))
    );
    // A record that still decodes resumes as before (unreadable JSON reads as no params).
    for id in ["4", "5"] {
        let mut t = task(id).await;
        for _ in 0..200 {
            if t["status"] != "running" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            t = task(id).await;
        }
        assert_ne!(t["status"], "running", "{t}");
        if id == "4" {
            assert_eq!(t["status"], "completed", "{t}");
        }
    }
}
