//! kwok, the fake kubelet: fake nodes that report Ready, pods that turn Running (Job pods
//! Succeeded, except those running `seictl workload`, which the pod runner runs) without
//! running containers, and PVCs of StorageClass [`STORAGE_CLASS`] that are provisioned
//! and bound.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, NodeSpec, NodeStatus, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

use crate::Error;

/// Annotation kwok uses to pick the nodes it manages.
pub const FAKE_NODE_ANNOTATION: (&str, &str) = ("kwok.x-k8s.io/node", "fake");
/// Taint on every fake node; workloads meant for them tolerate it.
pub const FAKE_NODE_TAINT_KEY: &str = "kwok.x-k8s.io/node";
/// Value of [`FAKE_NODE_TAINT_KEY`].
pub const FAKE_NODE_TAINT_VALUE: &str = "fake";
/// StorageClass whose PVCs kwok provisions.
pub const STORAGE_CLASS: &str = "kwok-volume";

/// The operator's platform settings (its `SEI_*` environment) for the simulated cluster:
/// pods tolerate the fake nodes' taint (the toleration value is the node pool name) and
/// volumes use [`STORAGE_CLASS`]. Shared by the operator tests and the demo.
pub const SIMULATED_PLATFORM: &[(&str, &str)] = &[
    ("SEI_NODEPOOL_NAME", FAKE_NODE_TAINT_VALUE),
    ("SEI_NODEPOOL_ARCHIVE", FAKE_NODE_TAINT_VALUE),
    ("SEI_TOLERATION_KEY", FAKE_NODE_TAINT_KEY),
    ("SEI_SERVICE_ACCOUNT", "default"),
    ("SEI_STORAGE_CLASS_PERF", STORAGE_CLASS),
    ("SEI_STORAGE_CLASS_DEFAULT", STORAGE_CLASS),
    ("SEI_STORAGE_CLASS_ARCHIVE", STORAGE_CLASS),
    ("SEI_STORAGE_SIZE_DEFAULT", "1Gi"),
    ("SEI_STORAGE_SIZE_ARCHIVE", "2Gi"),
    ("SEI_RESOURCE_CPU_ARCHIVE", "1"),
    ("SEI_RESOURCE_MEM_ARCHIVE", "1Gi"),
    ("SEI_RESOURCE_CPU_DEFAULT", "1"),
    ("SEI_RESOURCE_MEM_DEFAULT", "1Gi"),
    ("SEI_SNAPSHOT_BUCKET", "snapshots"),
    ("SEI_SNAPSHOT_REGION", "local"),
    ("SEI_GENESIS_BUCKET", "genesis"),
    ("SEI_GENESIS_REGION", "local"),
    ("SEI_RESULT_EXPORT_BUCKET", "results"),
    ("SEI_RESULT_EXPORT_REGION", "local"),
    ("SEI_RESULT_EXPORT_PREFIX", "shadow-results/"),
    ("SEI_GATEWAY_NAME", "gateway"),
    ("SEI_GATEWAY_NAMESPACE", "default"),
    ("SEI_GATEWAY_DOMAIN", "sei.local"),
];

/// kwok's own stages, with its `pod-complete` stage (a Job pod succeeds at once) leaving
/// out pods whose container runs `seictl workload ...`: those the pod runner really runs.
pub fn stages(kwok_stages: &str) -> Result<String, Error> {
    let stage = kwok_stages
        .find("name: pod-complete")
        .ok_or_else(|| Error::Setup("kwok's stages have no pod-complete stage".into()))?;
    let job = "      - 'Job'\n";
    let at = kwok_stages[stage..]
        .find(job)
        .map(|i| stage + i + job.len())
        .ok_or_else(|| Error::Setup("kwok's pod-complete stage no longer selects Job pods as expected".into()))?;
    let exclude =
        "    - key: '.spec.containers.[0].command.[1]'\n      operator: 'NotIn'\n      values:\n      - 'workload'\n";
    Ok(format!("{}{exclude}{}", &kwok_stages[..at], &kwok_stages[at..]))
}

fn fake_node(name: &str, extra: &[(String, String)]) -> Node {
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), name.to_string()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        ("type".to_string(), "kwok".to_string()),
    ]);
    labels.extend(extra.iter().cloned());
    let annotations = BTreeMap::from([
        (FAKE_NODE_ANNOTATION.0.to_string(), FAKE_NODE_ANNOTATION.1.to_string()),
        ("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string()),
    ]);
    // Roomy enough for a hundred full-size Sei nodes per fake node.
    let capacity = BTreeMap::from([
        ("cpu".to_string(), Quantity("2000".into())),
        ("memory".to_string(), Quantity("16Ti".into())),
        ("pods".to_string(), Quantity("1000".into())),
        ("ephemeral-storage".to_string(), Quantity("100Ti".into())),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: Some(vec![Taint {
                key: FAKE_NODE_TAINT_KEY.into(),
                value: Some(FAKE_NODE_TAINT_VALUE.into()),
                effect: "NoSchedule".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            allocatable: Some(capacity.clone()),
            capacity: Some(capacity),
            ..Default::default()
        }),
    }
}

/// A fake node without the taint, where pods that tolerate nothing (a bench workload Job,
/// as on a real cluster's general pool) are scheduled.
pub async fn create_untainted_node(client: &Client, name: &str) -> Result<(), Error> {
    let mut node = fake_node(name, &[]);
    node.spec = None;
    match Api::<Node>::all(client.clone()).create(&PostParams::default(), &node).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates `count` fake nodes named `kwok-node-<i>` and waits until kwok reports them Ready.
pub async fn create_fake_nodes(
    client: &Client,
    count: usize,
    labels: &[(String, String)],
    timeout: Duration,
) -> Result<(), Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    for i in 0..count {
        let name = format!("kwok-node-{i}");
        match nodes.create(&PostParams::default(), &fake_node(&name, labels)).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let list = nodes.list(&Default::default()).await?;
        let ready = list
            .items
            .iter()
            .filter(|n| {
                n.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        if ready >= count {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Setup(format!("only {ready} of {count} fake nodes became Ready within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
