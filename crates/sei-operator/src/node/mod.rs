//! The SeiNode controller: one reconcile per change, plan-driven (§5 of the controller
//! spec), one status write per reconcile guarded by the object's resourceVersion.

mod events;
mod runner;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
pub use runner::{NodeRunner, quantity_bytes};
use sei_api::common::NodePhase;
use sei_api::plan::PlanPhase;
use sei_api::{SeiNode, SeiNodeStatus};
use sei_planner::executor::{self, Requeue};
use sei_planner::plan::{PlanError, build_init_plan, build_running_plan};
use sei_planner::status::{Candidate, condition, remove_condition, resolve_label_peers, set_condition};
use sei_planner::{names, resources};
use serde_json::json;

use crate::context::Context;
use crate::error::Error;
use crate::metrics::Probe;
use crate::sidecar::SidecarClient;

/// How long a Running node without a plan waits before the next check.
const STEADY: Duration = Duration::from_secs(30);
/// How long a reconcile that saw a version this operator already replaced waits for the
/// watch cache to catch up.
const CACHE_LAG: Duration = Duration::from_millis(100);

fn now() -> Time {
    Time(Timestamp::now())
}

fn seconds_between(from: &Time, to: &Time) -> f64 {
    (to.0.as_millisecond() - from.0.as_millisecond()) as f64 / 1000.0
}

fn api(ctx: &Context, ns: &str) -> Api<SeiNode> {
    Api::namespaced(ctx.client.clone(), ns)
}

/// The sidecar token, creating its Secret (owned by the node) on first use.
async fn sidecar_token(ctx: &Context, node: &SeiNode) -> Result<String, Error> {
    let uid = node.uid().unwrap_or_default();
    if let Some(token) = ctx.tokens.get(&uid) {
        return Ok(token);
    }
    let (token, owned) = read_or_create_token(ctx, node, true).await?;
    // A Secret left by an earlier node of the same name is about to be garbage-collected:
    // use it this time, but read again next time.
    if owned {
        ctx.tokens.put(&uid, &token);
    }
    Ok(token)
}

/// The token, and whether its Secret belongs to this node.
async fn read_or_create_token(ctx: &Context, node: &SeiNode, may_create: bool) -> Result<(String, bool), Error> {
    let ns = node.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let name = names::token_secret(&node.name_any());
    if let Some(s) = secrets.get_opt(&name).await? {
        let owned = s.owner_references().iter().any(|r| Some(&r.uid) == node.uid().as_ref());
        match s.data.as_ref().and_then(|d| d.get(names::TOKEN_KEY)) {
            Some(t) => return Ok((String::from_utf8_lossy(&t.0).into_owned(), owned)),
            None => {
                return Err(Error::Other(format!(
                    "Secret {ns}/{name} has no \"{}\" key; delete it and the operator makes a new one",
                    names::TOKEN_KEY
                )));
            }
        }
    }
    if !may_create {
        return Err(Error::Other(format!("Secret {ns}/{name} was created and deleted again meanwhile")));
    }
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| Error::Other(format!("no randomness for the sidecar token: {e}")))?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns),
            labels: Some(names::selector(&node.name_any())),
            owner_references: Some(vec![resources::owner(node)]),
            ..Default::default()
        },
        data: Some([(names::TOKEN_KEY.to_string(), ByteString(token.clone().into_bytes()))].into()),
        ..Default::default()
    };
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok((token, true)),
        // Created meanwhile by someone else: use the stored one (read once more, no loop).
        Err(kube::Error::Api(s)) if s.code == 409 => Box::pin(read_or_create_token(ctx, node, false)).await,
        Err(e) => Err(e.into()),
    }
}

