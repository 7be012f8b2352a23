//! Stage 1: whether this reconcile acts at all, and on which copy of the node.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
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
    if node.status.as_ref().and_then(|s| s.phase) == Some(NodePhase::Failed) {
        if node.annotations().contains_key(RETRY_ANNOTATION) {
            let consumed = consume_retry(ctx, &node).await?;
            return Ok(Guarded::Proceed(Arc::new(consumed), true));
        }
        // Failed stays failed until a person asks for a retry (or deletes the node).
        return Ok(Guarded::Done(Action::await_change()));
    }
    Ok(Guarded::Proceed(node, false))
}

/// Merge-patches the node's metadata; the patch carries the version it was computed from.
async fn patch_metadata(ctx: &Context, node: &SeiNode, patch: &serde_json::Value) -> Result<SeiNode, Error> {
    let written = api(ctx, node).patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await?;
    ctx.own_writes.wrote(&node.resource_version().unwrap_or_default(), written.clone());
    Ok(written)
}

/// Consumes a retry request of a `Failed` node. The annotation goes first (a crash after
/// this never retries twice); the planning stage then retires the failed plan and builds a
/// new one, in this same reconcile's one status write.
async fn consume_retry(ctx: &Context, node: &SeiNode) -> Result<SeiNode, Error> {
    let value = node.annotations().get(RETRY_ANNOTATION).cloned().unwrap_or_default();
    let patch =
        json!({"metadata": {"annotations": {RETRY_ANNOTATION: null}, "resourceVersion": node.resource_version()}});
    let consumed = patch_metadata(ctx, node, &patch).await?;
    let failed = node.status.as_ref().and_then(|s| s.plan.as_ref()).and_then(|p| p.failed_task_detail.as_ref());
    let what = failed.map(|d| format!(" (it failed at {}: {})", d.task_type, d.error)).unwrap_or_default();
    tracing::info!(node = %node.name_any(), namespace = %node.namespace().unwrap_or_default(), annotation = %value, "retrying a failed node");
    let event = Event {
        type_: EventType::Normal,
        reason: "RetryRequested".into(),
        note: Some(format!("{RETRY_ANNOTATION}={value:?}: the node is initialised again{what}")),
        action: "Retry".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &node.object_ref(&())).await {
        tracing::warn!(node = %node.name_any(), error = %e, "cannot publish an event");
    }
    Ok(consumed)
}
