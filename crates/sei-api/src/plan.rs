//! The task plan stored in `.status.plan` of both kinds.
//!
//! Its JSON shape is the reference's, so a plan written by either implementation can be
//! resumed by the other.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::common::NodePhase;

/// An ordered list of tasks, persisted before any of them runs.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskPlan {
    /// Random identifier of this plan (a UUID).
    pub id: Option<String>,
    /// Whether the plan is still being executed.
    pub phase: PlanPhase,
    /// The tasks, executed in order.
    pub tasks: Vec<PlannedTask>,
    /// Phase given to the SeiNode when the plan completes (ignored for deployments).
    pub target_phase: Option<NodePhase>,
    /// Phase given to the SeiNode when the plan fails (ignored for deployments).
    pub failed_phase: Option<NodePhase>,
    /// Index in `tasks` of the task that failed the plan.
    #[serde(default)]
    #[schemars(schema_with = "plain_integer")]
    pub failed_task_index: Option<i64>,
    /// The failed task, copied for quick inspection.
    pub failed_task_detail: Option<FailedTaskInfo>,
}

/// Execution state of a plan.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanPhase {
    Active,
    Complete,
    Failed,
}

/// One step of a plan.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlannedTask {
    /// Task type name, e.g. `apply-statefulset` or `config-patch`.
    #[serde(rename = "type")]
    pub task_type: String,
    /// Deterministic identifier (UUIDv5), also used as the sidecar task ID.
    pub id: String,
    /// Pending until the task completes; a submitted, unfinished task stays Pending.
    pub status: TaskStatus,
    /// Self-contained task parameters.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::preserve_unknown")]
    pub params: Option<serde_json::Value>,
    /// When the task was first submitted or executed.
    pub submitted_at: Option<Time>,
    /// Why the task failed.
    pub error: Option<String>,
    /// Retries allowed after a failure; 0 makes failures terminal.
    #[serde(default)]
    #[schemars(schema_with = "plain_integer")]
    pub max_retries: Option<i64>,
    /// Retries used so far.
    #[serde(default)]
    #[schemars(schema_with = "plain_integer")]
    pub retry_count: Option<i64>,
}

/// Execution state of a task. There is deliberately no "Running" value.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Pending,
    Complete,
    Failed,
}

/// Summary of the task that failed a plan.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailedTaskInfo {
    /// Task type name.
    #[serde(rename = "type")]
    pub task_type: String,
    /// Task ID.
    pub id: String,
    /// Failure message.
    pub error: String,
    /// Retries used.
    #[schemars(schema_with = "plain_integer")]
    pub retry_count: i64,
    /// Retries allowed.
    #[schemars(schema_with = "plain_integer")]
    pub max_retries: i64,
}

/// An integer without a declared width, as the reference's Go `int` fields are published.
fn plain_integer(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer" })
}
