//! Group plans (§8.5): roll-out detection, plan building, and the group tasks run by the
//! same executor as a node's plan. A plan is stored before its first task runs.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use sei_api::deployment::UpdateStrategyType;
use sei_api::plan::PlanPhase;
use sei_api::{SeiNodeDeployment, SeiNodeDeploymentStatus, TaskPlan};
use sei_planner::executor::{self, Requeue};
use sei_planner::group::genesis::{self, GENESIS_CEREMONY_COMPLETE, GENESIS_CEREMONY_NEEDED};
use sei_planner::group::{self, Detected};
use sei_planner::plan::{
    build_blue_green_plan, build_genesis_plan, build_hard_fork_plan, build_in_place_plan, entrant_names,
};
use sei_planner::status::{condition, remove_condition, set_condition};
use sei_tasks::TaskType;

use super::children::event_of;
use super::runner::GroupRunner;
use crate::context::Context;
use crate::error::Error;

pub const PLAN_IN_PROGRESS: &str = "PlanInProgress";
pub const ROLLOUT_IN_PROGRESS: &str = "RolloutInProgress";

fn is_true(status: &SeiNodeDeploymentStatus, type_: &str) -> bool {
    status.conditions.as_deref().and_then(|c| condition(c, type_)).is_some_and(|c| c.status == "True")
}

pub fn plan_in_progress(status: &SeiNodeDeploymentStatus) -> bool {
    is_true(status, PLAN_IN_PROGRESS)
}

/// Whether the template moved away from what the children run: a roll-out's fields are
/// then left to its plan.
pub fn rolling(d: &SeiNodeDeployment, status: &SeiNodeDeploymentStatus) -> bool {
    status.rollout.is_some()
        || status.template_hash.as_deref().is_some_and(|h| !h.is_empty() && h != group::template_hash(&d.spec))
}