async fn resolve_peers(ctx: &Context, node: &SeiNode) -> Result<Vec<String>, Error> {
    let sources: Vec<_> = node.spec.peers.iter().flatten().filter_map(|p| p.label.as_ref()).collect();
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let own_ns = node.namespace().unwrap_or_default();
    let mut listed = std::collections::HashMap::new();
    for s in &sources {
        let ns = s.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| own_ns.clone());
        if !listed.contains_key(&ns) {
            listed.insert(ns.clone(), api(ctx, &ns).list(&ListParams::default()).await?.items);
        }
    }
    let name = node.name_any();
    let empty = Default::default();
    Ok(resolve_label_peers((&name, &own_ns), &sources, |ns| {
        listed
            .get(ns)
            .map(|items| {
                items
                    .iter()
                    .map(|n| Candidate {
                        name: n.metadata.name.as_deref().unwrap_or_default(),
                        namespace: n.metadata.namespace.as_deref().unwrap_or_default(),
                        labels: n.metadata.labels.as_ref().unwrap_or(&empty),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }))
}

/// Writes `status` over the node's, failing with a conflict if the node changed since it
/// was read (the resourceVersion precondition).
/// Returns the node's new resourceVersion.
async fn write_status(ctx: &Context, node: &SeiNode, status: &SeiNodeStatus) -> Result<Option<String>, Error> {
    let body = json!({"metadata": {"resourceVersion": node.resource_version()}, "status": status_patch(node.status.as_ref(), status)});
    let written = api(ctx, &node.namespace().unwrap_or_default())
        .patch_status(&node.name_any(), &PatchParams::default(), &Patch::Merge(&body))
        .await?;
    superseded(ctx, node, &written);
    ctx.metrics.status_written();
    Ok(written.resource_version())
}

/// Notes that `node`'s version was replaced by `written` (only if it really was: a write
/// the API server found empty keeps the version and sends no watch event).
fn superseded(ctx: &Context, node: &SeiNode, written: &SeiNode) {
    let old = node.resource_version().unwrap_or_default();
    if written.resource_version().is_some_and(|new| new != old) {
        ctx.superseded.wrote(&node.uid().unwrap_or_default(), &old);
    }
}

/// The merge patch that turns `old` into `new`: fields `new` leaves out are sent as null,
/// since a merge patch that omits a field keeps it (a cleared plan would stay otherwise).
fn status_patch(old: Option<&SeiNodeStatus>, new: &SeiNodeStatus) -> serde_json::Value {
    let mut patch = serde_json::to_value(new).expect("status serialises");
    if let (Some(old), Some(fields)) = (old.map(serde_json::to_value), patch.as_object_mut())
        && let Ok(serde_json::Value::Object(old)) = old
    {
        for key in old.keys() {
            fields.entry(key.clone()).or_insert(serde_json::Value::Null);
        }
    }
    patch
}

async fn delete(ctx: &Context, node: &SeiNode) -> Result<Action, Error> {
    if !node.finalizers().iter().any(|f| f == names::FINALIZER_NODE) {
        return Ok(Action::await_change());
    }
    let ns = node.namespace().unwrap_or_default();
    let mut status = node.status.clone().unwrap_or_default();
    let mut version = node.resource_version();
    if status.phase != Some(NodePhase::Terminating) {
        status.phase = Some(NodePhase::Terminating);
        version = write_status(ctx, node, &status).await?;
    }
    // An imported PVC belongs to the user and is never deleted.
    let imported = node.spec.data_volume.as_ref().is_some_and(|d| d.import.is_some());
    if !imported {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
        match pvcs.delete(&names::data_pvc(node), &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let finalizers: Vec<String> = node.finalizers().iter().filter(|f| *f != names::FINALIZER_NODE).cloned().collect();
    // The version this reconcile wrote last: the precondition still guards against others.
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": version}});
    api(ctx, &ns).patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    ctx.metrics.forget(&ns, &node.name_any());
    ctx.tokens.forget(&node.uid().unwrap_or_default());
    ctx.superseded.forget(&node.uid().unwrap_or_default());
    Ok(Action::await_change())
}

/// One reconcile of a SeiNode.
pub async fn reconcile(node: Arc<SeiNode>, ctx: Arc<Context>) -> Result<Action, Error> {
    let uid = node.uid().unwrap_or_default();
    if ctx.superseded.is_stale(&uid, &node.resource_version().unwrap_or_default()) {
        tracing::debug!(node = %node.name_any(), "waiting for the watch cache to show this operator's last write");
        return Ok(Action::requeue(CACHE_LAG));
    }
    ctx.metrics.reconciled();
    let ns = node.namespace().unwrap_or_default();
    if node.meta().deletion_timestamp.is_some() {
        return delete(&ctx, &node).await;
    }
    if !node.finalizers().iter().any(|f| f == names::FINALIZER_NODE) {
        let mut finalizers = node.finalizers().to_vec();
        finalizers.push(names::FINALIZER_NODE.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": node.resource_version()}});
        let written = api(&ctx, &ns).patch(&node.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        superseded(&ctx, &node, &written);
        return Ok(Action::requeue(Duration::from_millis(1)));
    }
    let original = node.status.clone().unwrap_or_default();
    if original.phase == Some(NodePhase::Failed) {
        return Ok(Action::await_change());
    }
    let mut status = original.clone();
    let now = now();
    let generation = node.metadata.generation;

    let peers = resolve_peers(&ctx, &node).await?;
    status.resolved_peers = (!peers.is_empty()).then_some(peers);
    // The planner sees the peers resolved in this reconcile.
    let mut view = (*node).clone();
    view.status = Some(status.clone());

    let token = sidecar_token(&ctx, &node).await?;
    let url = ctx.sidecar_url(&ns, &node.name_any(), names::sidecar_url(&node));
    let sidecar = SidecarClient::new(ctx.http.clone(), url, Some(token));

    // Health of a running node's sidecar.
    let mut not_ready = false;
    if status.phase == Some(NodePhase::Running) {
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let (s, reason, message, probe) = match sidecar.healthz().await {
            Ok(true) => ("True", "Ready", "sidecar returned 200".to_string(), Probe::Ready),
            Ok(false) => {
                ("False", "NotReady", "sidecar returned 503, re-issuing mark-ready".to_string(), Probe::NotReady)
            }
            Err(e) => ("Unknown", "Unreachable", format!("sidecar Healthz error: {e}"), Probe::Unreachable),
        };
        ctx.metrics.probe(&ns, &node.name_any(), probe);
        not_ready = s == "False";
        set_condition(conditions, "SidecarReady", s, reason, &message, generation, &now);
    }

    // Planning.
    let had_active = status.plan.as_ref().is_some_and(|p| p.phase == PlanPhase::Active);
    let mut blocked = false;
    if !had_active {
        if let Some(done) = status.plan.take() {
            let started = done.tasks.first().and_then(|t| t.submitted_at.as_ref());
            let seconds = started.map(|t| seconds_between(t, &now));
            ctx.metrics.plan_finished(&ns, &done, seconds);
            let conditions = status.conditions.get_or_insert_with(Vec::new);
            let updating = condition(conditions, "NodeUpdateInProgress").is_some_and(|c| c.status == "True");
            if updating {
                let id = done.id.clone().unwrap_or_default();
                let (reason, message) = match done.phase {
                    PlanPhase::Complete => ("UpdateComplete", format!("plan {id} completed")),
                    _ => match &done.failed_task_detail {
                        Some(d) => ("UpdateFailed", format!("plan {id} failed: task {}: {}", d.task_type, d.error)),
                        None => ("UpdateFailed", format!("plan {id} failed: unknown")),
                    },
                };
                set_condition(conditions, "NodeUpdateInProgress", "False", reason, &message, generation, &now);
            }
        }
        let plan_id = uuid::Uuid::new_v4().to_string();
        let built = if status.phase == Some(NodePhase::Running) {
            Ok(build_running_plan(&view, not_ready, &plan_id))
        } else {
            build_init_plan(&view, &plan_id).map(Some)
        };
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        match built {
            Ok(plan) => {
                remove_condition(conditions, "PlanBlocked");
                if let Some(plan) = plan {
                    if plan.tasks.iter().any(|t| t.task_type == sei_planner::plan::task::OBSERVE_IMAGE) {
                        let current = status.current_image.clone().unwrap_or_default();
                        let message = format!("image drift detected: spec={} current={current}", node.spec.image);
                        let conditions = status.conditions.get_or_insert_with(Vec::new);
                        set_condition(
                            conditions,
                            "NodeUpdateInProgress",
                            "True",
                            "UpdateStarted",
                            &message,
                            generation,
                            &now,
                        );
                    }
                    status.plan = Some(plan);
                    if status.phase.is_none() || status.phase == Some(NodePhase::Pending) {
                        status.phase = Some(NodePhase::Initializing);
                        status.phase_transition_time = Some(now.clone());
                    }
                }
            }
            Err(e) => {
                blocked = true;
                let reason = match e {
                    PlanError::NoPeers(_) => "PeersUnresolved",
                    _ => "InvalidSpec",
                };
                set_condition(conditions, "PlanBlocked", "True", reason, &e.to_string(), generation, &now);
            }
        }
    }

    // Execution: a new plan is only persisted in this reconcile.
    let mut requeue = Requeue::After(executor::IMMEDIATELY);
    let mut transitioned = false;
    let mut transient = None;
    let new_plan = !had_active && status.plan.is_some();
    if had_active {
        let mut plan = status.plan.take().expect("active");
        let init = plan.tasks.iter().any(|t| t.task_type == sei_planner::plan::task::ENSURE_DATA_PVC);
        let step = {
            let mut runner = NodeRunner { ctx: &ctx, node: &node, status: &mut status, sidecar, now: now.clone() };
            executor::execute(&mut plan, &mut runner, now.clone()).await
        };
        if let Some(phase) = step.phase {
            transitioned = true;
            status.phase = Some(phase);
            status.phase_transition_time = Some(now.clone());
            // The init plan applied this image: no update plan is needed right after it.
            if plan.phase == PlanPhase::Complete && init {
                status.current_image = Some(node.spec.image.clone());
            }
        }
        status.plan = Some(plan);
        requeue = step.requeue;
        transient = step.transient;
    }

    if status != original {
        write_status(&ctx, &node, &status).await?;
        let reference = node.object_ref(&());
        for event in events::changes(&original, &status) {
            // Events are best effort: a lost one must not fail or repeat the reconcile.
            if let Err(e) = ctx.recorder.publish(&event, &reference).await {
                tracing::warn!(node = %node.name_any(), reason = %event.reason, error = %e, "cannot publish an event");
            }
        }
        if let Some(to) = status.phase
            && status.phase != original.phase
        {
            let spent = original.phase_transition_time.as_ref().map(|t| seconds_between(t, &now));
            ctx.metrics.transition(&ns, &node.spec.chain_id, original.phase, to, spent);
        }
    }
    if let Some(t) = transient {
        tracing::info!(node = %node.name_any(), namespace = %ns, reason = %t, "task not done yet");
    }
    let active = status.plan.as_ref().is_some_and(|p| p.phase == PlanPhase::Active);
    ctx.metrics.observe(&ns, &node.name_any(), status.phase, active);
    Ok(match requeue {
        _ if new_plan => Action::requeue(executor::IMMEDIATELY),
        // Peers may appear without this node changing; a spec change re-plans at once.
        _ if blocked => Action::requeue(STEADY),
        // A node that just reached Running is probed and its finished plan cleared at once.
        _ if transitioned => Action::requeue(executor::IMMEDIATELY),
        _ if status.phase == Some(NodePhase::Running) && !active => Action::requeue(STEADY),
        Requeue::After(d) => Action::requeue(d),
        Requeue::Never => Action::await_change(),
    })
}

/// Failed reconciles are retried with the controller's backoff; this one is a floor.
pub fn error_policy(node: Arc<SeiNode>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed();
    tracing::warn!(node = %node.name_any(), %error, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cleared_in_the_new_status_are_nulled_in_the_patch() {
        let old: SeiNodeStatus = serde_json::from_value(json!({
            "phase": "Running", "resolvedPeers": ["a@b:26656"],
            "plan": {"phase": "Complete", "tasks": []}
        }))
        .unwrap();
        let new: SeiNodeStatus = serde_json::from_value(json!({"phase": "Running"})).unwrap();
        let patch = status_patch(Some(&old), &new);
        assert_eq!(patch, json!({"phase": "Running", "resolvedPeers": null, "plan": null}));
        assert_eq!(status_patch(None, &new), json!({"phase": "Running"}));
    }
}
