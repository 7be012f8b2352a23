//! The SeiNode controller (§5 of the controller spec). A reconcile is five stages:
//!
//! 1. [`guard`]: act at all? (leadership, deletion, finalizer, a failed node); on which copy
//! 2. [`observe`]: dereference the spec — label peers, the sidecar's health
//! 3. [`planning`]: retire a finished plan, build a new one when needed (no side effect)
//! 4. [`execute`]: advance the plan persisted by an earlier reconcile
//! 5. [`status`]: write the status once, at the version read; events; when to come back
//!
//! Errors are sorted by [`Category`]: transient ones back off exponentially per node,
//! those a person must fix are reported in the `ReconcileError` condition.

mod delete;
mod events;
mod execute;
mod guard;
mod observe;
mod planning;
mod runner;
mod status;
pub(crate) mod token;

use std::sync::Arc;

pub use execute::SIDECAR_REACHABLE;
pub use guard::RETRY_ANNOTATION;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
pub use runner::quantity_bytes;
use sei_api::SeiNode;
pub use status::{FAILED, RECONCILE_ERROR};

use crate::context::Context;
use crate::error::{self, Category, Error};

pub async fn reconcile(cached: Arc<SeiNode>, ctx: Arc<Context>) -> Result<Action, Error> {
    let outcome = stages(cached.clone(), &ctx).await;
    if let Err(e) = &outcome
        && e.is_gone(&cached.name_any())
    {
        return Ok(Action::await_change());
    }
    if let Err(e) = &outcome {
        let uid = cached.uid().unwrap_or_default();
        match e.category() {
            // The copy the operator wrote is not the latest: work from the cache again.
            Category::Conflict => ctx.own_writes.forget(&uid),
            c if c.needs_a_person() => status::report(&ctx, &ctx.own_writes.freshest(cached.clone()), e, now()).await,
            _ => {}
        }
    } else {
        ctx.memory.update(&cached.uid().unwrap_or_default(), |n| {
            n.failures = 0;
            n.logged_error = None;
        });
    }
    outcome
}

async fn stages(cached: Arc<SeiNode>, ctx: &Context) -> Result<Action, Error> {
    let (node, retry) = match guard::guard(cached, ctx).await? {
        guard::Guarded::Proceed(node, retry) => (node, retry),
        guard::Guarded::Done(action) => return Ok(action),
    };
    ctx.metrics.reconciled();
    let seen = observe::dereference(ctx, &node).await;
    let mut work = planning::plan(&node, seen, now(), retry);
    let step = execute::execute(ctx, &node, &mut work).await?;
    status::flush(ctx, &node, work, step).await
}

/// Failed reconciles: transient errors back off exponentially per node (capped), errors a
/// person must fix are retried rarely (they are reported on the node). Each is logged once
/// per change, not per attempt.
pub fn error_policy(node: Arc<SeiNode>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed();
    let uid = node.uid().unwrap_or_default();
    let text = error.to_string();
    let (failures, repeated) = ctx.memory.with(&uid, |n| {
        n.failures += 1;
        let repeated = n.logged_error.as_deref() == Some(text.as_str());
        n.logged_error = Some(text.clone());
        (n.failures, repeated)
    });
    let delay = if error.category().needs_a_person() { error::PERSON_RETRY } else { error::backoff(failures) };
    if !repeated {
        tracing::warn!(node = %node.name_any(), namespace = %node.namespace().unwrap_or_default(), error = %text,
            retry_in = ?delay, "reconcile failed");
    }
    Action::requeue(delay)
}

fn now() -> Time {
    Time(Timestamp::now())
}

fn seconds_between(from: &Time, to: &Time) -> f64 {
    (to.0.as_millisecond() - from.0.as_millisecond()) as f64 / 1000.0
}

fn api(ctx: &Context, node: &SeiNode) -> Api<SeiNode> {
    Api::namespaced(ctx.client.clone(), &node.namespace().unwrap_or_default())
}
