//! The SeiNodeDeployment controller (§8 of the controller spec): a fleet of child
//! SeiNodes made from one template. A reconcile is four stages:
//!
//! 1. guard: leadership, deletion ([`delete`]), the finalizer
//! 2. the internal Service (`sei-planner`'s `group::internal_service`)
//! 3. [`children`]: create, converge and scale down the children
//! 4. [`status`]: the fleet's status from its children, written once at the version read
//!
//! Group plans (genesis ceremony, roll-outs) are not acted on yet.

mod children;
mod delete;
mod status;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_planner::{group, names};
use serde_json::json;

use crate::context::Context;
use crate::error::{self, Error};

/// How long a fleet rests between reconciles when nothing wakes it.
pub const STEADY: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn reconcile(d: Arc<SeiNodeDeployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    if !ctx.leadership.may_write() {
        return Ok(Action::await_change());
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
    let service = group::internal_service(&d);
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    let key = format!("{}/{}", d.namespace().unwrap_or_default(), service.name_any());
    if !ctx.applied.current(&key, &service) {
        let params = PatchParams::apply(names::MANAGER_DEPLOYMENT).force();
        services.patch(&service.name_any(), &params, &Patch::Apply(&service)).await?;
        ctx.applied.record(&key, &service);
    }

    let listed = children_of(&ctx, &d);
    children::converge(&ctx, &d, &listed).await?;
    status::flush(&ctx, &d).await?;
    Ok(Action::requeue(STEADY))
}

pub fn error_policy(d: Arc<SeiNodeDeployment>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(deployment = %d.name_any(), namespace = %d.namespace().unwrap_or_default(), error = %error,
        "reconcile failed");
    let delay = if error.category().needs_a_person() { error::PERSON_RETRY } else { error::backoff(3) };
    Action::requeue(delay)
}

/// The SeiNodes labelled as members of `d`, from the watch cache (no API request).
fn children_of(ctx: &Context, d: &SeiNodeDeployment) -> Vec<SeiNode> {
    let (ns, name) = (d.namespace(), d.name_any());
    ctx.nodes
        .state()
        .iter()
        .filter(|n| n.metadata.namespace == ns && n.labels().get(names::LABEL_DEPLOYMENT) == Some(&name))
        .map(|n| (**n).clone())
        .collect()
}

fn api(ctx: &Context, d: &SeiNodeDeployment) -> Api<SeiNodeDeployment> {
    Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default())
}
