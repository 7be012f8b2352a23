//! The operator's client of a node's sidecar (`/v0` API, bearer token), speaking the
//! contract's types (`sei-tasks`).

use sei_tasks::{ErrorResponse, SubmitResponse, TaskRequest, TaskResult};

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

    fn err(&self, message: impl Into<String>, rejected: bool) -> SidecarError {
        SidecarError { url: self.base.clone(), message: message.into(), rejected, cause: Cause::Http }
    }

    fn unreachable(&self, e: reqwest::Error) -> SidecarError {
        let cause = Cause::of(&e);
        SidecarError { url: self.base.clone(), message: format!("{}: {e}", cause.describe()), rejected: false, cause }
    }

    /// A place among the calls in flight, or a [`Cause::Throttled`] error: the call is
    /// not made.
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, SidecarError> {
        self.http.permit().await.ok_or_else(|| SidecarError {
            url: self.base.clone(),
            message: Cause::Throttled.describe().to_string(),
            rejected: false,
            cause: Cause::Throttled,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Submits a task. Resubmitting an ID is idempotent on the sidecar.
    pub async fn submit(&self, request: &TaskRequest) -> Result<(), SidecarError> {
        let task_type = request.task_type();
        let _permit = self.permit().await?;
        let resp = self
            .request(reqwest::Method::POST, "/v0/tasks")
            .json(request)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match status.as_u16() {
            // 202 is what the reference's API description promised; accepted alike.
            201 | 202 => match serde_json::from_str::<SubmitResponse>(&text) {
                Ok(answer) if !answer.id.is_empty() => Ok(()),
                _ => Err(self.err(format!("submitting {task_type}: HTTP {status} without a task ID: {text}"), false)),
            },
            400 => {
                let message = serde_json::from_str::<ErrorResponse>(&text).map(|e| e.error).unwrap_or(text);
                Err(self.err(format!("rejected {task_type}: {message}"), true))
            }
            code => Err(self.err(
                format!("submitting {task_type}: HTTP {code}: {}", text.chars().take(300).collect::<String>()),
                false,
            )),
        }
    }

    /// The task `id`, or `None` when the sidecar does not know it (404).
    pub async fn task(&self, id: &str) -> Result<Option<TaskResult>, SidecarError> {
        let _permit = self.permit().await?;
        let resp = self
            .request(reqwest::Method::GET, &format!("/v0/tasks/{id}"))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            404 => Ok(None),
            200 => resp.json().await.map(Some).map_err(|e| self.unreachable(e)),
            code => Err(self.err(format!("task {id}: HTTP {code}"), false)),
        }
    }

    /// `GET /v0/status`: readiness and, when seid answers, its sync state.
    pub async fn status(&self) -> Result<sei_tasks::StatusResponse, SidecarError> {
        let _permit = self.permit().await?;
        let resp = self.request(reqwest::Method::GET, "/v0/status").send().await.map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            200 => resp.json().await.map_err(|e| self.unreachable(e)),
            code => Err(self.err(format!("status: HTTP {code}"), false)),
        }
    }

    /// The node's CometBFT ID (`GET /v0/node-id`); an empty ID is an error.
    pub async fn node_id(&self) -> Result<String, SidecarError> {
        let _permit = self.permit().await?;
        let resp = self.request(reqwest::Method::GET, "/v0/node-id").send().await.map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            200 => {
                let body: sei_tasks::NodeIdResponse = resp.json().await.map_err(|e| self.unreachable(e))?;
                if body.node_id.is_empty() {
                    return Err(self.err("node-id: the sidecar answered an empty ID", false));
                }
                Ok(body.node_id)
            }
            code => Err(self.err(format!("node-id: HTTP {code}"), false)),
        }
    }

    /// `Ok(true)` ready, `Ok(false)` not ready (503), `Err` unreachable or unexpected.
    pub async fn healthz(&self) -> Result<bool, SidecarError> {
        let _permit = self.permit().await?;
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
