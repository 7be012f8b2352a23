//! Stage 5, status: the one status write of a reconcile, its events and metrics, and what
//! the controller does next.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::PostParams;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use sei_api::common::NodePhase;
use sei_api::plan::PlanPhase;
use sei_api::{SeiNode, SeiNodeStatus};
use sei_planner::executor::{self, Requeue, Step};
use sei_planner::status::{remove_condition, set_condition};

use super::planning::Work;
use super::{api, events, seconds_between};
use crate::context::Context;
use crate::error::Error;

/// Set when the node's plan failed: why, and how to retry.
pub const FAILED: &str = "Failed";
/// Set when a reconcile keeps failing for a reason a person must fix (a missing
/// permission, a missing kind); removed by the next reconcile that gets through.
pub const RECONCILE_ERROR: &str = "ReconcileError";

/// How long a Running node without a plan waits before the next check.
pub const STEADY: Duration = Duration::from_secs(30);
/// The longest pause between polls of a sidecar that cannot be reached. Its pod starting,
/// becoming ready or restarting wakes the reconcile at once (the pod watch) and resets
/// the pause, so the poll only matters when nothing about the pod changes.
const UNREACHABLE_POLL_CAP: Duration = Duration::from_secs(60);

/// Replaces the node's whole status (PUT to `/status`) at the version it was read: a
/// concurrent change makes the write fail with a conflict, and fields this status leaves
/// out are gone (a partial patch once kept a failed plan's details in the next plan).
pub async fn write(ctx: &Context, node: &SeiNode, status: &SeiNodeStatus) -> Result<SeiNode, Error> {
    ctx.check_writing()?;
    let mut body = node.clone();
    body.status = Some(status.clone());
    // Sent as read minus the field owners, which the server keeps when they are absent.
    body.metadata.managed_fields = None;
    let written = api(ctx, node).replace_status(&node.name_any(), &PostParams::default(), &body).await?;
    ctx.own_writes.wrote(&node.resource_version().unwrap_or_default(), written.clone());
    ctx.metrics.status_written();
    Ok(written)
}

/// Writes the status if it changed, publishes what changed, and says when to come back.
pub async fn flush(ctx: &Context, node: &SeiNode, mut work: Work, step: Option<Step>) -> Result<Action, Error> {
    let ns = node.namespace().unwrap_or_default();
    let uid = node.uid().unwrap_or_default();
    // This reconcile got through: an earlier error that needed a person is gone.
    if let Some(c) = work.status.conditions.as_mut() {
        remove_condition(c, RECONCILE_ERROR);
    }
    if work.original.conditions.is_none() && work.status.conditions.as_ref().is_some_and(Vec::is_empty) {
        work.status.conditions = None;
    }
    let (original, status) = (&work.original, &work.status);
    if status != original {
        write(ctx, node, status).await?;
        let reference = node.object_ref(&());
        let mut published = events::changes(original, status);
        if work.retry {
            let failed = original.plan.as_ref().and_then(|p| p.failed_task_detail.as_ref());
            let what = failed.map(|d| format!(" (it had failed at {}: {})", d.task_type, d.error)).unwrap_or_default();
            tracing::info!(node = %node.name_any(), namespace = %ns, "retrying a failed node on request");
            published.push(Event {
                type_: EventType::Normal,
                reason: "RetryRequested".into(),
                note: Some(format!("{}: the node is initialised again{what}", super::RETRY_ANNOTATION)),
                action: "Retry".into(),
                secondary: None,
            });
        }
        for event in published {
            // Events are best effort: a lost one must not fail or repeat the reconcile.
            if let Err(e) = ctx.recorder.publish(&event, &reference).await {
                tracing::warn!(node = %node.name_any(), reason = %event.reason, error = %e, "cannot publish an event");
            }
        }
        if let Some(to) = status.phase
            && status.phase != original.phase
        {
            let spent = original.phase_transition_time.as_ref().map(|t| seconds_between(t, &work.now));
            ctx.metrics.transition(&ns, &node.spec.chain_id, original.phase, to, spent);
        }
    }
    let waiting = step.as_ref().and_then(|s| s.transient.clone());
    // A reconcile whose sidecar call was not made learnt nothing worth a log line.
    if !work.throttled {
        log_on_change(ctx, node, &uid, waiting.as_deref());
    }
    let active = status.plan.as_ref().is_some_and(|p| p.phase == PlanPhase::Active);
    ctx.metrics.observe(&ns, &node.name_any(), status.phase, active);
    let next = Next {
        new_plan: work.new_plan(),
        blocked: work.blocked,
        transitioned: step.as_ref().is_some_and(|s| s.phase.is_some()),
        idle: status.phase == Some(NodePhase::Running) && !active,
        unreachable_for: unreachable_for(ctx, node, &uid),
        requeue: step.map(|s| s.requeue),
    };
    Ok(next.action())
}

/// What a reconcile did, as far as when to come back is concerned.
struct Next {
    new_plan: bool,
    blocked: bool,
    transitioned: bool,
    /// Running without an active plan.
    idle: bool,
    /// How long the sidecar the plan waits on has been unreachable.
    unreachable_for: Option<Duration>,
    /// What the executor asked for.
    requeue: Option<Requeue>,
}

