//! The sidecar under test: the built `seictl serve` in a temp home on a free port.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token-0123456789abcdef";

pub struct Sidecar {
    _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub port: u16,
    rpc: String,
    extra: Vec<(String, String)>,
    child: Child,
    pub http: reqwest::Client,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn env(home: &Path, port: u16, rpc: &str, token_file: Option<&Path>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("SEI_CHAIN_ID", "pacific-1"),
        ("SEI_GENESIS_BUCKET", "genesis"),
        ("SEI_GENESIS_REGION", "eu-central-1"),
        ("SEI_SNAPSHOT_BUCKET", "snapshots"),
        ("SEI_SNAPSHOT_REGION", "eu-central-1"),
        ("SEI_SIDECAR_BIND", "127.0.0.1"),
        ("SEI_LOG_FORMAT", "text"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    v.push(("SEI_HOME".into(), home.display().to_string()));
    v.push(("SEI_SIDECAR_PORT".into(), port.to_string()));
    v.push(("SEI_NODE_RPC".into(), rpc.to_string()));
    if let Some(f) = token_file {
        v.push(("SEI_SIDECAR_TOKEN_FILE".into(), f.display().to_string()));
    }
    v
}

impl Sidecar {
    pub async fn start(rpc: &str) -> Sidecar {
        Self::start_with(rpc, Vec::new()).await
    }

    /// With extra environment (which overrides the defaults, e.g. SEI_CHAIN_ID).
    pub async fn start_with(rpc: &str, extra: Vec<(String, String)>) -> Sidecar {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("sei");
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        let port = free_port();
        let child = Self::spawn(dir.path(), &home, port, rpc, &extra);
        // The sidecar closes connections idle for 5 s (the header-read timeout), so pooled
        // ones must idle out sooner, as the operator's do.
        let http = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(4)).build().unwrap();
        let s = Sidecar { _dir: dir, home, port, rpc: rpc.into(), extra, child, http };
        s.wait_live().await;
        s
    }

    fn spawn(dir: &Path, home: &Path, port: u16, rpc: &str, extra: &[(String, String)]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_seictl"))
            .arg("serve")
            .env_clear()
            .envs(env(home, port, rpc, Some(&dir.join("token"))))
            .envs(extra.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    pub async fn wait_live(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.http.get(self.url("/v0/livez")).send().await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("sidecar did not come up");
    }

    /// SIGKILL and start again on the same home and port.
    pub async fn crash_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let dir = self.home.parent().unwrap().to_path_buf();
        self.child = Self::spawn(&dir, &self.home, self.port, &self.rpc, &self.extra);
        self.wait_live().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn submit(&self, body: Value) -> (StatusCode, Value) {
        let r = self.http.post(self.url("/v0/tasks")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Also returns the `sei-task-submission` header (what the submission did).
    pub async fn submit_saying(&self, body: Value) -> (StatusCode, Option<String>, Value) {
        let r = self.http.post(self.url("/v0/tasks")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        let status = r.status();
        let said = r.headers().get("sei-task-submission").map(|v| v.to_str().unwrap().to_string());
        (status, said, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn task(&self, id: &str) -> (StatusCode, Value) {
        let r = self.http.get(self.url(&format!("/v0/tasks/{id}"))).bearer_auth(TOKEN).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Polls until the task leaves `running` (generous: the result-compare test walks 1,400
    /// blocks, which took over 20 s on a loaded 2-core machine, and once, in a full test
    /// run, over 90 s after its crashes; 7-8 s alone).
    pub async fn finished(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let (code, t) = self.task(id).await;
            assert_eq!(code, 200, "{id}: {t}");
            if t["status"] != "running" {
                return t;
            }
            assert!(Instant::now() < deadline, "{id} still running: {t}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn run(&self, task_type: &str, params: Value) -> Value {
        let (code, body) = self.submit(json!({"type": task_type, "params": params})).await;
        assert_eq!(code, 201, "{body}");
        self.finished(body["id"].as_str().unwrap()).await
    }

    /// Submits a task whose params the sidecar must refuse (400); the error message.
    pub async fn refused(&self, task_type: &str, params: Value) -> String {
        let (code, body) = self.submit(json!({"type": task_type, "params": params})).await;
        assert_eq!(code, 400, "{task_type} was not refused: {body}");
        body["error"].as_str().unwrap().to_string()
    }

    pub async fn status_of(&self, path: &str) -> StatusCode {
        self.http.get(self.url(path)).send().await.unwrap().status()
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
