//! The Sei operator: the SeiNode controller (the SeiNodeDeployment controller follows).
//! Reconciles are plan-driven: plans and resources come from `sei-planner`; this crate
//! reads and writes the cluster and talks to sidecars.

pub mod addresses;
pub mod context;
pub mod deployment;
pub mod error;
pub mod fleet_metrics;
pub mod gate;
pub mod leader;
pub mod memory;
pub mod metrics;
pub mod node;
pub mod reach;
pub mod sidecar;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_planner::names;

/// Reconciles in flight at once. Each waits on the API server or a sidecar, never on the
/// CPU, so many may run; sidecar calls have their own, smaller bound
/// ([`reach::CALLS_IN_FLIGHT`]) and a reconcile that finds it full comes back later
/// instead of holding its slot, so 1,000 starting nodes do not queue behind each other.
pub const CONCURRENCY: u16 = 256;

/// What wakes a SeiNode's reconcile: a new generation (spec change, deletion) or a
/// change of the retry annotation. The operator's own status writes do not.
fn spec_or_retry(node: &SeiNode) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    node.meta().generation.hash(&mut h);
    node.annotations().get(node::RETRY_ANNOTATION).hash(&mut h);
    Some(h.finish())
}

/// A watch of the objects the operator makes for nodes, by the label they all carry:
/// metadata only (all a reconcile trigger needs), never the cluster's other objects.
fn owned<K>(
    client: &kube::Client,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + use<K>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    labelled(client, names::LABEL_NODE)
}

/// Objects carrying `label` (any value), metadata only.
fn labelled<K>(
    client: &kube::Client,
    label: &str,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + use<K>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let config = watcher::Config::default().labels(label).any_semantic();
    watcher(Api::<PartialObjectMeta<K>>::all(client.clone()), config).default_backoff().touched_objects()
}

/// The pods of nodes (labelled by the StatefulSet's template), as reconcile triggers: a
/// pod that is scheduled, starts or restarts is when its sidecar may answer again. Each
/// change is noted, which resets the node's unreachable-sidecar backoff.
fn pods(
    ctx: &Arc<context::Context>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<Pod>, watcher::Error>> + Send + use<> {
    let ctx = ctx.clone();
    owned::<Pod>(&ctx.client).inspect(move |pod| {
        if let Ok(pod) = pod
            && let Some(node) = pod.labels().get(names::LABEL_NODE)
        {
            ctx.memory.pod_changed(format!("{}/{node}", pod.namespace().unwrap_or_default()));
        }
    })
}

/// The SeiNode a pod belongs to, by its label.
fn node_of_pod(pod: PartialObjectMeta<Pod>) -> Option<ObjectRef<SeiNode>> {
    let node = pod.labels().get(names::LABEL_NODE)?;
    Some(ObjectRef::new(node).within(&pod.namespace().unwrap_or_default()))
}

/// What wakes a deployment through its children: a child's spec or phase changing, its
/// deletion starting or completing (finalizers gone), not the task-by-task status churn of
/// its plans (§8.1).
fn generation_or_phase(node: &SeiNode) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    node.meta().generation.hash(&mut h);
    node.status.as_ref().and_then(|s| s.phase).map(|p| p.as_str()).hash(&mut h);
    // The fleet counts caught-up nodes.
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.and_then(|cs| cs.iter().find(|c| c.type_ == "CaughtUp")).map(|c| c.status.as_str()).hash(&mut h);
    node.meta().deletion_timestamp.is_some().hash(&mut h);
    node.finalizers().is_empty().hash(&mut h);
    Some(h.finish())
}

/// The SeiNodeDeployment controller; it reads children from the SeiNode controller's cache.
async fn run_deployments(ctx: Arc<context::Context>) {
    let client = ctx.client.clone();
    let (store, writer) = kube::runtime::reflector::store::<SeiNodeDeployment>();
    let trigger = watcher(Api::<SeiNodeDeployment>::all(client.clone()), watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(|d| d.metadata.managed_fields = None)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(kube::runtime::predicates::generation, Default::default());
    let (children_store, children_writer) = kube::runtime::reflector::store::<SeiNode>();
    let _ = ctx.children.set(children_store);
    let children = watcher(
        Api::<SeiNode>::all(client.clone()),
        watcher::Config::default().labels(names::LABEL_DEPLOYMENT).any_semantic(),
    )
    .default_backoff()
    .modify(|n| n.metadata.managed_fields = None)
    .reflect(children_writer)
    .touched_objects()
    .predicate_filter(generation_or_phase, Default::default());
    let results = Controller::for_stream(trigger, store)
        .with_config(controller::Config::default().concurrency(16))
        .owns_stream(children)
        // Services a deployment made, by their membership label.
        .owns_stream(labelled::<Service>(&client, names::LABEL_DEPLOYMENT))
        .reconcile_all_on(ctx.leadership.starts())
        .shutdown_on_signal()
        .run(deployment::reconcile, deployment::error_policy, ctx);
    drain(results, deployment::CONTROLLER).await;
}

/// Drives a controller until it shuts down. Failed reconciles are logged by their error
/// policies; what reaches here is only worth a debug line.
async fn drain<T, E: std::fmt::Display>(results: impl futures::Stream<Item = Result<T, E>>, controller: &'static str) {
    results
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(controller, error = %e, "reconcile error");
            }
        })
        .await;
}

/// Runs the controllers until the process is signalled. Every replica watches (so a new
/// leader starts warm); only a replica that may write acts (see [`leader`]).
pub async fn run_controllers(ctx: Arc<context::Context>) {
    let client = ctx.client.clone();
    let writer = ctx.take_node_writer().expect("run_controllers runs once per context");
    let trigger = watcher(Api::<SeiNode>::all(client.clone()), watcher::Config::default().any_semantic())
        .default_backoff()
        // The field owners are never used and are the bulk of a cached object.
        .modify(|n| n.metadata.managed_fields = None)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(spec_or_retry, Default::default());
    let config = controller::Config::default().concurrency(CONCURRENCY);
    let sweeper = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP);
            loop {
                tick.tick().await;
                // Only once the cache has been filled: an empty store would forget everything.
                if ctx.nodes.wait_until_ready().await.is_ok() {
                    ctx.sweep();
                }
            }
        })
    };
    let deployments = tokio::spawn(run_deployments(ctx.clone()));
    let results = Controller::for_stream(trigger, ctx.nodes.clone())
        .with_config(config)
        .owns_stream(owned::<StatefulSet>(&client))
        .owns_stream(owned::<Service>(&client))
        .owns_stream(owned::<Job>(&client))
        .owns_stream(owned::<PersistentVolumeClaim>(&client))
        .watches_stream(pods(&ctx), node_of_pod)
        .reconcile_all_on(ctx.leadership.starts())
        .shutdown_on_signal()
        .run(node::reconcile, node::error_policy, ctx);
    drain(results, "seinode").await;
    sweeper.abort();
    let _ = deployments.await;
}

/// How often what is kept in memory about deleted nodes is dropped.
const SWEEP: std::time::Duration = std::time::Duration::from_secs(60);