impl Next {
    fn action(&self) -> Action {
        match self.requeue {
            // A new plan is persisted now and executed by the next reconcile.
            _ if self.new_plan => Action::requeue(executor::IMMEDIATELY),
            // Peers may appear without this node changing; a spec change re-plans at once.
            _ if self.blocked => Action::requeue(STEADY),
            // A node that just reached Running is probed and its finished plan cleared at once.
            _ if self.transitioned => Action::requeue(executor::IMMEDIATELY),
            _ if self.idle => Action::requeue(STEADY),
            // A sidecar that cannot be reached is polled less often the longer it lasts; its
            // pod changing triggers a reconcile anyway.
            Some(Requeue::After(d)) => {
                let longer = self.unreachable_for.map_or(Duration::ZERO, |u| u / 2);
                Action::requeue(d.max(longer).min(UNREACHABLE_POLL_CAP.max(d)))
            }
            Some(Requeue::Never) => Action::await_change(),
            None => Action::requeue(STEADY),
        }
    }
}

/// How long the node's sidecar has been unreachable with nothing changing about its pod:
/// a pod that just changed (scheduled, started, restarted) may answer now.
fn unreachable_for(ctx: &Context, node: &SeiNode, uid: &str) -> Option<Duration> {
    let unreachable = ctx.memory.get(uid).unreachable.map(|(at, _)| at.elapsed())?;
    let key = format!("{}/{}", node.namespace().unwrap_or_default(), node.name_any());
    Some(ctx.memory.pod_changed_ago(&key).map_or(unreachable, |ago| ago.min(unreachable)))
}

/// One log line when a node starts waiting on something, one when the reason changes and
/// one when it stops; the attempts in between are counted in the metrics.
fn log_on_change(ctx: &Context, node: &SeiNode, uid: &str, waiting: Option<&str>) {
    let key = waiting.map(|w| {
        // One line for the whole outage: its cause may flicker between a missing name, a
        // refused connection and a timeout as the pod starts (the condition has the latest).
        match ctx.memory.get(uid).unreachable {
            Some(_) => "sidecar unreachable".to_string(),
            None => w.to_string(),
        }
    });
    let before = ctx.memory.with(uid, |n| std::mem::replace(&mut n.logged_wait, key.clone()));
    if before == key {
        return;
    }
    let (name, ns) = (node.name_any(), node.namespace().unwrap_or_default());
    match waiting {
        Some(reason) => tracing::info!(node = %name, namespace = %ns, %reason, "waiting"),
        None if before.is_some() => tracing::info!(node = %name, namespace = %ns, "no longer waiting"),
        None => {}
    }
}

/// Best effort: a reconcile that fails for a reason a person must fix says so on the node.
pub async fn report(ctx: &Context, node: &SeiNode, error: &Error, now: Time) {
    let mut status = node.status.clone().unwrap_or_default();
    let message = format!("{error}{}", error.hint());
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let reason = error.category().reason();
    if !set_condition(conditions, RECONCILE_ERROR, "True", reason, &message, node.metadata.generation, &now) {
        return;
    }
    if let Err(e) = write(ctx, node, &status).await {
        tracing::debug!(node = %node.name_any(), error = %e, "cannot report the error on the node");
    }
    let event = Event {
        type_: EventType::Warning,
        reason: RECONCILE_ERROR.into(),
        note: Some(message),
        action: reason.into(),
        secondary: None,
    };
    let _ = ctx.recorder.publish(&event, &node.object_ref(&())).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(requeue: Option<Requeue>) -> Next {
        Next { new_plan: false, blocked: false, transitioned: false, idle: false, unreachable_for: None, requeue }
    }

    #[test]
    fn when_a_node_is_reconciled_again() {
        let poll = Some(Requeue::After(executor::POLL));
        assert_eq!(Next { new_plan: true, ..next(poll) }.action(), Action::requeue(executor::IMMEDIATELY));
        assert_eq!(Next { blocked: true, ..next(None) }.action(), Action::requeue(STEADY));
        assert_eq!(Next { transitioned: true, ..next(poll) }.action(), Action::requeue(executor::IMMEDIATELY));
        assert_eq!(Next { idle: true, ..next(None) }.action(), Action::requeue(STEADY));
        assert_eq!(next(poll).action(), Action::requeue(executor::POLL));
        assert_eq!(next(Some(Requeue::Never)).action(), Action::await_change());
        // An unreachable sidecar is polled less often the longer it lasts, up to a cap.
        let after = |secs| Next { unreachable_for: Some(Duration::from_secs(secs)), ..next(poll) }.action();
        assert_eq!(after(4), Action::requeue(executor::POLL));
        assert_eq!(after(60), Action::requeue(Duration::from_secs(30)));
        assert_eq!(after(3600), Action::requeue(UNREACHABLE_POLL_CAP));
        // A longer wait the executor asks for (a retry backoff) is kept.
        let backoff = Some(Requeue::After(Duration::from_secs(60)));
        assert_eq!(
            Next { unreachable_for: Some(Duration::from_secs(3600)), ..next(backoff) }.action(),
            Action::requeue(Duration::from_secs(60))
        );
    }
}
