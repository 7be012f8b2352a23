//! Response bodies of the sidecar's API.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The answer to an accepted submission (201), whether the task started, started again
/// or already existed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
pub struct SubmitResponse {
    pub id: String,
}

/// Response header of an accepted submission saying what it did (an addition to the
/// reference, which answers every accepted submission alike): see [`Submission`].
pub const SUBMISSION_HEADER: &str = "sei-task-submission";

/// What an accepted submission did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submission {
    /// A new task started.
    Started,
    /// A failed task started again (`run` + 1, with the new parameters).
    Rerun,
    /// The ID was running or completed: nothing happened.
    Deduplicated,
}

impl Submission {
    /// The value of [`SUBMISSION_HEADER`].
    pub const fn as_str(self) -> &'static str {
        match self {
            Submission::Started => "started",
            Submission::Rerun => "rerun",
            Submission::Deduplicated => "deduplicated",
        }
    }
}

/// Lifecycle of a task.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Running,
    Completed,
    Failed,
}

impl TaskStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }

    pub const fn is_terminal(self) -> bool {
        !matches!(self, TaskStatus::Running)
    }
}

fn params_absent(p: &Option<Value>) -> bool {
    match p {
        None | Some(Value::Null) => true,
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

fn first_run() -> i64 {
    1
}

/// A task as `GET /v0/tasks[/{id}]` shows it. Unknown keys are ignored on reading, so a
/// newer sidecar may add some.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub id: String,
    /// The task type. A string, not a [`crate::TaskType`]: a store may hold records of
    /// types another version ran.
    #[serde(rename = "type")]
    pub task_type: String,
    pub status: TaskStatus,
    /// Execution attempt, from 1; a resubmitted failed task runs again with run + 1.
    #[serde(default = "first_run")]
    pub run: i64,
    /// Parameters of the current run; left out when absent or empty.
    #[serde(default, skip_serializing_if = "params_absent")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    /// Why it failed: `<task>: <operation>: <message>[ [hint: <hint>]]`; left out when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// RFC 3339 with nanoseconds, UTC: when the current run was submitted.
    pub submitted_at: String,
    /// RFC 3339, UTC; only once the run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl TaskResult {
    /// The failure message of a failed task (the reference's fallback when it has none).
    pub fn failure(&self) -> Option<String> {
        (self.status == TaskStatus::Failed).then(|| {
            if self.error.is_empty() {
                format!("task {} failed with unknown error", self.id)
            } else {
                self.error.clone()
            }
        })
    }
}

/// Every error answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
pub struct ErrorResponse {
    pub error: String,
}

impl ErrorResponse {
    pub fn new(error: impl Into<String>) -> Self {
        ErrorResponse { error: error.into() }
    }
}

/// The node's lifecycle as the sidecar sees it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum NodeStatus {
    /// `mark-ready` has not completed yet.
    Initializing,
    /// `mark-ready` has completed.
    Ready,
}

/// `GET /v0/status`. The reference answers `status` alone; the other two fields are
/// additions (omitted when seid's RPC does not answer), so that a caller can tell a node
/// that is ready from one that has also caught up with its chain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    pub status: NodeStatus,
    /// seid's `sync_info.catching_up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catching_up: Option<bool>,
    /// seid's `sync_info.latest_block_height`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_block_height: Option<i64>,
}

/// `GET /v0/node-id`: the node's CometBFT ID (40 hex digits).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeIdResponse {
    pub node_id: String,
}
