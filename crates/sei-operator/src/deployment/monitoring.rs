//! Stage 3b, monitoring (§7.9, §8.8): the fleet's ServiceMonitor while
//! `spec.monitoring.serviceMonitor` asks for one, removed when it no longer does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::events::EventType;
use sei_api::{SeiNodeDeployment, SeiNodeDeploymentStatus};
use sei_planner::group::monitoring::{service_monitor, service_monitor_resource};
use sei_planner::names;
use sei_planner::status::{condition, remove_condition, set_condition};

use super::plans::Events;
use crate::context::Context;
use crate::error::Error;

pub const SERVICE_MONITOR_READY: &str = "ServiceMonitorReady";

fn api(ctx: &Context, d: &SeiNodeDeployment) -> Api<DynamicObject> {
    Api::namespaced_with(ctx.client.clone(), &d.namespace().unwrap_or_default(), &service_monitor_resource())
}

fn key(d: &SeiNodeDeployment) -> String {
    format!("{}/{}/servicemonitor", d.namespace().unwrap_or_default(), d.name_any())
}

/// The kind is not served (the CRD is not installed), or the object is gone.
fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

pub async fn reconcile(
    ctx: &Context,
    d: &SeiNodeDeployment,
    status: &mut SeiNodeDeploymentStatus,
    events: &mut Events,
    now: &Time,
) -> Result<(), Error> {
    let generation = d.metadata.generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let Some(monitor) = service_monitor(d) else {
        // Only if an earlier spec asked for one (its condition says so).
        if condition(conditions, SERVICE_MONITOR_READY).is_some() {
            ctx.check_writing()?;
            match api(ctx, d).delete(&d.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
            ctx.applied.forget(&key(d));
            remove_condition(conditions, SERVICE_MONITOR_READY);
        }
        return Ok(());
    };
    if ctx.applied.current(&key(d), &monitor) {
        return Ok(());
    }
    ctx.check_writing()?;
    let params = PatchParams::apply(names::MANAGER_DEPLOYMENT).force();
    let was = condition(conditions, SERVICE_MONITOR_READY).map(|c| c.reason.clone());
    match api(ctx, d).patch(&monitor.name_any(), &params, &Patch::Apply(&monitor)).await {
        Ok(_) => {
            ctx.applied.record(&key(d), &monitor);
            let message = "ServiceMonitor reconciled successfully";
            if was.as_deref() != Some("ServiceMonitorReady") {
                events.push((EventType::Normal, "ServiceMonitorReady", message.into()));
            }
            set_condition(conditions, SERVICE_MONITOR_READY, "True", "ServiceMonitorReady", message, generation, now);
            Ok(())
        }
        Err(e) if not_found(&e) => {
            // Not an error: the fleet runs unmonitored until the kind is installed; tried
            // again on the next change of the fleet, or in 10 minutes.
            ctx.applied.record(&key(d), &monitor);
            let message = "Prometheus Operator CRD (ServiceMonitor) is not installed";
            if was.as_deref() != Some("CRDNotInstalled") {
                events.push((EventType::Warning, "CRDNotInstalled", message.into()));
            }
            set_condition(conditions, SERVICE_MONITOR_READY, "False", "CRDNotInstalled", message, generation, now);
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// On deletion with `Retain`: the ServiceMonitor stays, without the owner reference.
pub async fn orphan(ctx: &Context, d: &SeiNodeDeployment) -> Result<(), Error> {
    let uid = d.uid().unwrap_or_default();
    let monitor = match api(ctx, d).get_metadata_opt(&d.name_any()).await {
        Ok(Some(m)) => m,
        Ok(None) => return Ok(()),
        Err(e) if not_found(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let owners: Vec<_> = monitor.owner_references().iter().filter(|r| r.uid != uid).cloned().collect();
    ctx.check_writing()?;
    let patch = serde_json::json!({"metadata": {"ownerReferences": owners}});
    api(ctx, d).patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}
