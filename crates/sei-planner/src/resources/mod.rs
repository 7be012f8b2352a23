//! Pure builders of every object a SeiNode owns. Same input, same object: nothing here
//! reads the cluster or the clock.

pub(crate) mod bootstrap;
mod pvc;
mod service;
pub(crate) mod statefulset;

use std::collections::BTreeMap;

pub use bootstrap::{bootstrap_job, bootstrap_service};
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, EnvVar, HTTPGetAction, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, PodSecurityContext, Probe, ResourceRequirements, Toleration, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};
pub use pvc::data_pvc;
use sei_api::SeiNode;
pub use service::headless_service;
pub use statefulset::statefulset;

use crate::names;
use crate::platform::Platform;

/// Why an object cannot be built from a node's spec.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    #[error("chainId {0:?} may only contain letters, digits, '.', '_' and '-' (it is passed to shell commands)")]
    UnsafeChainId(String),
    #[error("the node has no namespace")]
    NoNamespace,
    #[error("{0}")]
    Invalid(String),
}

/// A controller owner reference to the node (garbage collection and ownership checks).
pub fn owner(node: &SeiNode) -> OwnerReference {
    node.controller_owner_ref(&()).expect("a SeiNode read from the API server has a name and UID")
}

pub(crate) fn is_archive(node: &SeiNode) -> bool {
    node.spec.archive.is_some()
}

pub(crate) fn namespace(node: &SeiNode) -> Result<String, BuildError> {
    node.namespace().ok_or(BuildError::NoNamespace)
}

pub(crate) fn check_chain_id(node: &SeiNode) -> Result<(), BuildError> {
    if crate::shell::shell_safe(&node.spec.chain_id) {
        Ok(())
    } else {
        Err(BuildError::UnsafeChainId(node.spec.chain_id.clone()))
    }
}

pub(crate) fn tolerations(platform: &Platform, archive: bool) -> Vec<Toleration> {
    vec![Toleration {
        key: Some(platform.toleration_key.clone()),
        value: Some(platform.nodepool(archive).to_string()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    }]
}

pub(crate) fn affinity(platform: &Platform, archive: bool) -> Affinity {
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: names::NODEPOOL_LABEL.into(),
                        operator: "In".into(),
                        values: Some(vec![platform.nodepool(archive).to_string()]),
                    }]),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The user every container of a node's pods runs as: the sidecar image's own non-root
/// user (`images/seictl.Dockerfile`).
pub const POD_USER: i64 = 65532;

/// One non-root user for the whole pod, owning the data volume through `fsGroup`. The
/// sidecar must read the token Secret (mode 0400), write the files `seid init` wrote, and
/// signal seid (one process namespace): all three need the same user in every container.
/// Without it, a real kubelet runs the sidecar image as 65532 and seid's image as root,
/// and the sidecar cannot even read its token. `OnRootMismatch` re-owns a volume written
/// by root (a node moved from the reference operator) once, not on every start.
pub(crate) fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_user: Some(POD_USER),
        run_as_group: Some(POD_USER),
        run_as_non_root: Some(true),
        fs_group: Some(POD_USER),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        ..Default::default()
    }
}

/// The Secret volume of the sidecar's bearer token (only the sidecar mounts it).
pub(crate) fn token_volume(node: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: "sidecar-token".into(),
        secret: Some(k8s_openapi::api::core::v1::SecretVolumeSource {
            secret_name: Some(names::token_secret(node)),
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn data_mount() -> VolumeMount {
    VolumeMount { name: "data".into(), mount_path: names::HOME.into(), ..Default::default() }
}

pub(crate) fn do_not_disrupt() -> BTreeMap<String, String> {
    BTreeMap::from([(names::ANNOTATION_DO_NOT_DISRUPT.to_string(), "true".to_string())])
}

/// `seid` requests by mode (no limits).
pub(crate) fn seid_resources(platform: &Platform, archive: bool) -> ResourceRequirements {
    let (cpu, mem) = if archive {
        (&platform.cpu_archive, &platform.mem_archive)
    } else {
        (&platform.cpu_default, &platform.mem_default)
    };
    ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".to_string(), cpu.clone()), ("memory".to_string(), mem.clone())])),
        ..Default::default()
    }
}

fn http_probe(path: &str, port: u16, initial: i32, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port.into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// The sidecar as a native sidecar (init container with `restartPolicy: Always`).
/// `probes` is false in the bootstrap Job.
pub(crate) fn sidecar_container(node: &SeiNode, platform: &Platform, probes: bool) -> Container {
    let port = names::sidecar_port(node);
    let image = node
        .spec
        .sidecar
        .as_ref()
        .and_then(|s| s.image.clone())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| platform.sidecar_image.clone());
    let env = [
        ("SEI_CHAIN_ID", node.spec.chain_id.clone()),
        ("SEI_SIDECAR_PORT", port.to_string()),
        ("SEI_HOME", names::HOME.to_string()),
        ("SEI_GENESIS_BUCKET", platform.genesis_bucket.clone()),
        ("SEI_GENESIS_REGION", platform.genesis_region.clone()),
        ("SEI_SNAPSHOT_BUCKET", platform.snapshot_bucket.clone()),
        ("SEI_SNAPSHOT_REGION", platform.snapshot_region.clone()),
    ]
    .into_iter()
    .chain([("SEI_SIDECAR_TOKEN_FILE", format!("{}/{}", names::TOKEN_DIR, names::TOKEN_KEY))])
    .map(|(name, value)| EnvVar { name: name.into(), value: Some(value), ..Default::default() })
    .collect();
    Container {
        name: "sei-sidecar".into(),
        image: Some(image),
        command: Some(vec!["seictl".into(), "serve".into()]),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("sidecar".into()),
            container_port: port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        volume_mounts: Some(vec![
            data_mount(),
            VolumeMount {
                name: "sidecar-token".into(),
                mount_path: names::TOKEN_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
        ]),
        restart_policy: Some("Always".into()),
        liveness_probe: probes.then(|| http_probe("/v0/livez", port, 5, 10, 3)),
        readiness_probe: probes.then(|| http_probe("/v0/healthz", port, 2, 5, 6)),
        resources: node.spec.sidecar.as_ref().and_then(|s| s.resources.clone()),
        ..Default::default()
    }
}

/// The `seid-init` init container.
pub(crate) fn init_container(node: &SeiNode, image: &str) -> Container {
    Container {
        name: "seid-init".into(),
        image: Some(image.into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), crate::shell::init_script(&node.spec.chain_id)]),
        volume_mounts: Some(vec![data_mount()]),
        ..Default::default()
    }
}

/// The seven node ports in their canonical order.
pub(crate) fn node_ports() -> Vec<ContainerPort> {
    sei_config::NODE_PORTS
        .iter()
        .map(|(name, port)| ContainerPort {
            name: Some((*name).into()),
            container_port: (*port).into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect()
}

pub(crate) fn quantity(q: &Quantity) -> Quantity {
    q.clone()
}
