//! SeiNode plans: initialisation (plain, with a bootstrap Job, or a genesis ceremony) and
//! the running-phase plans (image update, mark-ready re-apply).

use kube::ResourceExt;
use sei_api::node::SnapshotSource;
use sei_api::plan::{PlanPhase, PlannedTask, TaskPlan, TaskStatus};
use sei_api::{SeiNode, common::NodePhase};
use sei_tasks::StoredTask;
use sei_tasks::stored::*;
use serde_json::{Value, json};

use super::task::*;
use super::{config_intent, task_id};
use crate::names;
use crate::resources::bootstrap::snapshot;

/// Why no plan can be built: the message says what to change. The operator reports it as
/// a condition (the reference only logged it and retried forever).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("exactly one of fullNode, archive, replayer or validator must be set")]
    NoMode,
    #[error("{0}")]
    Invalid(String),
    #[error("peers: no peer source can be used yet: {0}")]
    NoPeers(String),
}

fn invalid(msg: impl Into<String>) -> PlanError {
    PlanError::Invalid(msg.into())
}

fn check_generation(g: Option<&sei_api::node::SnapshotGenerationConfig>) -> Result<(), PlanError> {
    let Some(g) = g else { return Ok(()) };
    let t = g.tendermint.as_ref().ok_or_else(|| invalid("snapshotGeneration must set tendermint"))?;
    if t.publish.is_some() && t.keep_recent < 2 {
        return Err(invalid("snapshotGeneration.tendermint.keepRecent must be at least 2 when publish is set"));
    }
    Ok(())
}

fn check_bootstrap(s: Option<&SnapshotSource>) -> Result<(), PlanError> {
    if let Some(s) = s.filter(|s| s.bootstrap_image.as_deref().is_some_and(|i| !i.is_empty())) {
        let ok = s.s3.as_ref().is_some_and(|s3| s3.target_height > 0);
        if !ok {
            return Err(invalid("snapshot.bootstrapImage needs snapshot.s3 with targetHeight > 0"));
        }
    }
    Ok(())
}

/// The checks of each mode (§5.5), plus: the chain ID must be safe for the init script.
pub fn validate_mode(node: &SeiNode) -> Result<(), PlanError> {
    let s = &node.spec;
    if !crate::shell::shell_safe(&s.chain_id) {
        return Err(invalid(format!("chainId {:?} may only contain letters, digits, '.', '_' and '-'", s.chain_id)));
    }
    let modes = [s.full_node.is_some(), s.archive.is_some(), s.replayer.is_some(), s.validator.is_some()];
    if modes.iter().filter(|m| **m).count() != 1 {
        return Err(PlanError::NoMode);
    }
    if let Some(f) = &s.full_node {
        check_bootstrap(f.snapshot.as_ref())?;
        check_generation(f.snapshot_generation.as_ref())?;
    }
    if let Some(a) = &s.archive {
        check_generation(a.snapshot_generation.as_ref())?;
    }
    if let Some(r) = &s.replayer {
        if r.snapshot.s3.as_ref().is_none_or(|s3| s3.target_height <= 0) {
            return Err(invalid("replayer.snapshot must be s3 with targetHeight > 0"));
        }
        if s.peers.as_ref().is_none_or(Vec::is_empty) {
            return Err(invalid("a replayer needs peers"));
        }
        if r.result_export.as_ref().is_some_and(|e| e.shadow_result.is_none()) {
            return Err(invalid("replayer.resultExport must set shadowResult"));
        }
    }
    if let Some(v) = &s.validator {
        let secret = |k: Option<String>| k.filter(|n| !n.is_empty());
        let signing = secret(v.signing_key.as_ref().and_then(|k| k.secret.as_ref()).map(|x| x.secret_name.clone()));
        let node_key = secret(v.node_key.as_ref().and_then(|k| k.secret.as_ref()).map(|x| x.secret_name.clone()));
        if v.signing_key.is_some() {
            if v.genesis_ceremony.is_some() {
                return Err(invalid("a validator with a signingKey cannot also join a genesis ceremony"));
            }
            let (Some(a), Some(b)) = (&signing, &node_key) else {
                return Err(invalid("signingKey and nodeKey must both name a Secret"));
            };
            if a == b {
                return Err(invalid("signingKey and nodeKey must name different Secrets"));
            }
        } else if v.node_key.is_some() {
            return Err(invalid("nodeKey needs signingKey"));
        }
        if let Some(c) = &v.genesis_ceremony {
            if c.chain_id.is_empty() || c.staking_amount.is_empty() {
                return Err(invalid("genesisCeremony needs chainId and stakingAmount"));
            }
            return Ok(());
        }
        check_bootstrap(v.snapshot.as_ref())?;
    }
    Ok(())
}

