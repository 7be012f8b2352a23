//! The HTTP API under `/v0`, wire-compatible with the reference sidecar, plus bearer-token
//! authentication on the task endpoints.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
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
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub id: String,
    #[serde(rename = "type")]
    pub task_type: String,
    /// `running`, `completed` or `failed`.
    pub status: String,
    /// Execution attempt, from 1; a resubmitted failed task runs again with run + 1.
    pub run: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
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

/// A task submission.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TaskRequest {
    /// Caller-chosen UUID; a random one when absent. Resubmitting an ID is idempotent.
    #[serde(default)]
    id: Option<String>,
    /// Task type, e.g. `config-apply`.
    #[serde(default, rename = "type")]
    task_type: String,
    /// Task parameters (an object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    params: Option<Value>,
}

/// An error: every failure answers with one.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: String,
}

/// The answer to a submission.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmitResponse {
    pub id: String,
    /// Present (true) when a failed task was started again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun: Option<bool>,
    /// Present (true) when the ID existed and nothing was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deduplicated: Option<bool>,
    /// With `deduplicated`: the existing task's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Lifecycle of the node as the sidecar sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusResponse {
    /// `Initializing` until `mark-ready` completes, then `Ready` (kept across restarts).
    pub status: String,
}

/// The node's CometBFT ID.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeIdResponse {
    pub node_id: String,
}

#[utoipa::path(get, path = "/v0/livez", tag = "health",
    responses((status = 200, description = "The task store answers"), (status = 503, body = ErrorResponse)))]
async fn livez(State(engine): State<Arc<Engine>>) -> Response {
    match engine.store().ping() {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[utoipa::path(get, path = "/v0/healthz", tag = "health",
    responses((status = 200, description = "mark-ready has completed"), (status = 503, description = "Not ready yet")))]
async fn healthz(State(engine): State<Arc<Engine>>) -> StatusCode {
    if engine.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
}

#[utoipa::path(get, path = "/v0/status", tag = "health", responses((status = 200, body = StatusResponse)))]
async fn status(State(engine): State<Arc<Engine>>) -> Json<StatusResponse> {
    Json(StatusResponse { status: if engine.is_ready() { "Ready" } else { "Initializing" }.into() })
}

#[utoipa::path(get, path = "/v0/metrics", tag = "health",
    responses((status = 200, description = "Prometheus/OpenMetrics text", content_type = "application/openmetrics-text")))]
async fn metrics(State(engine): State<Arc<Engine>>) -> Response {
    let mut resp = engine.metrics.encode().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

#[utoipa::path(get, path = "/v0/node-id", tag = "health",
    responses((status = 200, body = NodeIdResponse), (status = 500, body = ErrorResponse)))]
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
        Ok(key) => Json(NodeIdResponse { node_id: crate::keys::node_id(&key) }).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{}: {e}", path.display())),
    }
}

#[utoipa::path(post, path = "/v0/tasks", tag = "tasks", request_body = TaskRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "Started (or a failed task started again)", body = SubmitResponse),
        (status = 202, description = "The ID exists: nothing started", body = SubmitResponse),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 413, body = ErrorResponse), (status = 500, body = ErrorResponse)))]
async fn submit(State(engine): State<Arc<Engine>>, body: Result<axum::body::Bytes, BytesRejection>) -> Response {
    // Any content type is accepted (the reference's clients do not all send one).
    let body = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::PAYLOAD_TOO_LARGE, e.body_text()),
    };
    let req: TaskRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid request body: {e}")),
    };
    match engine.submit(req.id, &req.task_type, req.params) {
        Ok((id, outcome)) => {
            let mut body = SubmitResponse { id, rerun: None, deduplicated: None, status: None };
            let code = match outcome {
                Submitted::Started => StatusCode::CREATED,
                Submitted::Rerun => {
                    body.rerun = Some(true);
                    StatusCode::CREATED
                }
                Submitted::Existing(status) => {
                    body.deduplicated = Some(true);
                    body.status = Some(status.as_str().into());
                    StatusCode::ACCEPTED
                }
            };
            (code, Json(body)).into_response()
        }
        Err(SubmitError::Store(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("persist task: {e}")),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[utoipa::path(get, path = "/v0/tasks", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, description = "The 100 newest tasks", body = [TaskResult]), (status = 401, body = ErrorResponse)))]
async fn list(State(engine): State<Arc<Engine>>) -> Response {
    match engine.store().list(100) {
        Ok(records) => Json(records.into_iter().map(TaskResult::from).collect::<Vec<_>>()).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[utoipa::path(get, path = "/v0/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Task ID")),
    responses((status = 200, body = TaskResult), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
async fn get_task(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Response {
    match engine.store().get(&id) {
        Ok(Some(r)) => Json(TaskResult::from(r)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "task not found"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[utoipa::path(delete, path = "/v0/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Task ID")),
    responses((status = 204, description = "Deleted; a running task is cancelled first"),
        (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
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
        // No request holds a connection for long: every handler answers at once.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(30),
        ))
        .with_state(engine)
}

impl Status {
    pub fn is_terminal(self) -> bool {
        self != Status::Running
    }
}

/// The API description, generated from the handlers above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Sei node sidecar", version = "0.7.0",
        description = "Task API of the sidecar beside each seid. Task endpoints need `Authorization: Bearer <token>`."),
    paths(livez, healthz, status, metrics, node_id, submit, list, get_task, delete_task),
    components(schemas(TaskRequest, TaskResult, ErrorResponse, SubmitResponse, StatusResponse, NodeIdResponse)),
    modifiers(&BearerAuth),
    servers((url = "http://localhost:7777"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as committed in `docs/sidecar-openapi.json`.
pub fn openapi_json() -> String {
    use utoipa::OpenApi;
    ApiDoc::openapi().to_pretty_json().expect("the document serialises") + "\n"
}
