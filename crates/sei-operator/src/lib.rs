//! The Sei operator: the SeiNode controller (the SeiNodeDeployment controller follows).
//! Reconciles are plan-driven: plans and resources come from `sei-planner`; this crate
//! reads and writes the cluster and talks to sidecars.

pub mod context;
pub mod error;
pub mod metrics;
pub mod node;
pub mod sidecar;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use kube::Api;
use kube::runtime::controller::Controller;
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use sei_api::SeiNode;

/// Runs the controllers until the process is signalled.
pub async fn run_controllers(ctx: Arc<context::Context>) {
    let client = ctx.client.clone();
    let nodes: Api<SeiNode> = Api::all(client.clone());
    // Only spec changes (generation) trigger a reconcile of the node itself; owned objects
    // trigger it on any change.
    let (reader, writer) = reflector::store();
    let trigger = watcher(nodes, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    Controller::for_stream(trigger, reader)
        .owns(Api::<StatefulSet>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Service>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Job>::all(client.clone()), watcher::Config::default())
        .owns(Api::<PersistentVolumeClaim>::all(client), watcher::Config::default())
        .shutdown_on_signal()
        .run(node::reconcile, node::error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "reconcile error");
            }
        })
        .await;
}