/// Accumulates tasks with IDs derived from the plan ID and their position.
pub(crate) struct Builder {
    plan_id: String,
    tasks: Vec<PlannedTask>,
}

impl Builder {
    pub(crate) fn new(plan_id: &str) -> Self {
        Builder { plan_id: plan_id.into(), tasks: Vec::new() }
    }

    pub(crate) fn push(&mut self, task_type: &str, params: Value) -> &mut PlannedTask {
        let id = task_id(&self.plan_id, task_type, self.tasks.len());
        self.tasks.push(PlannedTask {
            task_type: task_type.into(),
            id,
            status: TaskStatus::Pending,
            params: Some(params),
            submitted_at: None,
            error: None,
            max_retries: None,
            retry_count: None,
        });
        self.tasks.last_mut().expect("just pushed")
    }

    /// A sidecar task, its params in the plan's stored form.
    pub(crate) fn sidecar(&mut self, task: StoredTask) -> &mut PlannedTask {
        self.push(task.task_type().name(), task.params())
    }

    /// A group plan: no node phases (§8.5).
    pub(crate) fn finish_group(self) -> TaskPlan {
        TaskPlan {
            id: Some(self.plan_id),
            phase: PlanPhase::Active,
            tasks: self.tasks,
            target_phase: None,
            failed_phase: None,
            failed_task_index: None,
            failed_task_detail: None,
        }
    }

    fn finish(self, target: NodePhase, failed: Option<NodePhase>) -> TaskPlan {
        TaskPlan {
            id: Some(self.plan_id),
            phase: PlanPhase::Active,
            tasks: self.tasks,
            target_phase: Some(target),
            failed_phase: failed,
            failed_task_index: None,
            failed_task_detail: None,
        }
    }
}

fn node_params(node: &SeiNode) -> Value {
    json!({"nodeName": node.name_any(), "namespace": node.namespace().unwrap_or_default()})
}

/// `discover-peers` sources from `spec.peers`. Label sources use the peers resolved into
/// status; ones that resolve to nothing are left out, and an error says why when nothing
/// usable remains (the reference submitted an empty source that failed forever).
fn peer_sources(node: &SeiNode) -> Result<Option<StoredDiscoverPeers>, PlanError> {
    let Some(peers) = node.spec.peers.as_ref().filter(|p| !p.is_empty()) else { return Ok(None) };
    let resolved = node.status.as_ref().and_then(|s| s.resolved_peers.clone()).unwrap_or_default();
    let mut sources = Vec::new();
    let mut unmatched = Vec::new();
    for p in peers {
        if let Some(e) = &p.ec2_tags {
            sources.push(StoredPeerSource::ec2_tags(e.region.clone(), e.tags.clone().into_iter().collect()));
        } else if let Some(s) = &p.r#static {
            sources.push(StoredPeerSource::static_addresses(s.addresses.clone()));
        } else if let Some(l) = &p.label {
            if resolved.is_empty() {
                let ns = l
                    .namespace
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| node.namespace().unwrap_or_default());
                unmatched.push(format!("label selector {:?} matches no other SeiNode in namespace {ns}", l.selector));
            } else {
                sources.push(StoredPeerSource::dns_endpoints(resolved.clone()));
            }
        }
    }
    if sources.is_empty() {
        return Err(PlanError::NoPeers(unmatched.join("; ")));
    }
    Ok(Some(StoredDiscoverPeers { sources }))
}

