//! Deletion (§8.9): `Delete` lets garbage collection take the children, the Services and
//! the routes; `Retain` lets them go on without an owner.

use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use sei_api::deployment::{DeletionPolicy, DeploymentPhase};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_planner::{group, names};
use serde_json::json;

use super::{api, children::event, children_of};
use crate::context::Context;
use crate::error::Error;

pub async fn delete(ctx: &Context, d: &SeiNodeDeployment) -> Result<Action, Error> {
    if !d.finalizers().iter().any(|f| f == names::FINALIZER_DEPLOYMENT) {
        return Ok(Action::await_change());
    }
    ctx.check_writing()?;
    let mut status = d.status.clone().unwrap_or_default();
    if status.phase != Some(DeploymentPhase::Terminating) {
        status.phase = Some(DeploymentPhase::Terminating);
        let mut body = d.clone();
        body.status = Some(status);
        body.metadata.managed_fields = None;
        api(ctx, d).replace_status(&d.name_any(), &PostParams::default(), &body).await?;
        // The finalizer goes in the next reconcile, on the version this write made.
        return Ok(Action::requeue(std::time::Duration::from_millis(1)));
    }
    if d.spec.deletion_policy == Some(DeletionPolicy::Retain) {
        event(ctx, d, "RetainResources", "Orphaning child SeiNodes and networking resources".into()).await;
        let uid = d.uid().unwrap_or_default();
        let ns = d.namespace().unwrap_or_default();
        let nodes: Api<SeiNode> = Api::namespaced(ctx.client.clone(), &ns);
        for child in children_of(ctx, d).iter().filter(|n| group::controlled_by(n, d)) {
            let owners: Vec<_> = child.owner_references().iter().filter(|o| o.uid != uid).cloned().collect();
            let patch = json!({"metadata": {"ownerReferences": owners, "resourceVersion": child.resource_version()}});
            nodes.patch(&child.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
        let services: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
        let internal = group::internal_service_name(&d.name_any());
        if let Some(svc) = services.get_opt(&internal).await? {
            let owners: Vec<_> = svc.owner_references().iter().filter(|o| o.uid != uid).cloned().collect();
            let patch = json!({"metadata": {"ownerReferences": owners}});
            services.patch(&internal, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
        super::networking::orphan(ctx, d).await?;
        super::monitoring::orphan(ctx, d).await?;
    }
    let finalizers: Vec<_> = d.finalizers().iter().filter(|f| *f != names::FINALIZER_DEPLOYMENT).cloned().collect();
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": d.resource_version()}});
    api(ctx, d).patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    ctx.metrics.fleets.forget(&d.namespace().unwrap_or_default(), &d.name_any());
    Ok(Action::await_change())
}
