//! Stage 4: the fleet's status from its children, written once (a full replace at the
//! version read, so a concurrent change fails the write instead of being overwritten).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::PostParams;
use sei_api::{SeiNodeDeployment, SeiNodeDeploymentStatus};
use sei_planner::group::{self, FleetView};
use sei_planner::status::{condition, set_condition};

use super::{api, children_of};
use crate::context::Context;
use crate::error::Error;

use super::plans::{PLAN_IN_PROGRESS, ROLLOUT_IN_PROGRESS};

pub const NODES_READY: &str = "NodesReady";

/// Completes `status` (the reconcile's working copy) from the children and writes it if
/// it differs from what was read. Returns the status as it now stands.
pub async fn flush(
    ctx: &Context,
    d: &SeiNodeDeployment,
    mut status: SeiNodeDeploymentStatus,
    now: &Time,
) -> Result<SeiNodeDeploymentStatus, Error> {
    let original = d.status.clone().unwrap_or_default();
    // The serving fleet: during a blue-green or hard-fork roll-out the entrants are not
    // counted until traffic moves to them (they are in `status.rollout.entrantNodes`).
    let children = children_of(ctx, d);
    let revision = group::serving_revision(d, status.rollout.as_ref(), &children);
    let mut listed: Vec<_> = group::of_revision(d, &children, &revision).into_iter().cloned().collect();
    // By ordinal: the cache's order is arbitrary, and a status must not change with it.
    listed.sort_by_key(|n| (group::ordinal_of(n), n.name_any()));
    let fleet = FleetView { children: &listed, replicas: d.spec.replicas };
    let now = now.clone();
    let generation = d.metadata.generation;

    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let (s, reason, message) = fleet.nodes_ready();
    set_condition(conditions, NODES_READY, s, reason, &message, generation, &now);
    let is_true = |t: &str| condition(conditions, t).is_some_and(|c| c.status == "True");
    let (plan, rollout) = (is_true(PLAN_IN_PROGRESS), is_true(ROLLOUT_IN_PROGRESS));
    status.phase = Some(group::phase(rollout, plan, status.rollout.is_some(), &fleet));
    if !plan && !rollout {
        status.observed_generation = generation;
        status.template_hash = Some(group::template_hash(&d.spec));
    }
    status.replicas = Some(d.spec.replicas);
    status.ready_replicas = Some(fleet.ready());
    status.caught_up_replicas = Some(fleet.caught_up());
    status.nodes = Some(fleet.rows()).filter(|r| !r.is_empty());
    status.incumbent_nodes = Some(listed.iter().map(|n| n.name_any()).collect::<Vec<_>>()).filter(|r| !r.is_empty());
    let internal = group::internal_service_status(d);
    status.per_pod_services = fleet.per_pod_services();
    status.endpoints = group::status::endpoints(Some(&internal), status.per_pod_services.as_deref());
    status.internal_service = Some(internal);

    // Only a real change is written: a fleet at rest makes no requests.
    if status == original {
        return Ok(status);
    }
    ctx.check_writing()?;
    let mut body = d.clone();
    body.status = Some(status.clone());
    body.metadata.managed_fields = None;
    api(ctx, d).replace_status(&d.name_any(), &PostParams::default(), &body).await?;
    Ok(status)
}
