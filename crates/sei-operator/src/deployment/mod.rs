//! The SeiNodeDeployment controller (§8 of the controller spec): a fleet of child
//! SeiNodes made from one template. A reconcile is four stages:
//!
//! 1. guard: leadership, deletion ([`delete`]), the finalizer
//! 2. the internal Service (`sei-planner`'s `group::internal_service`), then
//!    [`networking`]: the external Service, the HTTPRoutes and the DNS gate
//! 3. [`children`]: create, converge and scale down the children; [`monitoring`]: the
//!    ServiceMonitor
//! 4. [`status`]: the fleet's status from its children, written once at the version read
//!
//! Between 3 and 4, [`plans`] detects roll-outs and builds or advances the group plan
//! (the genesis ceremony; `InPlace`, `BlueGreen` and `HardFork` roll-outs),
//! whose tasks [`runner`] carries out.

mod children;
mod delete;
mod monitoring;
mod networking;
mod plans;
mod runner;
mod status;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_planner::{group, names};
use serde_json::json;

use crate::context::Context;
use crate::error::{self, Error};

/// The controller's name in logs and metrics labels.
pub const CONTROLLER: &str = "seinodedeployment";

/// How often a fleet waiting on the DNS gate looks again.
pub const DNS_RECHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a fleet rests between reconciles when nothing wakes it.
pub const STEADY: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn reconcile(d: Arc<SeiNodeDeployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = stages(&d, &ctx).await;
    if outcome.is_ok() {
        ctx.fleet_failures.succeeded(&d.uid().unwrap_or_default());
    }
    outcome
}

async fn stages(d: &Arc<SeiNodeDeployment>, ctx: &Arc<Context>) -> Result<Action, Error> {
    let (d, ctx) = (d.clone(), ctx.clone());
    if !ctx.leadership.may_write() {
        return Ok(Action::await_change());
    }
    // Children are read from the deployment controller's own cache: not before it is
    // filled. Awaiting it here could hang for good: that cache is fed by this controller's
    // own input streams, which need not be polled while its reconciles are pending (seen
    // with deployments that existed as the controller started). So come back instead.
    if let Some(store) = ctx.children.get()
        && tokio::time::timeout(std::time::Duration::from_millis(50), store.wait_until_ready()).await.is_err()
    {
        return Ok(Action::requeue(std::time::Duration::from_millis(500)));
    }
    if d.meta().deletion_timestamp.is_some() {
        return delete::delete(&ctx, &d).await;
    }
    if !d.finalizers().iter().any(|f| f == names::FINALIZER_DEPLOYMENT) {
        ctx.check_writing()?;
        let mut finalizers = d.finalizers().to_vec();
        finalizers.push(names::FINALIZER_DEPLOYMENT.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": d.resource_version()}});
        api(&ctx, &d).patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        return Ok(Action::requeue(std::time::Duration::from_millis(1)));
    }
    ctx.check_writing()?;
    let listed = children_of(&ctx, &d);
    let revision = group::revision_of(&d, &listed);
    apply_internal_service(&ctx, &d, &revision).await?;

    let now = Time(Timestamp::now());
    let mut status = d.status.clone().unwrap_or_default();
    let mut events = plans::Events::new();
    let gate = networking::reconcile(&ctx, &d, &revision, &mut status, &mut events, &now).await?;
    let action = if gate == networking::Gate::DnsPending {
        // No children behind a public name that does not resolve yet.
        Some(Action::requeue(DNS_RECHECK))
    } else {
        // Children are not touched while a plan runs: the plan owns them then.
        if !plans::plan_in_progress(&status) {
            children::converge(&ctx, &d, &listed, plans::rolling(&d, &status)).await?;
        }
        monitoring::reconcile(&ctx, &d, &mut status, &mut events, &now).await?;
        plans::advance(&ctx, &d, &mut status, &mut events, &now).await?
    };
    let status = status::flush(&ctx, &d, status, &now).await?;
    if let Some(phase) = status.phase {
        let active = status.plan.as_ref().is_some_and(|p| p.phase == sei_api::plan::PlanPhase::Active);
        let (ns, name) = (d.namespace().unwrap_or_default(), d.name_any());
        let ready = status.ready_replicas.unwrap_or(0);
        ctx.metrics.fleets.observe(&ns, &name, phase, d.spec.replicas, ready, active);
    }
    // Published once the status that records them is stored.
    plans::publish(&ctx, &d, events).await;
    Ok(action.unwrap_or(Action::requeue(STEADY)))
}

/// The internal Service, selecting the children of the serving `revision`; sent only
/// when it differs from what was last applied (and every 10 minutes).
pub async fn apply_internal_service(ctx: &Context, d: &SeiNodeDeployment, revision: &str) -> Result<(), Error> {
    let service = group::internal_service(d, revision);
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    let key = format!("{}/{}", d.namespace().unwrap_or_default(), service.name_any());
    if !ctx.applied.current(&key, &service) {
        ctx.check_writing()?;
        let params = PatchParams::apply(names::MANAGER_DEPLOYMENT).force();
        services.patch(&service.name_any(), &params, &Patch::Apply(&service)).await?;
        ctx.applied.record(&key, &service);
    }
    Ok(())
}

/// Failed reconciles back off exponentially per deployment (a conflict is retried at
/// once: the cache shows the newer version soon); each distinct error is logged once.
pub fn error_policy(d: Arc<SeiNodeDeployment>, error: &Error, ctx: Arc<Context>) -> Action {
    let text = error.to_string();
    let (failures, repeated) = ctx.fleet_failures.failed(&d.uid().unwrap_or_default(), &text);
    if !repeated {
        tracing::warn!(deployment = %d.name_any(), namespace = %d.namespace().unwrap_or_default(), error = %text,
            "reconcile failed");
    }
    let delay = match error.category() {
        c if c.needs_a_person() => error::PERSON_RETRY,
        error::Category::Conflict => error::BACKOFF_BASE,
        _ => error::backoff(failures),
    };
    Action::requeue(delay)
}

/// The SeiNodes labelled as members of `d`, from the watch cache (no API request). A node
/// whose deletion has completed (no finalizers left) is gone already.
pub(crate) fn children_of(ctx: &Context, d: &SeiNodeDeployment) -> Vec<SeiNode> {
    let (ns, name) = (d.namespace(), d.name_any());
    let Some(store) = ctx.children.get() else { return Vec::new() };
    store
        .state()
        .iter()
        .filter(|n| n.metadata.namespace == ns && n.labels().get(names::LABEL_DEPLOYMENT) == Some(&name))
        .filter(|n| n.metadata.deletion_timestamp.is_none() || !n.finalizers().is_empty())
        .map(|n| (**n).clone())
        .map(|mut n| {
            // Deleted by this replica, and not shown as such yet: it is terminating.
            if n.metadata.deletion_timestamp.is_none() && ctx.deleted_children.contains(&n.uid().unwrap_or_default()) {
                n.metadata.deletion_timestamp =
                    Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now()));
            }
            n
        })
        .collect()
}

fn api(ctx: &Context, d: &SeiNodeDeployment) -> Api<SeiNodeDeployment> {
    Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default())
}
