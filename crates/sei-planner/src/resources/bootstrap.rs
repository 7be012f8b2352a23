//! The bootstrap Job (restores a snapshot and replays to its height with a dedicated
//! image before the node starts) and the Service that gives its pod the node's DNS name.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Service, ServicePort, ServiceSpec,
    Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use sei_api::SeiNode;
use sei_api::node::SnapshotSource;

use super::{
    BuildError, affinity, check_chain_id, data_mount, do_not_disrupt, is_archive, namespace, owner, seid_resources,
    sidecar_container, tolerations,
};
use crate::names;
use crate::platform::Platform;
use crate::shell;

fn labels(node: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (names::LABEL_NODE.to_string(), node.to_string()),
        (names::LABEL_COMPONENT.to_string(), "bootstrap".to_string()),
    ])
}

/// The snapshot source of the node's mode, if any.
pub fn snapshot(node: &SeiNode) -> Option<&SnapshotSource> {
    let s = &node.spec;
    s.full_node
        .as_ref()
        .and_then(|f| f.snapshot.as_ref())
        .or_else(|| s.replayer.as_ref().map(|r| &r.snapshot))
        .or_else(|| s.validator.as_ref().and_then(|v| v.snapshot.as_ref()))
}

/// Same name as the production headless Service, so the sidecar URL does not change.
pub fn bootstrap_service(node: &SeiNode) -> Result<Service, BuildError> {
    let name = node.name_any();
    let port = names::sidecar_port(node);
    Ok(Service {
        metadata: ObjectMeta {
            name: Some(names::service(&name)),
            namespace: Some(namespace(node)?),
            labels: Some(labels(&name)),
            owner_references: Some(vec![owner(node)]),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(labels(&name)),
            ports: Some(vec![ServicePort {
                name: Some("sidecar".into()),
                port: port.into(),
                target_port: Some(IntOrString::Int(port.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    })
}

pub fn bootstrap_job(node: &SeiNode, platform: &Platform) -> Result<Job, BuildError> {
    check_chain_id(node)?;
    let name = node.name_any();
    let source =
        snapshot(node).ok_or_else(|| BuildError::Invalid("the bootstrap Job needs a snapshot source".into()))?;
    let (Some(s3), Some(image)) = (&source.s3, source.bootstrap_image.as_ref().filter(|i| !i.is_empty())) else {
        return Err(BuildError::Invalid("the bootstrap Job needs snapshot.s3 and snapshot.bootstrapImage".into()));
    };
    let archive = is_archive(node);
    let port = names::sidecar_port(node);
    let seid = Container {
        name: "seid".into(),
        image: Some(image.clone()),
        command: Some(vec!["/bin/bash".into(), "-c".into()]),
        args: Some(vec![shell::bootstrap_script(port, s3.target_height)]),
        env: Some(vec![EnvVar {
            name: "TMPDIR".into(),
            value: Some(format!("{}/tmp", names::HOME)),
            ..Default::default()
        }]),
        volume_mounts: Some(vec![data_mount()]),
        resources: Some(seid_resources(platform, archive)),
        ..Default::default()
    };
    // Only the data volume: the bootstrap pod never sees the validator's key Secrets.
    let volumes = vec![
        Volume {
            name: "data".into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: names::data_pvc(node),
                ..Default::default()
            }),
            ..Default::default()
        },
        super::token_volume(&name),
    ];
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(names::bootstrap_job(&name)),
            namespace: Some(namespace(node)?),
            labels: Some(labels(&name)),
            owner_references: Some(vec![owner(node)]),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(3600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&name)),
                    annotations: Some(do_not_disrupt()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    hostname: Some(format!("{name}-0")),
                    subdomain: Some(names::service(&name)),
                    service_account_name: Some(platform.service_account.clone()),
                    share_process_namespace: Some(true),
                    security_context: Some(super::pod_security_context()),
                    restart_policy: Some("Never".into()),
                    termination_grace_period_seconds: Some(120),
                    tolerations: Some(tolerations(platform, archive)),
                    affinity: Some(affinity(platform, archive)),
                    volumes: Some(volumes),
                    init_containers: Some(vec![
                        super::init_container(node, image),
                        sidecar_container(node, platform, false),
                    ]),
                    containers: vec![seid],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    })
}
