//! The HTTP API under `/v0`, wire-compatible with the reference sidecar, plus bearer-token
//! authentication on the task endpoints.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::engine::{Engine, SubmitError, Submitted};
use crate::store::{Status, TaskRecord};

/// Largest accepted request body.
pub const MAX_BODY: usize = 1 << 20;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// A task as the API shows it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub id: String,
    #[serde(rename = "type")]
    pub task_type: String,
    pub status: String,
    pub run: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub error: String,
    pub submitted_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl From<TaskRecord> for TaskResult {
    fn from(r: TaskRecord) -> Self {
        TaskResult {
            id: r.id,
            task_type: r.task_type,
            status: r.status.as_str().into(),
            run: r.run,
            params: r.params,
            error: r.error,
            submitted_at: r.submitted_at,
            completed_at: r.completed_at,
        }
    }
}

#[derive(Deserialize)]
struct TaskRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    task_type: String,
    #[serde(default)]
    params: Option<Value>,
}

async fn livez(State(engine): State<Arc<Engine>>) -> Response {
    match engine.store().ping() {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn healthz(State(engine): State<Arc<Engine>>) -> StatusCode {
    if engine.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
}

async fn status(State(engine): State<Arc<Engine>>) -> Json<Value> {
    Json(json!({"status": if engine.is_ready() { "Ready" } else { "Initializing" }}))
}

async fn metrics(State(engine): State<Arc<Engine>>) -> Response {
    let mut resp = engine.metrics.encode().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

async fn node_id(State(engine): State<Arc<Engine>>) -> Response {
    let path = engine.settings().home.join("config/node_key.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{} not found; generate-identity may not have run yet", path.display()),
            );
        }
    };
    match crate::keys::parse_key_file(&text) {
        Ok(key) => Json(json!({"nodeId": crate::keys::node_id(&key)})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{}: {e}", path.display())),
    }
}

async fn submit(State(engine): State<Arc<Engine>>, body: Result<Json<TaskRequest>, JsonRejection>) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(JsonRejection::BytesRejection(e)) => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, e.body_text());
        }
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, format!("invalid request body: {}", e.body_text()));
        }
    };
    match engine.submit(req.id, &req.task_type, req.params) {
        Ok((id, Submitted::Started)) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Ok((id, Submitted::Rerun)) => (StatusCode::CREATED, Json(json!({"id": id, "rerun": true}))).into_response(),
        Ok((id, Submitted::Existing(status))) => {
            let body = json!({"id": id, "deduplicated": true, "status": status.as_str()});
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Err(SubmitError::Store(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("persist task: {e}")),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn list(State(engine): State<Arc<Engine>>) -> Response {
    match engine.store().list(100) {
        Ok(records) => Json(records.into_iter().map(TaskResult::from).collect::<Vec<_>>()).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn get_task(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Response {
    match engine.store().get(&id) {
        Ok(Some(r)) => Json(TaskResult::from(r)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "task not found"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn delete_task(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Response {
    match engine.delete(&id) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "task not found"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Requires `Authorization: Bearer <token>` when a token is configured.
async fn authenticate(State(engine): State<Arc<Engine>>, req: Request, next: Next) -> Response {
    let Some(expected) = engine.settings().token.as_deref() else {
        return next.run(req).await;
    };
    let given =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())));
    if ok {
        return next.run(req).await;
    }
    let message = if given.is_none() { "missing bearer token" } else { "invalid bearer token" };
    let mut resp = error(StatusCode::UNAUTHORIZED, message);
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

pub fn router(engine: Arc<Engine>) -> Router {
    let tasks = Router::new()
        .route("/v0/tasks", get(list).post(submit))
        .route("/v0/tasks/{id}", get(get_task).delete(delete_task))
        .route_layer(middleware::from_fn_with_state(engine.clone(), authenticate));
    Router::new()
        .route("/v0/livez", get(livez))
        .route("/v0/healthz", get(healthz))
        .route("/v0/status", get(status))
        .route("/v0/metrics", get(metrics))
        .route("/v0/node-id", get(node_id))
        .merge(tasks)
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(engine)
}

impl Status {
    pub fn is_terminal(self) -> bool {
        self != Status::Running
    }
}
