//! Stage 2b, networking (§7.7, §7.8, §8.7): with `spec.networking`, the external Service
//! and the HTTPRoutes, then the DNS gate; without it, whatever an earlier spec made is
//! removed. Nothing is sent while what was last applied still stands, so a fleet at rest
//! makes no writes.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::events::EventType;
use sei_api::deployment::NetworkingStatus;
use sei_api::{SeiNodeDeployment, SeiNodeDeploymentStatus};
use sei_planner::group::networking::{
    external_service, external_service_name, gate_hostname, http_route_resource, http_routes, route_statuses,
};
use sei_planner::names;
use sei_planner::status::{condition, remove_condition, set_condition};

use super::plans::Events;
use crate::context::Context;
use crate::error::Error;

pub const ROUTE_READY: &str = "RouteReady";

/// Whether children may be made (the DNS gate).
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// The first route's hostname does not resolve yet.
    DnsPending,
}

fn routes_api(ctx: &Context, d: &SeiNodeDeployment) -> Api<DynamicObject> {
    Api::namespaced_with(ctx.client.clone(), &d.namespace().unwrap_or_default(), &http_route_resource())
}

fn services(ctx: &Context, d: &SeiNodeDeployment) -> Api<Service> {
    Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default())
}

/// The kind is not served (the CRD is not installed). The API server answers a path it
/// does not serve with a bare 404 page, not a Status, so only the code can be relied on.
fn no_such_kind(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn key(d: &SeiNodeDeployment, what: &str) -> String {
    format!("{}/{}/{what}", d.namespace().unwrap_or_default(), d.name_any())
}

/// The HTTPRoutes labelled for `d` (names and owners); an uninstalled kind has none.
async fn labelled_routes(
    ctx: &Context,
    d: &SeiNodeDeployment,
) -> Result<Vec<kube::core::PartialObjectMeta<DynamicObject>>, Error> {
    let lp = ListParams::default().labels(&format!("{}={}", names::LABEL_DEPLOYMENT, d.name_any()));
    match routes_api(ctx, d).list_metadata(&lp).await {
        Ok(l) => Ok(l.items),
        Err(e) if no_such_kind(&e) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the HTTPRoutes labelled for `d`, except `keep`.
async fn delete_routes_except(ctx: &Context, d: &SeiNodeDeployment, keep: &[String]) -> Result<(), Error> {
    let api = routes_api(ctx, d);
    let listed = labelled_routes(ctx, d).await?;
    for route in listed.iter().filter(|r| !keep.contains(&r.name_any())) {
        ctx.check_writing()?;
        match api.delete(&route.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Removes the external Service and every route of `d` (networking turned off).
pub async fn remove_all(ctx: &Context, d: &SeiNodeDeployment) -> Result<(), Error> {
    ctx.check_writing()?;
    match services(ctx, d).delete(&external_service_name(&d.name_any()), &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    delete_routes_except(ctx, d, &[]).await?;
    ctx.applied.forget(&key(d, "external"));
    ctx.applied.forget(&key(d, "routes"));
    Ok(())
}

/// Applies or removes the fleet's networking and says whether the DNS gate is open.
pub async fn reconcile(
    ctx: &Context,
    d: &SeiNodeDeployment,
    revision: &str,
    status: &mut SeiNodeDeploymentStatus,
    events: &mut Events,
    now: &Time,
) -> Result<Gate, Error> {
    let generation = d.metadata.generation;
    let Some(service) = external_service(d, revision) else {
        // Only if an earlier spec had networking (its traces are in the status): a fleet
        // that never had any makes no request here.
        let had = status.networking_status.is_some()
            || status.conditions.as_deref().and_then(|c| condition(c, ROUTE_READY)).is_some();
        if had {
            remove_all(ctx, d).await?;
            status.networking_status = None;
            remove_condition(status.conditions.get_or_insert_with(Vec::new), ROUTE_READY);
        }
        return Ok(Gate::Open);
    };
    let external = key(d, "external");
    if !ctx.applied.current(&external, &service) {
        ctx.check_writing()?;
        let params = PatchParams::apply(names::MANAGER_DEPLOYMENT).force();
        services(ctx, d).patch(&service.name_any(), &params, &Patch::Apply(&service)).await?;
        ctx.applied.record(&external, &service);
    }

    let routes = http_routes(d, &ctx.platform);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if routes.is_empty() {
        // A validator fleet: no routes, and none left from an earlier template.
        if condition(conditions, ROUTE_READY).is_some() {
            delete_routes_except(ctx, d, &[]).await?;
            remove_condition(conditions, ROUTE_READY);
        }
        status.networking_status = None;
        return Ok(Gate::Open);
    }
    let applied = key(d, "routes");
    let missing = condition(conditions, ROUTE_READY).is_some_and(|c| c.reason == "CRDNotInstalled");
    if missing && ctx.applied.current(&applied, &routes) {
        // Tried lately, and the kind was not there: nothing to gate on.
        status.networking_status = None;
        return Ok(Gate::Open);
    }
    if !ctx.applied.current(&applied, &routes) {
        let api = routes_api(ctx, d);
        let params = PatchParams::apply(names::MANAGER_DEPLOYMENT).force();
        for route in &routes {
            ctx.check_writing()?;
            match api.patch(&route.name_any(), &params, &Patch::Apply(route)).await {
                Ok(_) => {}
                Err(e) if no_such_kind(&e) => {
                    let message = "Gateway API CRD (HTTPRoute) is not installed";
                    if condition(conditions, ROUTE_READY).is_none_or(|c| c.reason != "CRDNotInstalled") {
                        events.push((EventType::Warning, "CRDNotInstalled", message.into()));
                    }
                    set_condition(conditions, ROUTE_READY, "False", "CRDNotInstalled", message, generation, now);
                    status.networking_status = None;
                    // Not an error: the fleet runs without public routes until the kind is
                    // installed; tried again on the next change of the fleet, or in 10
                    // minutes (not on every reconcile: a fleet at rest makes no writes).
                    ctx.applied.record(&applied, &routes);
                    return Ok(Gate::Open);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let names: Vec<String> = routes.iter().map(|r| r.name_any()).collect();
        delete_routes_except(ctx, d, &names).await?;
        ctx.applied.record(&applied, &routes);
    }
    status.networking_status = Some(NetworkingStatus { routes: Some(route_statuses(d, &routes, &ctx.platform)) });

    if let Some(host) = gate_hostname(&routes)
        && !ctx.gate.resolves(&host).await
    {
        let message = format!("Waiting for route hostname {host} to resolve in DNS");
        set_condition(conditions, ROUTE_READY, "False", "DNSPending", &message, generation, now);
        return Ok(Gate::DnsPending);
    }
    let message = format!("{} HTTPRoute(s) reconciled successfully", routes.len());
    if condition(conditions, ROUTE_READY).is_none_or(|c| c.reason != "HTTPRouteReady") {
        events.push((EventType::Normal, "HTTPRouteReady", message.clone()));
    }
    set_condition(conditions, ROUTE_READY, "True", "HTTPRouteReady", &message, generation, now);
    Ok(Gate::Open)
}

/// On deletion with `Retain`: the external Service and the routes stay, without the
/// deployment's owner reference.
pub async fn orphan(ctx: &Context, d: &SeiNodeDeployment) -> Result<(), Error> {
    let uid = d.uid().unwrap_or_default();
    let unowned = |refs: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]| {
        refs.iter().filter(|r| r.uid != uid).cloned().collect::<Vec<_>>()
    };
    if let Some(svc) = services(ctx, d).get_opt(&external_service_name(&d.name_any())).await? {
        let patch = serde_json::json!({"metadata": {"ownerReferences": unowned(svc.owner_references())}});
        ctx.check_writing()?;
        services(ctx, d).patch(&svc.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    let api = routes_api(ctx, d);
    for route in labelled_routes(ctx, d).await? {
        let patch = serde_json::json!({"metadata": {"ownerReferences": unowned(route.owner_references())}});
        ctx.check_writing()?;
        api.patch(&route.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    Ok(())
}
