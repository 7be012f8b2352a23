//! Plans: which tasks a SeiNode needs next, with their IDs and self-contained parameters,
//! in the `status.plan` format of the reference (so either operator can resume the other's
//! plans).

mod group;
mod ids;
mod intent;
mod node;

pub use group::{
    ASSEMBLE_MAX_RETRIES, build_blue_green_plan, build_genesis_plan, build_hard_fork_plan, build_in_place_plan,
    entrant_names,
};
pub use ids::{TASK_NAMESPACE, sub_task_id, task_id};
pub use intent::config_intent;
pub use node::{GENESIS_WAIT_RETRIES, PlanError, build_init_plan, build_running_plan, task_types, validate_mode};

/// Names of the tasks the controller carries out itself. Sidecar tasks are
/// [`sei_tasks::TaskType`]s, stored as [`sei_tasks::StoredTask`]s.
pub mod task {
    pub const ENSURE_DATA_PVC: &str = "ensure-data-pvc";
    pub const VALIDATE_SIGNING_KEY: &str = "validate-signing-key";
    pub const VALIDATE_NODE_KEY: &str = "validate-node-key";
    pub const APPLY_STATEFULSET: &str = "apply-statefulset";
    pub const APPLY_SERVICE: &str = "apply-service";
    pub const OBSERVE_IMAGE: &str = "observe-image";
    pub const DEPLOY_BOOTSTRAP_SERVICE: &str = "deploy-bootstrap-service";
    pub const DEPLOY_BOOTSTRAP_JOB: &str = "deploy-bootstrap-job";
    pub const AWAIT_BOOTSTRAP_COMPLETE: &str = "await-bootstrap-complete";
    pub const TEARDOWN_BOOTSTRAP: &str = "teardown-bootstrap";
    // Group (SeiNodeDeployment) tasks, §6.4.
    pub const UPDATE_NODE_SPECS: &str = "update-node-specs";
    pub const AWAIT_SPEC_UPDATE: &str = "await-spec-update";
    pub const COLLECT_AND_SET_PEERS: &str = "collect-and-set-peers";
    pub const AWAIT_NODES_RUNNING: &str = "await-nodes-running";
    pub const CREATE_ENTRANT_NODES: &str = "create-entrant-nodes";
    pub const AWAIT_NODES_CAUGHT_UP: &str = "await-nodes-caught-up";
    pub const SWITCH_TRAFFIC: &str = "switch-traffic";
    pub const TEARDOWN_NODES: &str = "teardown-nodes";
    pub const SUBMIT_HALT_SIGNAL: &str = "submit-halt-signal";
    pub const AWAIT_NODES_AT_HEIGHT: &str = "await-nodes-at-height";
}
