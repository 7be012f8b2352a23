//! Stage 3: the children a deployment asks for exist, carry the template's kept fields,
//! and no child above the replica count remains (§8.3).

use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_planner::group::{self, Convergence};

use crate::context::Context;
use crate::error::Error;

/// `rolling`: the template hash moved, so the fields a roll-out changes are left to it.
pub async fn converge(ctx: &Context, d: &SeiNodeDeployment, listed: &[SeiNode], rolling: bool) -> Result<(), Error> {
    let api: Api<SeiNode> = Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    let revision = group::revision_of(d, listed);
    for ordinal in 0..d.spec.replicas.max(0) {
        let name = group::name_for(d, listed, &revision, ordinal);
        let desired = group::child_named(d, ordinal, &revision, &name);
        match listed.iter().find(|n| n.name_any() == name) {
            None => {
                ctx.check_writing()?;
                match api.create(&PostParams::default(), &desired).await {
                    Ok(_) => event(ctx, d, "SeiNodeCreated", format!("Created SeiNode {name}")).await,
                    // Made by an earlier reconcile the cache has not shown yet.
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // Someone else's node of that name: left alone (and not counted as ours).
            Some(existing) if !group::controlled_by(existing, d) => {}
            Some(existing) => {
                if let Convergence::Update(next) = group::converge(existing, &desired, rolling) {
                    ctx.check_writing()?;
                    api.replace(&name, &PostParams::default(), &next).await?;
                }
            }
        }
    }
    for gone in group::to_scale_down(d, listed) {
        if delete(ctx, gone).await? {
            event(ctx, d, "SeiNodeDeleted", format!("Scaled down SeiNode {}", gone.name_any())).await;
        }
    }
    Ok(())
}

/// Deletes a child (this very object: a UID precondition) and remembers it until the
/// cache shows it; false if it was gone already.
pub async fn delete(ctx: &Context, node: &SeiNode) -> Result<bool, Error> {
    let api: Api<SeiNode> = Api::namespaced(ctx.client.clone(), &node.namespace().unwrap_or_default());
    let uid = node.uid().unwrap_or_default();
    ctx.check_writing()?;
    let dp = DeleteParams {
        preconditions: Some(Preconditions { uid: node.uid(), resource_version: None }),
        ..Default::default()
    };
    match api.delete(&node.name_any(), &dp).await {
        Ok(_) => {
            ctx.deleted_children.insert(&uid);
            Ok(true)
        }
        // Gone, or a new node of that name (not this one).
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {
            ctx.deleted_children.insert(&uid);
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes the children that do not carry the serving `revision`: what a failed or
/// superseded roll-out leaves. Runs before the status that ends the roll-out is written,
/// so a crash in between repeats it rather than forgetting it.
pub async fn retire(ctx: &Context, d: &SeiNodeDeployment, revision: &str) -> Result<Vec<String>, Error> {
    let listed = super::children_of(ctx, d);
    let mut retired = Vec::new();
    for node in group::not_of_revision(d, &listed, revision) {
        if delete(ctx, node).await? {
            retired.push(node.name_any());
        }
    }
    Ok(retired)
}

/// A Normal event.
pub async fn event(ctx: &Context, d: &SeiNodeDeployment, reason: &str, note: String) {
    event_of(ctx, d, EventType::Normal, reason, note).await
}

/// Events are best effort: a lost one must not fail or repeat the reconcile.
pub async fn event_of(ctx: &Context, d: &SeiNodeDeployment, type_: EventType, reason: &str, note: String) {
    let event = Event { type_, reason: reason.into(), note: Some(note), action: reason.into(), secondary: None };
    if let Err(e) = ctx.deployment_recorder.publish(&event, &d.object_ref(&())).await {
        tracing::warn!(deployment = %d.name_any(), reason, error = %e, "cannot publish an event");
    }
}