/// Events this reconcile publishes once its status is written.
pub type Events = Vec<(EventType, &'static str, String)>;

/// Detects a roll-out, builds or advances the group plan. `Some(action)` ends the
/// reconcile after the status write (a plan was stored or is running).
pub async fn advance(
    ctx: &Context,
    d: &SeiNodeDeployment,
    status: &mut SeiNodeDeploymentStatus,
    events: &mut Events,
    now: &Time,
) -> Result<Option<Action>, Error> {
    let generation = d.metadata.generation;
    let (plan_busy, rollout_busy) = (plan_in_progress(status), is_true(status, ROLLOUT_IN_PROGRESS));
    let serving = group::serving_revision(d, status.rollout.as_ref(), &super::children_of(ctx, d));
    if let Detected::Start { rollout, superseded } = group::detect(d, status, plan_busy, rollout_busy, &serving, now) {
        if let Some(old) = superseded {
            // What the dropped plan started and did not put into service goes first, before
            // the status that forgets the plan is written.
            let retired = super::children::retire(ctx, d, &serving).await?;
            status.plan = None;
            remove_condition(status.conditions.get_or_insert_with(Vec::new), PLAN_IN_PROGRESS);
            let also = if retired.is_empty() { String::new() } else { format!("; removed {}", retired.join(", ")) };
            events.push((
                EventType::Normal,
                "RolloutSuperseded",
                format!("Spec changed during active rollout, replacing plan (old target: {old}){also}"),
            ));
        }
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let from = status.template_hash.clone().unwrap_or_default();
        let message = format!("templateHash changed from {from} to {}", rollout.target_hash);
        set_condition(conditions, ROLLOUT_IN_PROGRESS, "True", "TemplateChanged", &message, generation, now);
        events.push((
            EventType::Normal,
            "RolloutStarted",
            format!("{:?} rollout started (target: {})", rollout.strategy, &rollout.target_hash[..8]),
        ));
        status.rollout = Some(*rollout);
    }

    if let Some(plan) = status.plan.as_mut().filter(|p| p.phase == PlanPhase::Active) {
        let mut runner = GroupRunner::new(ctx, d);
        let step = executor::execute(plan, &mut runner, now.clone()).await;
        let phase = plan.phase;
        if let (Some(revision), Some(rollout)) = (runner.switched_to.take(), status.rollout.as_mut()) {
            rollout.incumbent_revision = Some(revision);
        }
        match phase {
            PlanPhase::Complete => complete(ctx, d, status, events, now),
            PlanPhase::Failed => {
                // A roll-out that brought up entrants and failed before traffic moved to
                // them takes them away again.
                if let Some(rollout) = status.rollout.as_ref().filter(|r| r.strategy != UpdateStrategyType::InPlace) {
                    let serving = rollout.incumbent_revision.clone().unwrap_or_default();
                    let retired = super::children::retire(ctx, d, &serving).await?;
                    if !retired.is_empty() {
                        events.push((
                            EventType::Normal,
                            "RolloutRolledBack",
                            format!("Removed {}", retired.join(", ")),
                        ));
                    }
                }
                fail(ctx, d, status, events, now)
            }
            _ => {}
        }
        if let Some(reason) = step.transient {
            tracing::info!(deployment = %d.name_any(), %reason, "group plan waiting");
        }
        return Ok(Some(match step.requeue {
            Requeue::After(delay) => Action::requeue(delay),
            Requeue::Never => Action::requeue(super::STEADY),
        }));
    }

    if status.rollout.is_none() {
        return ceremony(ctx, d, status, events, now);
    }
    let incumbents = status.incumbent_nodes.clone().unwrap_or_default();
    let Some(rollout) = status.rollout.as_mut() else { return Ok(None) };
    // The strategy the spec asks for now (it may have changed while a roll-out waited).
    rollout.strategy = d.spec.update_strategy.strategy_type;
    let incumbents = rollout.incumbent_nodes.clone().unwrap_or(incumbents);
    let entrant_revision = rollout.entrant_revision.clone().unwrap_or_else(|| generation.unwrap_or(1).to_string());
    let plan_id = uuid::Uuid::new_v4().to_string();
    let plan = match rollout.strategy {
        UpdateStrategyType::InPlace => build_in_place_plan(d, &incumbents, &plan_id),
        UpdateStrategyType::BlueGreen => {
            let entrants = entrant_names(d, entrant_revision.parse().unwrap_or(0));
            rollout.entrant_nodes = Some(entrants.clone());
            build_blue_green_plan(d, &incumbents, &entrant_revision, &entrants, &plan_id)
        }
        UpdateStrategyType::HardFork => {
            let halt = d.spec.update_strategy.hard_fork.as_ref().map_or(0, |h| h.halt_height);
            if halt <= 0 {
                // The CRD refuses this; an object stored before that rule still says why.
                let message = "a HardFork roll-out needs spec.updateStrategy.hardFork.haltHeight > 0";
                let conditions = status.conditions.get_or_insert_with(Vec::new);
                if set_condition(conditions, ROLLOUT_IN_PROGRESS, "True", "StrategyInvalid", message, generation, now) {
                    events.push((EventType::Warning, "RolloutBlocked", message.into()));
                }
                return Ok(None);
            }
            let entrants = entrant_names(d, entrant_revision.parse().unwrap_or(0));
            rollout.entrant_nodes = Some(entrants.clone());
            build_hard_fork_plan(d, &incumbents, &entrant_revision, &entrants, halt, &plan_id)
        }
    };
    let message = format!("{:?} rollout", rollout.strategy);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    set_condition(conditions, ROLLOUT_IN_PROGRESS, "True", "TemplateChanged", &message, generation, now);
    Ok(Some(start(status, plan, events, generation, now)))
}

/// Stores a new plan; it runs from the next reconcile, once it is persisted.
fn start(
    status: &mut SeiNodeDeploymentStatus,
    plan: TaskPlan,
    events: &mut Events,
    generation: Option<i64>,
    now: &Time,
) -> Action {
    status.plan = Some(plan);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    set_condition(conditions, PLAN_IN_PROGRESS, "True", "PlanStarted", "Plan execution started", generation, now);
    events.push((EventType::Normal, "PlanStarted", "Plan execution started".into()));
    Action::requeue(executor::IMMEDIATELY)
}

/// The first ceremony waits this long after a failed one; each further failure doubles it.
pub const CEREMONY_RETRY: Duration = Duration::from_secs(30);
pub const CEREMONY_RETRY_MAX: Duration = Duration::from_secs(600);

fn ceremony_pause(failures: u32) -> Duration {
    CEREMONY_RETRY.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10))).min(CEREMONY_RETRY_MAX)
}

