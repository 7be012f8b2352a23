//! Stage 4, execute: advances the plan that was already persisted, as far as it goes now.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::ResourceExt;
use kube::api::Api;
use sei_api::SeiNode;
use sei_api::common::NodePhase;
use sei_api::plan::{PlanPhase, TaskPlan, TaskStatus};
use sei_planner::executor::{self, Step};
use sei_planner::names;
use sei_planner::plan::task;
use sei_planner::status::{remove_condition, set_condition};

use super::planning::Work;
use super::runner::{NodeRunner, seid_image};
use super::{seconds_between, status, token};
use crate::context::Context;
use crate::error::Error;
use crate::reach::Cause;
use crate::sidecar::{SidecarClient, SidecarError};

/// How long a sidecar may stay unreachable before the node says so in a condition: pods
/// take a few seconds to start, which is not worth a status write.
pub const UNREACHABLE_GRACE: Duration = Duration::from_secs(20);

/// The condition that reports a sidecar a plan waits on but cannot reach.
pub const SIDECAR_REACHABLE: &str = "SidecarReachable";

/// Runs the active plan, if there was one before this reconcile.
pub async fn execute(ctx: &Context, node: &SeiNode, work: &mut Work) -> Result<Option<Step>, Error> {
    if !work.had_active {
        reachability(ctx, node, work, None, false);
        return Ok(None);
    }
    let token = token::sidecar_token(ctx, node).await?;
    let sidecar = SidecarClient::new(ctx.sidecar.clone(), work.sidecar_url.clone(), Some(token));
    let mut plan = work.status.plan.take().expect("an active plan");
    let init = plan.tasks.iter().any(|t| t.task_type == task::ENSURE_DATA_PVC);
    let now = work.now.clone();
    let mut runner = NodeRunner {
        ctx,
        node,
        status: &mut work.status,
        sidecar,
        now: now.clone(),
        trouble: None,
        reached: false,
        escalated: Default::default(),
    };
    let attempts = |p: &TaskPlan| -> Vec<(i64, bool)> {
        p.tasks.iter().map(|t| (t.retry_count.unwrap_or(0), t.status == TaskStatus::Failed)).collect()
    };
    let before = attempts(&plan);
    let step = executor::execute(&mut plan, &mut runner, now.clone()).await;
    for ((task, after), before) in plan.tasks.iter().zip(attempts(&plan)).zip(before) {
        if after.0 > before.0 || (after.1 && !before.1) {
            ctx.metrics.task_failed(&task.task_type);
        }
    }
    let (trouble, reached) = (runner.trouble.take(), runner.reached);
    if let Some(e) = runner.escalated.into_inner().unwrap_or_else(|p| p.into_inner()) {
        // A person must fix this: the reconcile reports it; the plan resumes afterwards.
        return Err(e);
    }
    if plan.phase != PlanPhase::Active {
        let started = plan.tasks.first().and_then(|t| t.submitted_at.as_ref());
        let ns = node.namespace().unwrap_or_default();
        ctx.metrics.plan_finished(&ns, &plan, started.map(|t| seconds_between(t, &now)));
    }
    if let Some(phase) = step.phase {
        work.status.phase = Some(phase);
        work.status.phase_transition_time = Some(now.clone());
        // The init plan applied an image: no update plan is needed right after it, unless
        // the spec moved on meanwhile.
        if plan.phase == PlanPhase::Complete && init {
            work.status.current_image = applied_image(ctx, node).await?;
        }
        if phase == NodePhase::Failed {
            let detail = plan.failed_task_detail.as_ref();
            let what = detail.map(|d| format!("task {}: {}", d.task_type, d.error)).unwrap_or("unknown".into());
            let message = format!(
                "plan {} failed at {what}. Fix the cause, then retry with: kubectl annotate seinode {} {}=now",
                plan.id.as_deref().unwrap_or_default(),
                node.name_any(),
                super::guard::RETRY_ANNOTATION
            );
            let conditions = work.status.conditions.get_or_insert_with(Vec::new);
            set_condition(conditions, status::FAILED, "True", "PlanFailed", &message, node.metadata.generation, &now);
        }
    }
    let active = plan.phase == PlanPhase::Active;
    work.status.plan = Some(plan);
    reachability(ctx, node, work, trouble.filter(|_| active), reached);
    Ok(Some(step))
}

/// The image the operator applied in the node's StatefulSet.
async fn applied_image(ctx: &Context, node: &SeiNode) -> Result<Option<String>, Error> {
    let uid = node.uid().unwrap_or_default();
    if let Some(image) = ctx.memory.update(&uid, |n| n.applied_image.take()).flatten() {
        return Ok(Some(image));
    }
    // Applied by another replica or before a restart: ask the API server.
    let sts: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &node.namespace().unwrap_or_default());
    Ok(sts.get_opt(&names::statefulset(&node.name_any())).await?.as_ref().and_then(seid_image))
}

/// Keeps `SidecarReachable` in step with this reconcile: set once the plan has waited on an
/// unreachable sidecar for the grace period, gone once the sidecar answers or nothing
/// waits on it any more.
fn reachability(
    ctx: &Context,
    node: &SeiNode,
    work: &mut Work,
    trouble: Option<(String, SidecarError)>,
    reached: bool,
) {
    let uid = node.uid().unwrap_or_default();
    let Some((task_type, e)) = trouble.filter(|_| !reached) else {
        ctx.memory.update(&uid, |n| n.unreachable = None);
        if let Some(c) = work.status.conditions.as_mut() {
            remove_condition(c, SIDECAR_REACHABLE);
        }
        return;
    };
    ctx.metrics.sidecar_unreachable(&task_type, e.cause);
    let known = ctx.memory.with(&uid, |n| {
        let cause = e.cause.after(n.unreachable.map(|(_, c)| c));
        // A call that was not made teaches nothing: what was known stands.
        if cause == Cause::Throttled {
            work.throttled = true;
            return None;
        }
        let at = n.unreachable.map(|(at, _)| at).unwrap_or_else(Instant::now);
        n.unreachable = Some((at, cause));
        Some((at, cause))
    });
    let Some((since, cause)) = known else { return };
    if since.elapsed() >= UNREACHABLE_GRACE {
        // Which status it answered is what a person needs to fix it.
        let detail =
            if cause == Cause::Http && e.cause == Cause::Http { format!(" ({})", e.message) } else { String::new() };
        let message = format!(
            "cannot reach the sidecar at {}: {}{detail}; task {task_type} waits for it",
            e.url,
            cause.describe()
        );
        let conditions = work.status.conditions.get_or_insert_with(Vec::new);
        set_condition(
            conditions,
            SIDECAR_REACHABLE,
            "False",
            cause.reason(),
            &message,
            node.metadata.generation,
            &work.now,
        );
    }
}
