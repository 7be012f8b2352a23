//! The HTTP API under `/v0`, wire-compatible with the reference sidecar, plus bearer-token
//! authentication on the task endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sei_tasks::{
    ErrorResponse, NodeIdResponse, NodeStatus, SUBMISSION_HEADER, StatusResponse, SubmitResponse, TaskRequest,
    TaskResult,
};
use subtle::ConstantTimeEq;

use crate::engine::{Engine, SubmitError};

/// Largest accepted request body.
pub const MAX_BODY: usize = 1 << 20;

/// Longest a liveness probe waits for the store before answering 503.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(ErrorResponse::new(message))).into_response()
}

#[utoipa::path(get, path = "/v0/livez", tag = "health",
    responses((status = 200, description = "The task store answers"), (status = 503, body = ErrorResponse)))]
async fn livez(State(engine): State<Arc<Engine>>) -> Response {
    match tokio::time::timeout(PROBE_TIMEOUT, engine.store().probe()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, format!("task store: no answer within {PROBE_TIMEOUT:?}")),
    }
}

#[utoipa::path(get, path = "/v0/healthz", tag = "health",
    responses((status = 200, description = "mark-ready has completed"), (status = 503, description = "Not ready yet")))]
async fn healthz(State(engine): State<Arc<Engine>>) -> StatusCode {
    if engine.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
}

#[utoipa::path(get, path = "/v0/status", tag = "health", responses((status = 200, body = StatusResponse)))]
async fn status(State(engine): State<Arc<Engine>>) -> Json<StatusResponse> {
    let status = if engine.is_ready() { NodeStatus::Ready } else { NodeStatus::Initializing };
    // seid's own view, if its RPC answers at once: the status must stay quick.
    let sync = engine.sync_info(std::time::Duration::from_millis(500)).await.ok();
    Json(StatusResponse {
        status,
        catching_up: sync.map(|s| s.catching_up),
        latest_block_height: sync.map(|s| s.latest_height),
    })
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
    let read = tokio::fs::read_to_string(&path).await;
    let text = match read {
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
        (status = 201, description = "Accepted: started, a failed task started again, or the ID already running or completed (nothing started)",
            body = SubmitResponse,
            headers(("sei-task-submission" = String, description = "What the submission did: `started`, `rerun` or `deduplicated`"))),
        (status = 400, description = "Not JSON, no or unknown `type`, `params` that do not fit the type (unknown key, missing required field, wrong type), or an ID that is not a UUID", body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 413, body = ErrorResponse), (status = 500, body = ErrorResponse)))]
async fn submit(State(engine): State<Arc<Engine>>, body: Result<axum::body::Bytes, BytesRejection>) -> Response {
    // Any content type is accepted (the reference's clients do not all send one).
    let body = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::PAYLOAD_TOO_LARGE, e.body_text()),
    };
    let request = match TaskRequest::from_json(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match engine.submit(request).await {
        // 201 for every accepted submission, as the reference answers; what happened is
        // in a header a strict client can ignore.
        Ok((id, outcome)) => (
            StatusCode::CREATED,
            [(HeaderName::from_static(SUBMISSION_HEADER), HeaderValue::from_static(outcome.as_str()))],
            Json(SubmitResponse { id }),
        )
            .into_response(),
        Err(SubmitError::Store(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("persist task: {e}")),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[utoipa::path(get, path = "/v0/tasks", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, description = "The 100 newest tasks", body = [TaskResult]), (status = 401, body = ErrorResponse)))]
async fn list(State(engine): State<Arc<Engine>>) -> Response {
    match engine.store().list(100).await {
        Ok(records) => Json(records.into_iter().map(TaskResult::from).collect::<Vec<_>>()).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[utoipa::path(get, path = "/v0/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Task ID")),
    responses((status = 200, body = TaskResult), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
async fn get_task(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Response {
    match engine.store().get(&id).await {
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
    match engine.delete(&id).await {
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