fn config_apply(node: &SeiNode) -> StoredTask {
    let (mode, overrides) = config_intent(node);
    StoredTask::ConfigApply(StoredConfigApply { mode: mode.into(), overrides, ..Default::default() })
}

/// Attempts of `configure-genesis` for a chain whose genesis is not embedded: about 30
/// minutes at the executor's 30 s backoff. A new chain's genesis appears in S3 only when
/// its ceremony completes, so its full nodes may start first and wait (the reference
/// failed them at once).
pub const GENESIS_WAIT_RETRIES: i64 = 60;

/// The sidecar progression of §5.6 steps 1-4 (`snapshot-upload` is added by callers).
fn sidecar_progression(
    b: &mut Builder,
    node: &SeiNode,
    source: Option<&SnapshotSource>,
    peers: &Option<StoredDiscoverPeers>,
) {
    if let Some(s3) = source.and_then(|s| s.s3.as_ref()) {
        b.sidecar(StoredTask::SnapshotRestore(StoredSnapshotRestore { target_height: s3.target_height }));
    }
    let genesis = b.sidecar(StoredTask::ConfigureGenesis);
    if sei_config::chains::lookup(&node.spec.chain_id).is_none() {
        genesis.max_retries = Some(GENESIS_WAIT_RETRIES);
    }
    b.sidecar(config_apply(node));
    if let Some(p) = peers {
        b.sidecar(StoredTask::DiscoverPeers(p.clone()));
    }
    if let Some(s) = source {
        b.sidecar(StoredTask::ConfigureStateSync(StoredStateSync {
            use_local_snapshot: s.s3.is_some(),
            trust_period: s.trust_period.clone().unwrap_or_default(),
            backfill_blocks: s.backfill_blocks.unwrap_or(0),
        }));
    }
    b.sidecar(StoredTask::ConfigValidate);
}

fn publishes(node: &SeiNode) -> bool {
    let s = &node.spec;
    s.full_node
        .as_ref()
        .and_then(|f| f.snapshot_generation.as_ref())
        .or_else(|| s.archive.as_ref().and_then(|a| a.snapshot_generation.as_ref()))
        .and_then(|g| g.tendermint.as_ref())
        .is_some_and(|t| t.publish.is_some())
}

fn key_validations(b: &mut Builder, node: &SeiNode) {
    let ns = node.namespace().unwrap_or_default();
    for (volume, secret, _) in crate::resources::statefulset::key_secrets(node) {
        let task = if volume == "signing-key" { VALIDATE_SIGNING_KEY } else { VALIDATE_NODE_KEY };
        b.push(task, json!({"secretName": secret, "namespace": ns}));
    }
}

