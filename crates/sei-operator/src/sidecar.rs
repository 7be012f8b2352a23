//! The operator's client of a node's sidecar (`/v0` API, bearer token).

use serde_json::{Value, json};

use crate::reach::{Cause, PROBE_TIMEOUT, SidecarHttp};

/// A failed call: `rejected` when the sidecar refused the request itself (HTTP 400), which
/// retrying cannot fix; otherwise `cause` says why it could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sidecar {url}: {message}")]
pub struct SidecarError {
    pub url: String,
    pub message: String,
    pub rejected: bool,
    pub cause: Cause,
}

/// A task as the sidecar reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteTask {
    Running,
    Completed,
    Failed(String),
    NotFound,
}

#[derive(Clone)]
pub struct SidecarClient {
    http: SidecarHttp,
    base: String,
    token: Option<String>,
}

impl SidecarClient {
    pub fn new(http: SidecarHttp, base: String, token: Option<String>) -> Self {
        SidecarClient { http, base: base.trim_end_matches('/').to_string(), token }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn err(&self, message: impl Into<String>, rejected: bool) -> SidecarError {
        SidecarError { url: self.base.clone(), message: message.into(), rejected, cause: Cause::Http }
    }

    fn unreachable(&self, e: reqwest::Error) -> SidecarError {
        let cause = Cause::of(&e);
        SidecarError { url: self.base.clone(), message: format!("{}: {e}", cause.describe()), rejected: false, cause }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Submits a task under `id`. Resubmitting an ID is idempotent on the sidecar.
    pub async fn submit(&self, id: &str, task_type: &str, params: Option<Value>) -> Result<(), SidecarError> {
        let mut body = json!({"id": id, "type": task_type});
        if let Some(p) = params {
            body["params"] = p;
        }
        let _permit = self.http.permit().await;
        let resp = self
            .request(reqwest::Method::POST, "/v0/tasks")
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match status.as_u16() {
            201 | 202 if answer["id"].as_str().is_some_and(|s| !s.is_empty()) => Ok(()),
            400 => Err(self.err(format!("rejected {task_type}: {}", answer["error"].as_str().unwrap_or(&text)), true)),
            code => Err(self.err(
                format!("submitting {task_type}: HTTP {code}: {}", text.chars().take(300).collect::<String>()),
                false,
            )),
        }
    }

    pub async fn task(&self, id: &str) -> Result<RemoteTask, SidecarError> {
        let _permit = self.http.permit().await;
        let resp = self
            .request(reqwest::Method::GET, &format!("/v0/tasks/{id}"))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            404 => Ok(RemoteTask::NotFound),
            200 => {
                let t: Value = resp.json().await.map_err(|e| self.unreachable(e))?;
                Ok(match t["status"].as_str() {
                    Some("completed") => RemoteTask::Completed,
                    Some("failed") => RemoteTask::Failed(
                        t["error"]
                            .as_str()
                            .filter(|e| !e.is_empty())
                            .map(String::from)
                            .unwrap_or_else(|| format!("task {id} failed with unknown error")),
                    ),
                    _ => RemoteTask::Running,
                })
            }
            code => Err(self.err(format!("task {id}: HTTP {code}"), false)),
        }
    }

    /// `Ok(true)` ready, `Ok(false)` not ready (503), `Err` unreachable or unexpected.
    pub async fn healthz(&self) -> Result<bool, SidecarError> {
        let _permit = self.http.permit().await;
        let resp = self
            .http
            .client
            .get(format!("{}/v0/healthz", self.base))
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            200 => Ok(true),
            503 => Ok(false),
            code => Err(self.err(format!("healthz: HTTP {code}"), false)),
        }
    }
}
