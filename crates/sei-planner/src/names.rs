//! Names, labels, annotations and other identifiers the operator stamps on objects. They
//! are part of the wire contract with the reference operator.

use std::collections::BTreeMap;

use kube::ResourceExt;
use sei_api::SeiNode;

pub const LABEL_NODE: &str = "sei.io/node";
pub const LABEL_DEPLOYMENT: &str = "sei.io/nodedeployment";
pub const LABEL_ORDINAL: &str = "sei.io/nodedeployment-ordinal";
pub const LABEL_REVISION: &str = "sei.io/revision";
pub const LABEL_COMPONENT: &str = "sei.io/component";
pub const ANNOTATION_MANAGED_BY: &str = "sei.io/managed-by";
pub const ANNOTATION_DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";
pub const NODEPOOL_LABEL: &str = "karpenter.sh/nodepool";

pub const FINALIZER_NODE: &str = "sei.io/seinode-finalizer";
pub const FINALIZER_DEPLOYMENT: &str = "sei.io/seinodedeployment-finalizer";
pub const MANAGER_NODE: &str = "seinode-controller";
pub const MANAGER_DEPLOYMENT: &str = "seinodedeployment-controller";

/// Where seid keeps its home inside the pod.
pub const HOME: &str = "/sei";

/// The sidecar image used when a SeiNode names none and `SEI_SIDECAR_IMAGE` is unset:
/// this release's `seictl` image (built from `images/seictl.Dockerfile`).
pub const DEFAULT_SIDECAR_IMAGE: &str = concat!("ghcr.io/sei-k8s/seictl:", env!("CARGO_PKG_VERSION"));

/// The reference operator's compiled-in sidecar image; set `SEI_SIDECAR_IMAGE` to it to
/// keep the reference's sidecars while moving a cluster to this operator
/// (docs/migrating.md).
pub const REFERENCE_SIDECAR_IMAGE: &str =
    "ghcr.io/sei-protocol/seictl@sha256:d3ecb1a0d0f76366e468a7f771932690562238a3c45475b3353af422327eda65";

pub fn statefulset(node: &str) -> String {
    node.to_string()
}

pub fn service(node: &str) -> String {
    node.to_string()
}

/// The data PVC: the imported one, or `data-<node>`.
pub fn data_pvc(node: &SeiNode) -> String {
    node.spec
        .data_volume
        .as_ref()
        .and_then(|d| d.import.as_ref())
        .map(|i| i.pvc_name.clone())
        .unwrap_or_else(|| format!("data-{}", node.name_any()))
}

/// The Secret holding the bearer token of a node's sidecar API.
pub fn token_secret(node: &str) -> String {
    format!("{node}-sidecar-token")
}

/// Data key of the token in that Secret, and where the sidecar finds it.
pub const TOKEN_KEY: &str = "token";
pub const TOKEN_DIR: &str = "/var/run/sei/sidecar-token";

pub fn bootstrap_job(node: &str) -> String {
    format!("{node}-bootstrap")
}

/// The pod DNS name of a node's single pod.
pub fn pod_host(node: &str, namespace: &str) -> String {
    format!("{node}-0.{node}.{namespace}.svc.cluster.local")
}

/// The sidecar port of a node (7777 when unset or 0).
pub fn sidecar_port(node: &SeiNode) -> u16 {
    node.spec
        .sidecar
        .as_ref()
        .and_then(|s| s.port)
        .filter(|p| *p > 0)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(sei_config::PORT_SIDECAR)
}

/// The sidecar base URL of a node.
pub fn sidecar_url(node: &SeiNode) -> String {
    format!("http://{}:{}", pod_host(&node.name_any(), &node.namespace().unwrap_or_default()), sidecar_port(node))
}

/// `spec.podLabels` overlaid with `sei.io/node` (which always wins).
pub fn resource_labels(node: &SeiNode) -> BTreeMap<String, String> {
    let mut labels = node.spec.pod_labels.clone().unwrap_or_default();
    labels.insert(LABEL_NODE.into(), node.name_any());
    labels
}

/// The selector of a node's pod.
pub fn selector(node: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL_NODE.to_string(), node.to_string())])
}
