//! The Kubernetes Events of a SeiNode (§3.5), derived from what one reconcile changed in
//! its status, so each is published once per change. (The reference re-emitted
//! `NodeFailed` on every reconcile of a failed node.)

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::{Event, EventType};
use sei_api::SeiNodeStatus;
use sei_api::common::NodePhase;
use sei_planner::status::condition;

/// The recorder folds events with the same reason and action into one series and keeps the
/// first note, so the action names what differs (e.g. the phase entered).
fn event(type_: EventType, reason: &str, action: &str, note: String) -> Event {
    Event { type_, reason: reason.into(), note: Some(note), action: action.into(), secondary: None }
}

fn condition_of<'a>(status: &'a SeiNodeStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.as_deref().and_then(|c| condition(c, type_))
}

/// The events that the change from `old` to `new` calls for.
pub fn changes(old: &SeiNodeStatus, new: &SeiNodeStatus) -> Vec<Event> {
    let mut out = Vec::new();
    if let Some(to) = new.phase
        && new.phase != old.phase
    {
        let from = old.phase.map(|p| p.as_str()).unwrap_or("");
        out.push(event(
            EventType::Normal,
            "PhaseTransition",
            &format!("Enter{}", to.as_str()),
            format!("Phase changed from {from} to {}", to.as_str()),
        ));
        if to == NodePhase::Failed {
            let detail = new.plan.as_ref().and_then(|p| p.failed_task_detail.as_ref());
            let note = match detail {
                Some(d) => format!("plan failed: task {}: {}", d.task_type, d.error),
                None => "plan failed".to_string(),
            };
            out.push(event(EventType::Warning, "NodeFailed", "FailPlan", note));
        }
    }
    let (was, is) = (condition_of(old, "SidecarReady"), condition_of(new, "SidecarReady"));
    match (was.map(|c| c.status.as_str()), is.map(|c| c.status.as_str())) {
        (prev, Some("False")) if prev != Some("False") => out.push(event(
            EventType::Warning,
            "SidecarReadinessLost",
            "ProbeSidecar",
            "sidecar Healthz returned 503; controller will re-issue mark-ready".into(),
        )),
        (Some("False"), Some("True")) => out.push(event(
            EventType::Normal,
            "SidecarReadinessRestored",
            "ProbeSidecar",
            "sidecar Healthz returned 200; mark-ready gate is open".into(),
        )),
        _ => {}
    }
    if let Some(blocked) = condition_of(new, "PlanBlocked")
        && condition_of(old, "PlanBlocked").map(|c| &c.message) != Some(&blocked.message)
    {
        out.push(event(EventType::Warning, "PlanBlocked", &blocked.reason, blocked.message.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(v: serde_json::Value) -> SeiNodeStatus {
        serde_json::from_value(v).unwrap()
    }

    fn cond(type_: &str, s: &str, message: &str) -> serde_json::Value {
        json!({"type": type_, "status": s, "reason": "R", "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    fn reasons(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.reason.as_str()).collect()
    }

    #[test]
    fn a_phase_change_is_one_event_and_failing_adds_the_cause() {
        let old = status(json!({"phase": "Initializing"}));
        let failed = status(json!({"phase": "Failed", "plan": {"phase": "Failed", "tasks": [],
            "failedTaskDetail": {"type": "config-apply", "id": "x", "error": "bad override", "retryCount": 0, "maxRetries": 0}}}));
        let events = changes(&old, &failed);
        assert_eq!(reasons(&events), ["PhaseTransition", "NodeFailed"]);
        assert_eq!(events[0].note.as_deref(), Some("Phase changed from Initializing to Failed"));
        assert_eq!(events[1].note.as_deref(), Some("plan failed: task config-apply: bad override"));
        assert!(changes(&failed, &failed).is_empty(), "a failed node reconciled again says nothing new");
    }

    #[test]
    fn sidecar_readiness_is_reported_on_loss_and_on_recovery_only() {
        let ready = status(json!({"conditions": [cond("SidecarReady", "True", "")]}));
        let lost = status(json!({"conditions": [cond("SidecarReady", "False", "")]}));
        let unknown = status(json!({"conditions": [cond("SidecarReady", "Unknown", "")]}));
        assert_eq!(reasons(&changes(&ready, &lost)), ["SidecarReadinessLost"]);
        assert!(changes(&lost, &lost).is_empty());
        assert_eq!(reasons(&changes(&lost, &ready)), ["SidecarReadinessRestored"]);
        assert!(changes(&unknown, &ready).is_empty());
        assert!(changes(&ready, &ready).is_empty());
    }

    #[test]
    fn a_blocked_plan_is_reported_when_its_reason_changes() {
        let none = status(json!({}));
        let blocked = status(json!({"conditions": [cond("PlanBlocked", "True", "no peers")]}));
        let other = status(json!({"conditions": [cond("PlanBlocked", "True", "bad spec")]}));
        assert_eq!(reasons(&changes(&none, &blocked)), ["PlanBlocked"]);
        assert!(changes(&blocked, &blocked).is_empty());
        assert_eq!(changes(&blocked, &other)[0].note.as_deref(), Some("bad spec"));
    }
}
