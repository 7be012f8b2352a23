//! Plans: which tasks a SeiNode needs next, with their IDs and self-contained parameters,
//! in the `status.plan` format of the reference (so either operator can resume the other's
//! plans).

mod ids;
mod intent;
mod node;
pub mod wire;

pub use ids::{TASK_NAMESPACE, sub_task_id, task_id};
pub use intent::config_intent;
pub use node::{PlanError, build_init_plan, build_running_plan, task_types, validate_mode};

/// Task type names.
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
    pub const SNAPSHOT_RESTORE: &str = "snapshot-restore";
    pub const CONFIGURE_GENESIS: &str = "configure-genesis";
    pub const CONFIG_APPLY: &str = "config-apply";
    pub const DISCOVER_PEERS: &str = "discover-peers";
    pub const CONFIGURE_STATE_SYNC: &str = "configure-state-sync";
    pub const CONFIG_VALIDATE: &str = "config-validate";
    pub const MARK_READY: &str = "mark-ready";
    pub const SNAPSHOT_UPLOAD: &str = "snapshot-upload";
    pub const GENERATE_IDENTITY: &str = "generate-identity";
    pub const GENERATE_GENTX: &str = "generate-gentx";
    pub const UPLOAD_GENESIS_ARTIFACTS: &str = "upload-genesis-artifacts";
    pub const SET_GENESIS_PEERS: &str = "set-genesis-peers";

    /// Sidecar tasks whose result is never polled: they complete when submitted.
    pub const FIRE_AND_FORGET: [&str; 3] = [CONFIG_VALIDATE, MARK_READY, SNAPSHOT_UPLOAD];
}
