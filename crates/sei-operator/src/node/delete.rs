//! The deletion path (§5.3): phase `Terminating`, the data PVC unless it was imported, then
//! the finalizer. Everything else the node owns goes with it by garbage collection.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use sei_api::SeiNode;
use sei_api::common::NodePhase;
use sei_planner::names;
use serde_json::json;

use super::{api, status};
use crate::context::Context;
use crate::error::Error;

pub async fn delete(ctx: &Context, node: &SeiNode) -> Result<Action, Error> {
    if !node.finalizers().iter().any(|f| f == names::FINALIZER_NODE) {
        return Ok(Action::await_change());
    }
    let ns = node.namespace().unwrap_or_default();
    let mut current = node.clone();
    if node.status.as_ref().and_then(|s| s.phase) != Some(NodePhase::Terminating) {
        let mut terminating = node.status.clone().unwrap_or_default();
        terminating.phase = Some(NodePhase::Terminating);
        current = status::write(ctx, node, &terminating).await?;
    }
    // An imported PVC belongs to the user and is never deleted; nor is a claim of that
    // name that this node does not control (the reference deleted it: a node that failed
    // on a foreign PVC took the user's data with it).
    let imported = node.spec.data_volume.as_ref().is_some_and(|d| d.import.is_some());
    if !imported {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
        let name = names::data_pvc(node);
        let owned = |p: &PersistentVolumeClaim| {
            p.owner_references().iter().any(|r| r.controller == Some(true) && Some(&r.uid) == node.uid().as_ref())
        };
        if let Some(pvc) = pvcs.get_opt(&name).await?.filter(owned) {
            let dp = DeleteParams {
                preconditions: Some(Preconditions { uid: pvc.uid(), resource_version: None }),
                ..Default::default()
            };
            ctx.check_writing()?;
            match pvcs.delete(&name, &dp).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let finalizers: Vec<String> = node.finalizers().iter().filter(|f| *f != names::FINALIZER_NODE).cloned().collect();
    // The version this reconcile wrote last: the precondition still guards against others.
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": current.resource_version()}});
    ctx.check_writing()?;
    api(ctx, node).patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    let uid = node.uid().unwrap_or_default();
    ctx.metrics.forget(&ns, &node.name_any());
    ctx.tokens.forget(&uid);
    ctx.own_writes.forget(&uid);
    ctx.memory.forget(&uid);
    Ok(Action::await_change())
}
