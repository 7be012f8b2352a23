//! Group plans (§8.5): roll-out detection, plan building, and the group tasks run by the
//! same executor as a node's plan. A plan is stored before its first task runs.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use sei_api::deployment::UpdateStrategyType;
use sei_api::plan::{PlanPhase, PlannedTask};
use sei_api::{SeiNode, SeiNodeDeployment, SeiNodeDeploymentStatus};
use sei_planner::executor::{self, ExecError, Requeue, TaskRunner, TaskState};
use sei_planner::group::{self, Detected};
use sei_planner::plan::{build_in_place_plan, task};
use sei_planner::status::{condition, remove_condition, set_condition};

use super::children::event_of;
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
    if let Detected::Start { rollout, superseded } = group::detect(d, status, plan_busy, rollout_busy, now) {
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        if let Some(old) = superseded {
            status.plan = None;
            remove_condition(conditions, PLAN_IN_PROGRESS);
            events.push((
                EventType::Normal,
                "RolloutSuperseded",
                format!("Spec changed during active rollout, replacing plan (old target: {old})"),
            ));
        }
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
        let mut runner = GroupRunner { ctx, d };
        let step = executor::execute(plan, &mut runner, now.clone()).await;
        let phase = plan.phase;
        match phase {
            PlanPhase::Complete => complete(d, status, events, now),
            PlanPhase::Failed => fail(d, status, events, now),
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

    let Some(rollout) = status.rollout.as_mut() else { return Ok(None) };
    // The strategy the spec asks for now: a roll-out blocked on one not supported yet
    // proceeds once the user picks another.
    rollout.strategy = d.spec.update_strategy.strategy_type;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if rollout.strategy != UpdateStrategyType::InPlace {
        let message = format!(
            "the {:?} strategy is not supported by this operator yet; set spec.updateStrategy.type to InPlace to roll out, or revert the template",
            rollout.strategy
        );
        if set_condition(conditions, ROLLOUT_IN_PROGRESS, "True", "StrategyNotSupported", &message, generation, now) {
            events.push((EventType::Warning, "RolloutBlocked", message));
        }
        return Ok(None);
    }
    let incumbents = rollout.incumbent_nodes.clone().or_else(|| status.incumbent_nodes.clone()).unwrap_or_default();
    let plan = build_in_place_plan(d, &incumbents, &uuid::Uuid::new_v4().to_string());
    status.plan = Some(plan);
    set_condition(conditions, PLAN_IN_PROGRESS, "True", "PlanStarted", "Plan execution started", generation, now);
    set_condition(conditions, ROLLOUT_IN_PROGRESS, "True", "TemplateChanged", "InPlace rollout", generation, now);
    events.push((EventType::Normal, "PlanStarted", "Plan execution started".into()));
    Ok(Some(Action::requeue(executor::IMMEDIATELY)))
}

fn complete(d: &SeiNodeDeployment, status: &mut SeiNodeDeploymentStatus, events: &mut Events, now: &Time) {
    let generation = d.metadata.generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if status.rollout.take().is_some() {
        status.observed_generation = generation;
        let message = "Deployment completed successfully";
        set_condition(conditions, ROLLOUT_IN_PROGRESS, "False", "RolloutComplete", message, generation, now);
        events.push((EventType::Normal, "RolloutComplete", "Deployment rollout completed successfully".into()));
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

fn fail(d: &SeiNodeDeployment, status: &mut SeiNodeDeploymentStatus, events: &mut Events, now: &Time) {
    let generation = d.metadata.generation;
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
    }
    status.plan = None;
    set_condition(conditions, PLAN_IN_PROGRESS, "False", "PlanFailed", &format!("Plan failed: {why}"), generation, now);
    events.push((EventType::Warning, "PlanFailed", format!("Plan failed: {why}")));
}

/// Carries out the controller-side group tasks.
struct GroupRunner<'a> {
    ctx: &'a Context,
    d: &'a SeiNodeDeployment,
}

fn node_names(task: &PlannedTask) -> Vec<String> {
    task.params
        .as_ref()
        .and_then(|p| p.get("nodeNames"))
        .and_then(|n| serde_json::from_value(n.clone()).ok())
        .unwrap_or_default()
}

impl GroupRunner<'_> {
    fn nodes(&self) -> Api<SeiNode> {
        Api::namespaced(self.ctx.client.clone(), &self.d.namespace().unwrap_or_default())
    }

    /// Gives each listed node the template's rolled-out fields.
    async fn update_node_specs(&self, task: &PlannedTask) -> Result<(), ExecError> {
        let template = &self.d.spec.template.spec;
        for name in node_names(task) {
            let transient = |e: kube::Error| ExecError::transient(format!("updating SeiNode {name}: {e}"));
            let Some(mut node) = self.nodes().get_opt(&name).await.map_err(transient)? else { continue };
            let before = node.spec.clone();
            node.spec.image = template.image.clone();
            node.spec.entrypoint = template.entrypoint.clone();
            if let (Some(want), Some(have)) = (&template.sidecar, node.spec.sidecar.as_mut()) {
                have.image = want.image.clone();
            }
            if node.spec != before {
                self.ctx.check_writing().map_err(|e| ExecError::transient(e.to_string()))?;
                node.metadata.managed_fields = None;
                self.nodes().replace(&name, &PostParams::default(), &node).await.map_err(transient)?;
            }
        }
        Ok(())
    }

    /// Complete once every listed node reports running its own spec's image.
    async fn specs_rolled_out(&self, task: &PlannedTask) -> TaskState {
        for name in node_names(task) {
            match self.nodes().get_opt(&name).await {
                Ok(Some(n)) if n.status.as_ref().and_then(|s| s.current_image.as_deref()) == Some(&n.spec.image) => {}
                // Gone (scaled down meanwhile): nothing to wait for.
                Ok(None) => {}
                _ => return TaskState::Running,
            }
        }
        TaskState::Complete
    }
}

impl TaskRunner for GroupRunner<'_> {
    async fn execute(&mut self, t: &PlannedTask) -> Result<(), ExecError> {
        match t.task_type.as_str() {
            task::UPDATE_NODE_SPECS => self.update_node_specs(t).await,
            task::AWAIT_SPEC_UPDATE => Ok(()),
            other => Err(ExecError::terminal(format!("task type {other:?} is not supported in a group plan yet"))),
        }
    }

    async fn status(&mut self, t: &PlannedTask) -> TaskState {
        match t.task_type.as_str() {
            task::AWAIT_SPEC_UPDATE => self.specs_rolled_out(t).await,
            _ => TaskState::Complete,
        }
    }
}

/// Publishes the events of a reconcile, best effort.
pub async fn publish(ctx: &Context, d: &SeiNodeDeployment, events: Events) {
    for (type_, reason, note) in events {
        event_of(ctx, d, type_, reason, note).await;
    }
}
