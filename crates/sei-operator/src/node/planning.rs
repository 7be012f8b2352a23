//! Stage 3, plan: the status this reconcile aims for. A finished plan is retired (its
//! outcome recorded in conditions and metrics), and a node without an active plan gets a
//! new one if it needs one. No side effect: a new plan is only persisted by this reconcile
//! and executed by the next.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sei_api::common::NodePhase;
use sei_api::plan::{PlanPhase, TaskPlan};
use sei_api::{SeiNode, SeiNodeStatus};
use sei_planner::plan::{PlanError, build_init_plan, build_running_plan, task};
use sei_planner::status::{condition, remove_condition, set_condition};

use super::observe::Seen;

/// The condition saying whether a running node's seid has caught up with its chain
/// (from the sidecar's `/v0/status`).
pub const CAUGHT_UP: &str = "CaughtUp";

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
    /// A failed node is planned again on request.
    pub retry: bool,
    /// A sidecar call of this reconcile was not made (too many in flight).
    pub throttled: bool,
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
pub fn plan(node: &SeiNode, seen: Seen, now: Time, retry: bool) -> Work {
    let original = node.status.clone().unwrap_or_default();
    let mut work = Work {
        status: original.clone(),
        original,
        now,
        sidecar_url: seen.sidecar_url,
        had_active: false,
        blocked: false,
        retry,
        throttled: false,
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
    if let Some(catching_up) = seen.catching_up {
        let (s, reason, message) = match catching_up {
            false => ("True", CAUGHT_UP, "seid reports it is at the chain's tip"),
            true => ("False", "CatchingUp", "seid is catching up with the chain"),
        };
        let now = work.now.clone();
        set_condition(work.conditions(), CAUGHT_UP, s, reason, message, generation, &now);
    }

    work.had_active = work.status.plan.as_ref().is_some_and(|p| p.phase == PlanPhase::Active);
    if work.had_active {
        return work;
    }
    if let Some(done) = work.status.plan.take() {
        retire(node, &mut work, &done);
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

/// Records the outcome of a finished plan that is being cleared (its duration was recorded
/// when it ended).
fn retire(node: &SeiNode, work: &mut Work, done: &TaskPlan) {
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

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;
    use serde_json::json;

    use super::*;

    fn node(status: serde_json::Value) -> SeiNode {
        serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
            "metadata": {"name": "n", "namespace": "ns", "generation": 2},
            "spec": {"chainId": "pacific-1", "image": "sei:v2", "fullNode": {}},
            "status": status
        }))
        .unwrap()
    }

    fn seen() -> Seen {
        Seen { peers: vec![], sidecar_url: "http://n".into(), health: None, catching_up: None }
    }

    fn now() -> Time {
        Time(Timestamp::from_second(1_800_000_000).unwrap())
    }

    fn condition<'a>(
        work: &'a Work,
        type_: &str,
    ) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
        work.status.conditions.as_deref().and_then(|c| sei_planner::status::condition(c, type_))
    }

    #[test]
    fn a_retried_failed_node_gets_a_fresh_init_plan_in_place_of_the_failed_one() {
        let failed = node(json!({
            "phase": "Failed",
            "conditions": [{"type": "Failed", "status": "True", "reason": "PlanFailed", "message": "m",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            "plan": {"id": "old", "phase": "Failed", "failedPhase": "Failed", "failedTaskIndex": 0,
                     "failedTaskDetail": {"type": "ensure-data-pvc", "id": "t", "error": "e", "retryCount": 0, "maxRetries": 0},
                     "tasks": [{"type": "ensure-data-pvc", "id": "t", "status": "Failed", "error": "e"}]}
        }));
        let work = plan(&failed, seen(), now(), true);
        let new = work.status.plan.as_ref().unwrap();
        assert_ne!(new.id.as_deref(), Some("old"));
        assert_eq!(new.phase, PlanPhase::Active);
        assert_eq!((new.failed_task_index, new.failed_task_detail.as_ref()), (None, None));
        assert_eq!(work.status.phase, Some(NodePhase::Initializing));
        assert!(condition(&work, "Failed").is_none());
        assert!(work.new_plan() && work.retry);
        // Without the request, the same node is not touched by planning (the guard stops
        // it before), but a plan built here would not be the failed one either.
        let again = plan(&failed, seen(), now(), false);
        assert_eq!(again.status.phase, Some(NodePhase::Failed));
    }

    #[test]
    fn a_running_node_says_whether_seid_has_caught_up() {
        let running = node(json!({"phase": "Running", "currentImage": "sei:v2"}));
        let mut s = seen();
        s.health = Some(Ok(true));
        s.catching_up = Some(true);
        let work = plan(&running, s, now(), false);
        assert_eq!(
            condition(&work, CAUGHT_UP).map(|c| (c.status.as_str(), c.reason.as_str())),
            Some(("False", "CatchingUp"))
        );
        let mut s = seen();
        s.health = Some(Ok(true));
        s.catching_up = Some(false);
        let work = plan(&running, s, now(), false);
        assert_eq!(condition(&work, CAUGHT_UP).unwrap().status, "True");
        // No answer: nothing claimed.
        assert!(condition(&plan(&running, seen(), now(), false), CAUGHT_UP).is_none());
    }

    #[test]
    fn a_running_node_with_a_new_image_gets_an_update_plan_and_says_so() {
        let running = node(json!({"phase": "Running", "currentImage": "sei:v1"}));
        let mut s = seen();
        s.health = Some(Ok(true));
        let work = plan(&running, s, now(), false);
        let types = sei_planner::plan::task_types(work.status.plan.as_ref().unwrap());
        assert_eq!(types, ["apply-statefulset", "apply-service", "observe-image", "mark-ready"]);
        let c = condition(&work, "NodeUpdateInProgress").unwrap();
        assert_eq!(
            (c.status.as_str(), c.message.as_str()),
            ("True", "image drift detected: spec=sei:v2 current=sei:v1")
        );
        assert_eq!(condition(&work, "SidecarReady").unwrap().status, "True");
        assert_eq!(c.observed_generation, Some(2));
    }

    #[test]
    fn an_active_plan_is_kept_and_nothing_is_planned() {
        let busy = node(json!({"phase": "Initializing", "plan": {"id": "p", "phase": "Active", "tasks": []}}));
        let work = plan(&busy, seen(), now(), false);
        assert!(work.had_active && !work.new_plan());
        assert_eq!(work.status, work.original);
    }
}
