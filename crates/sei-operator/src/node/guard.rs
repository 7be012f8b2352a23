//! Stage 1: whether this reconcile acts at all, and on which copy of the node.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use sei_api::SeiNode;
use sei_api::common::NodePhase;
use sei_planner::executor;
use sei_planner::names;
use serde_json::json;

use super::{api, delete};
use crate::context::Context;
use crate::error::Error;

/// The annotation that asks the operator to retry a `Failed` node; it is removed once acted on.
pub const RETRY_ANNOTATION: &str = "sei.io/retry";

pub enum Guarded {
    /// Go on with this copy of the node; `true` when a failed node is to start over.
    Proceed(Arc<SeiNode>, bool),
    /// Nothing more in this reconcile.
    Done(Action),
}

pub async fn guard(cached: Arc<SeiNode>, ctx: &Context) -> Result<Guarded, Error> {
    // A follower keeps its caches warm and writes nothing; becoming leader reconciles all.
    if !ctx.leadership.may_write() {
        return Ok(Guarded::Done(Action::await_change()));
    }
    let node = ctx.own_writes.freshest(cached);
    if node.meta().deletion_timestamp.is_some() {
        return delete::delete(ctx, &node).await.map(Guarded::Done);
    }
    if !node.finalizers().iter().any(|f| f == names::FINALIZER_NODE) {
        let mut finalizers = node.finalizers().to_vec();
        finalizers.push(names::FINALIZER_NODE.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": node.resource_version()}});
        patch_metadata(ctx, &node, &patch).await?;
        return Ok(Guarded::Done(Action::requeue(executor::IMMEDIATELY)));
    }
    let failed = node.status.as_ref().and_then(|s| s.phase) == Some(NodePhase::Failed);
    let retry = node.annotations().contains_key(RETRY_ANNOTATION);
    if failed && retry {
        // Planned again in this reconcile; the annotation goes in the next one, once the
        // new plan is stored (so a failed write never loses the request).
        return Ok(Guarded::Proceed(node, true));
    }
    if failed {
        // Failed stays failed until a person asks for a retry (or deletes the node).
        let ns = node.namespace().unwrap_or_default();
        ctx.metrics.observe(&ns, &node.name_any(), Some(NodePhase::Failed), false);
        return Ok(Guarded::Done(Action::await_change()));
    }
    if retry {
        // Acted on (or set on a node that had not failed): consumed once.
        let patch =
            json!({"metadata": {"annotations": {RETRY_ANNOTATION: null}, "resourceVersion": node.resource_version()}});
        return Ok(Guarded::Proceed(Arc::new(patch_metadata(ctx, &node, &patch).await?), false));
    }
    Ok(Guarded::Proceed(node, false))
}

/// Merge-patches the node's metadata; the patch carries the version it was computed from.
async fn patch_metadata(ctx: &Context, node: &SeiNode, patch: &serde_json::Value) -> Result<SeiNode, Error> {
    ctx.check_writing()?;
    let written = api(ctx, node).patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await?;
    ctx.own_writes.wrote(&node.resource_version().unwrap_or_default(), written.clone());
    Ok(written)
}