/// The plan that takes a new node to `Running`.
pub fn build_init_plan(node: &SeiNode, plan_id: &str) -> Result<TaskPlan, PlanError> {
    validate_mode(node)?;
    let mut b = Builder::new(plan_id);
    let np = node_params(node);
    let name = node.name_any();
    let ns = node.namespace().unwrap_or_default();

    if let Some(c) = node.spec.validator.as_ref().and_then(|v| v.genesis_ceremony.as_ref()) {
        b.push(ENSURE_DATA_PVC, np.clone());
        b.push(APPLY_STATEFULSET, np.clone());
        b.push(APPLY_SERVICE, np.clone());
        b.sidecar(StoredTask::GenerateIdentity(StoredGenerateIdentity {
            chain_id: c.chain_id.clone(),
            moniker: name.clone(),
        }));
        b.sidecar(StoredTask::GenerateGentx(StoredGenerateGentx {
            chain_id: c.chain_id.clone(),
            staking_amount: c.staking_amount.clone(),
            account_balance: c.account_balance.clone(),
            genesis_params: c.genesis_params.clone().unwrap_or_default(),
        }));
        b.sidecar(StoredTask::UploadGenesisArtifacts(StoredUploadGenesisArtifacts { node_name: name.clone() }));
        // Fails until the group has assembled and uploaded the genesis.
        b.sidecar(StoredTask::ConfigureGenesis).max_retries = Some(180);
        b.sidecar(config_apply(node));
        b.sidecar(StoredTask::SetGenesisPeers);
        b.sidecar(StoredTask::ConfigValidate);
        b.sidecar(StoredTask::MarkReady);
        return Ok(b.finish(NodePhase::Running, Some(NodePhase::Failed)));
    }

    // Archive nodes always block-sync from genesis.
    let source = if node.spec.archive.is_some() { None } else { snapshot(node) };
    let peers = peer_sources(node)?;
    let bootstrap = source.filter(|s| {
        s.bootstrap_image.as_deref().is_some_and(|i| !i.is_empty())
            && s.s3.as_ref().is_some_and(|s3| s3.target_height > 0)
    });

    b.push(ENSURE_DATA_PVC, np.clone());
    key_validations(&mut b, node);
    if bootstrap.is_some() {
        b.push(DEPLOY_BOOTSTRAP_SERVICE, json!({"serviceName": names::service(&name), "namespace": ns}));
        b.push(DEPLOY_BOOTSTRAP_JOB, json!({"jobName": names::bootstrap_job(&name), "namespace": ns}));
        sidecar_progression(&mut b, node, source, &peers);
        b.sidecar(StoredTask::MarkReady);
        b.push(AWAIT_BOOTSTRAP_COMPLETE, json!({"jobName": names::bootstrap_job(&name), "namespace": ns}));
        b.push(
            TEARDOWN_BOOTSTRAP,
            json!({"jobName": names::bootstrap_job(&name), "serviceName": names::service(&name), "namespace": ns}),
        );
        b.push(APPLY_STATEFULSET, np.clone());
        b.push(APPLY_SERVICE, np);
        // The production pod: no snapshot tasks, the restored data is already there.
        sidecar_progression(&mut b, node, None, &peers);
    } else {
        b.push(APPLY_STATEFULSET, np.clone());
        b.push(APPLY_SERVICE, np);
        sidecar_progression(&mut b, node, source, &peers);
    }
    if publishes(node) {
        b.sidecar(StoredTask::SnapshotUpload);
    }
    b.sidecar(StoredTask::MarkReady);
    Ok(b.finish(NodePhase::Running, Some(NodePhase::Failed)))
}

/// What a running node needs, if anything: an image update when the image drifted, else
/// a fresh `mark-ready` when the sidecar lost readiness.
pub fn build_running_plan(node: &SeiNode, sidecar_not_ready: bool, plan_id: &str) -> Option<TaskPlan> {
    let current = node.status.as_ref().and_then(|s| s.current_image.as_deref()).unwrap_or("");
    let mut b = Builder::new(plan_id);
    if node.spec.image != current {
        let np = node_params(node);
        b.push(APPLY_STATEFULSET, np.clone());
        b.push(APPLY_SERVICE, np.clone());
        b.push(OBSERVE_IMAGE, np);
        b.sidecar(StoredTask::MarkReady);
        return Some(b.finish(NodePhase::Running, None));
    }
    if sidecar_not_ready {
        b.sidecar(StoredTask::MarkReady);
        return Some(b.finish(NodePhase::Running, None));
    }
    None
}

/// The types of a plan's tasks, in order (for tests and plan classification).
pub fn task_types(plan: &TaskPlan) -> Vec<&str> {
    plan.tasks.iter().map(|t| t.task_type.as_str()).collect()
}
