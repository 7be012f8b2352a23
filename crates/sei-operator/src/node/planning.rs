//! Stage 3, plan: the status this reconcile aims for. A finished plan is retired (its
//! outcome recorded in conditions and metrics), and a node without an active plan gets a
//! new one if it needs one. No side effect: a new plan is only persisted by this reconcile
//! and executed by the next.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use sei_api::common::NodePhase;
use sei_api::plan::{PlanPhase, TaskPlan};
use sei_api::{SeiNode, SeiNodeStatus};
use sei_planner::plan::{PlanError, build_init_plan, build_running_plan, task};
use sei_planner::status::{condition, remove_condition, set_condition};

use super::observe::Seen;
use super::seconds_between;
use crate::context::Context;

/// What the reconcile is building, handed from stage to stage.
pub struct Work {
    /// The status as read.
    pub original: SeiNodeStatus,
    /// The status to write.
    pub status: SeiNodeStatus,
    pub now: Time,
    pub sidecar_url: String,
    /// An active plan existed before this reconcile (so it is executed now).
    pub had_active: bool,
    /// No plan could be built; the node rests and is looked at again later.
    pub blocked: bool,
}

impl Work {
    pub fn new_plan(&self) -> bool {
        !self.had_active && self.status.plan.is_some()
    }

    fn conditions(&mut self) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
        self.status.conditions.get_or_insert_with(Vec::new)
    }
}

/// `retry`: the node failed and a person asked to start it over.
pub fn plan(ctx: &Context, node: &SeiNode, seen: Seen, now: Time, retry: bool) -> Work {
    let original = node.status.clone().unwrap_or_default();
    let mut work = Work {
        status: original.clone(),
        original,
        now,
        sidecar_url: seen.sidecar_url,
        had_active: false,
        blocked: false,
    };
    let generation = node.metadata.generation;
    if retry {
        // Planned again from the start; the failed plan is retired below like any other.
        work.status.phase = None;
        if let Some(c) = work.status.conditions.as_mut() {
            remove_condition(c, super::status::FAILED);
        }
    }
    work.status.resolved_peers = (!seen.peers.is_empty()).then_some(seen.peers);

    let mut not_ready = false;
    if let Some(health) = seen.health {
        let (s, reason, message) = match health {
            Ok(true) => ("True", "Ready", "sidecar returned 200".to_string()),
            Ok(false) => ("False", "NotReady", "sidecar returned 503, re-issuing mark-ready".to_string()),
            Err(e) => ("Unknown", "Unreachable", format!("sidecar Healthz error: {}: {}", e.url, e.cause.describe())),
        };
        not_ready = s == "False";
        let now = work.now.clone();
        set_condition(work.conditions(), "SidecarReady", s, reason, &message, generation, &now);
    }

    work.had_active = work.status.plan.as_ref().is_some_and(|p| p.phase == PlanPhase::Active);
    if work.had_active {
        return work;
    }
    if let Some(done) = work.status.plan.take() {
        retire(ctx, node, &mut work, &done);
    }
    // The planner sees the peers resolved in this reconcile.
    let mut view = node.clone();
    view.status = Some(work.status.clone());
    let plan_id = uuid::Uuid::new_v4().to_string();
    let built = if work.status.phase == Some(NodePhase::Running) {
        Ok(build_running_plan(&view, not_ready, &plan_id))
    } else {
        build_init_plan(&view, &plan_id).map(Some)
    };
    let now = work.now.clone();
    match built {
        Ok(plan) => {
            remove_condition(work.conditions(), "PlanBlocked");
            let Some(plan) = plan else { return work };
            if plan.tasks.iter().any(|t| t.task_type == task::OBSERVE_IMAGE) {
                let current = work.status.current_image.clone().unwrap_or_default();
                let message = format!("image drift detected: spec={} current={current}", node.spec.image);
                set_condition(
                    work.conditions(),
                    "NodeUpdateInProgress",
                    "True",
                    "UpdateStarted",
                    &message,
                    generation,
                    &now,
                );
            }
            work.status.plan = Some(plan);
            if matches!(work.status.phase, None | Some(NodePhase::Pending)) {
                work.status.phase = Some(NodePhase::Initializing);
                work.status.phase_transition_time = Some(now);
            }
        }
        Err(e) => {
            work.blocked = true;
            let reason = match e {
                PlanError::NoPeers(_) => "PeersUnresolved",
                _ => "InvalidSpec",
            };
            set_condition(work.conditions(), "PlanBlocked", "True", reason, &e.to_string(), generation, &now);
        }
    }
    work
}

/// Records the outcome of a finished plan that is being cleared.
fn retire(ctx: &Context, node: &SeiNode, work: &mut Work, done: &TaskPlan) {
    let ns = node.namespace().unwrap_or_default();
    let started = done.tasks.first().and_then(|t| t.submitted_at.as_ref());
    ctx.metrics.plan_finished(&ns, done, started.map(|t| seconds_between(t, &work.now)));
    let updating = work
        .status
        .conditions
        .as_deref()
        .and_then(|c| condition(c, "NodeUpdateInProgress"))
        .is_some_and(|c| c.status == "True");
    if updating {
        let id = done.id.clone().unwrap_or_default();
        let (reason, message) = match done.phase {
            PlanPhase::Complete => ("UpdateComplete", format!("plan {id} completed")),
            _ => match &done.failed_task_detail {
                Some(d) => ("UpdateFailed", format!("plan {id} failed: task {}: {}", d.task_type, d.error)),
                None => ("UpdateFailed", format!("plan {id} failed: unknown")),
            },
        };
        let (now, generation) = (work.now.clone(), node.metadata.generation);
        set_condition(work.conditions(), "NodeUpdateInProgress", "False", reason, &message, generation, &now);
    }
}