/// The genesis ceremony's conditions, and its plan once every validator exists. A failed
/// ceremony is tried again after a pause that grows with each failure (the reference
/// rebuilt it at once, forever).
fn ceremony(
    ctx: &Context,
    d: &SeiNodeDeployment,
    status: &mut SeiNodeDeploymentStatus,
    events: &mut Events,
    now: &Time,
) -> Result<Option<Action>, Error> {
    let generation = d.metadata.generation;
    let (wanted, due) = (genesis::ceremony_wanted(d, status), genesis::ceremony_due(d, status));
    let busy = plan_in_progress(status);
    let incumbents = status.incumbent_nodes.clone().unwrap_or_default();
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if !wanted {
        remove_condition(conditions, GENESIS_CEREMONY_NEEDED);
        return Ok(None);
    }
    if !busy {
        set_condition(
            conditions,
            GENESIS_CEREMONY_NEEDED,
            "True",
            "GenesisConfigured",
            "Genesis ceremony configured",
            generation,
            now,
        );
    }
    if !due {
        return Ok(None);
    }
    let failed_at = condition(conditions, PLAN_IN_PROGRESS)
        .filter(|c| c.reason == "PlanFailed")
        .and_then(|_| condition(conditions, GENESIS_CEREMONY_COMPLETE))
        .filter(|c| c.reason == "CeremonyFailed")
        .map(|c| c.last_transition_time.0);
    if let Some(at) = failed_at {
        let pause = ceremony_pause(ctx.ceremony_failures.count(&d.uid().unwrap_or_default()).max(1));
        let since = now.0.duration_since(at).unsigned_abs();
        if since < pause {
            return Ok(Some(Action::requeue(pause - since)));
        }
    }
    match build_genesis_plan(d, &incumbents, &uuid::Uuid::new_v4().to_string()) {
        Ok(plan) => Ok(Some(start(status, plan, events, generation, now))),
        Err(e) => {
            // Only the spec can fix this: say so, and wait for a change.
            let message = format!("cannot plan the genesis ceremony: {e}");
            if set_condition(
                conditions,
                GENESIS_CEREMONY_COMPLETE,
                "False",
                "InvalidGenesis",
                &message,
                generation,
                now,
            ) {
                events.push((EventType::Warning, "GenesisInvalid", message));
            }
            Ok(None)
        }
    }
}

fn is_ceremony(plan: Option<&TaskPlan>) -> bool {
    plan.and_then(|p| p.tasks.first()).is_some_and(|t| t.task_type == TaskType::AssembleAndUploadGenesis.name())
}

fn complete(
    ctx: &Context,
    d: &SeiNodeDeployment,
    status: &mut SeiNodeDeploymentStatus,
    events: &mut Events,
    now: &Time,
) {
    let generation = d.metadata.generation;
    let ceremony = is_ceremony(status.plan.as_ref());
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if status.rollout.take().is_some() {
        status.observed_generation = generation;
        let message = "Deployment completed successfully";
        set_condition(conditions, ROLLOUT_IN_PROGRESS, "False", "RolloutComplete", message, generation, now);
        events.push((EventType::Normal, "RolloutComplete", "Deployment rollout completed successfully".into()));
    } else if ceremony {
        ctx.ceremony_failures.succeeded(&d.uid().unwrap_or_default());
        let message = "Genesis ceremony completed";
        set_condition(conditions, GENESIS_CEREMONY_COMPLETE, "True", "CeremonyComplete", message, generation, now);
        remove_condition(conditions, GENESIS_CEREMONY_NEEDED);
    }
    status.plan = None;
    set_condition(
        conditions,
        PLAN_IN_PROGRESS,
        "False",
        "PlanComplete",
        "Plan completed successfully",
        generation,
        now,
    );
    events.push((EventType::Normal, "PlanComplete", "Plan completed successfully".into()));
}

fn fail(ctx: &Context, d: &SeiNodeDeployment, status: &mut SeiNodeDeploymentStatus, events: &mut Events, now: &Time) {
    let generation = d.metadata.generation;
    let ceremony = is_ceremony(status.plan.as_ref());
    let detail = status.plan.as_ref().and_then(|p| p.failed_task_detail.clone());
    let why = detail.map(|f| format!("task {} failed: {}", f.task_type, f.error)).unwrap_or_default();
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if status.rollout.take().is_some() {
        set_condition(
            conditions,
            ROLLOUT_IN_PROGRESS,
            "False",
            "RolloutFailed",
            "Deployment plan failed",
            generation,
            now,
        );
    } else if ceremony {
        let (failures, _) = ctx.ceremony_failures.failed(&d.uid().unwrap_or_default(), &why);
        let message = format!(
            "genesis ceremony attempt {failures} failed ({why}); trying again in {} s",
            ceremony_pause(failures).as_secs()
        );
        set_condition(conditions, GENESIS_CEREMONY_COMPLETE, "False", "CeremonyFailed", &message, generation, now);
    }
    status.plan = None;
    set_condition(conditions, PLAN_IN_PROGRESS, "False", "PlanFailed", &format!("Plan failed: {why}"), generation, now);
    events.push((EventType::Warning, "PlanFailed", format!("Plan failed: {why}")));
}

/// Publishes the events of a reconcile, best effort.
pub async fn publish(ctx: &Context, d: &SeiNodeDeployment, events: Events) {
    for (type_, reason, note) in events {
        event_of(ctx, d, type_, reason, note).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_ceremony_waits_longer_after_each_failure_up_to_ten_minutes() {
        let pauses: Vec<u64> = [0, 1, 2, 3, 5, 6, 40].iter().map(|n| ceremony_pause(*n).as_secs()).collect();
        assert_eq!(pauses, [30, 30, 60, 120, 480, 600, 600]);
    }
}
