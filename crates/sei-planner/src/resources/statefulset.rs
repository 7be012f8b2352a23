//! The node's single-replica StatefulSet.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, HTTPGetAction, KeyToPath, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Probe,
    SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use sei_api::SeiNode;

use super::{
    BuildError, affinity, check_chain_id, data_mount, do_not_disrupt, is_archive, namespace, node_ports, owner,
    seid_resources, sidecar_container, tolerations,
};
use crate::names;
use crate::platform::Platform;
use crate::shell;

const SIGNING_KEY_FILE: &str = "priv_validator_key.json";
const NODE_KEY_FILE: &str = "node_key.json";

/// The validator's key Secrets, if any: (volume name, Secret, file).
pub(crate) fn key_secrets(node: &SeiNode) -> Vec<(&'static str, String, &'static str)> {
    let Some(v) = &node.spec.validator else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(name) =
        v.signing_key.as_ref().and_then(|k| k.secret.as_ref()).map(|s| s.secret_name.clone()).filter(|n| !n.is_empty())
    {
        out.push(("signing-key", name, SIGNING_KEY_FILE));
    }
    if let Some(name) =
        v.node_key.as_ref().and_then(|k| k.secret.as_ref()).map(|s| s.secret_name.clone()).filter(|n| !n.is_empty())
    {
        out.push(("node-key", name, NODE_KEY_FILE));
    }
    out
}

/// The program and arguments seid runs: the entrypoint's, or `seid start --home /sei`.
fn command_line(node: &SeiNode) -> (String, Vec<String>) {
    match node.spec.entrypoint.as_ref().filter(|e| !e.command.is_empty()) {
        Some(e) => {
            let mut args: Vec<String> = e.command[1..].to_vec();
            args.extend(e.args.clone().unwrap_or_default());
            (e.command[0].clone(), args)
        }
        None => ("seid".into(), vec!["start".into(), "--home".into(), names::HOME.into()]),
    }
}

pub fn statefulset(node: &SeiNode, platform: &Platform) -> Result<StatefulSet, BuildError> {
    check_chain_id(node)?;
    let name = node.name_any();
    let archive = is_archive(node);
    let port = names::sidecar_port(node);
    let labels = names::resource_labels(node);

    let mut volumes = vec![Volume {
        name: "data".into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: names::data_pvc(node),
            ..Default::default()
        }),
        ..Default::default()
    }];
    volumes.push(super::token_volume(&name));
    let mut seid_mounts = vec![data_mount()];
    for (volume, secret, file) in key_secrets(node) {
        volumes.push(Volume {
            name: volume.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret),
                default_mode: Some(0o400),
                items: Some(vec![KeyToPath { key: file.into(), path: file.into(), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        });
        seid_mounts.push(VolumeMount {
            name: volume.into(),
            mount_path: format!("{}/config/{file}", names::HOME),
            sub_path: Some(file.into()),
            read_only: Some(true),
            ..Default::default()
        });
    }

    let (program, args) = command_line(node);
    let seid = Container {
        name: "seid".into(),
        image: Some(node.spec.image.clone()),
        command: Some(vec!["/bin/bash".into(), "-c".into()]),
        args: Some(vec![shell::seid_script(port, &program, &args)]),
        env: Some(vec![EnvVar {
            name: "TMPDIR".into(),
            value: Some(format!("{}/tmp", names::HOME)),
            ..Default::default()
        }]),
        ports: Some(node_ports()),
        volume_mounts: Some(seid_mounts),
        resources: Some(seid_resources(platform, archive)),
        startup_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/v0/healthz".into()),
                port: IntOrString::Int(port.into()),
                ..Default::default()
            }),
            initial_delay_seconds: Some(5),
            period_seconds: Some(5),
            failure_threshold: Some(86_400),
            ..Default::default()
        }),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/lag_status".into()),
                port: IntOrString::Int(sei_config::PORT_RPC.into()),
                ..Default::default()
            }),
            initial_delay_seconds: Some(30),
            period_seconds: Some(10),
            timeout_seconds: Some(5),
            failure_threshold: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };

    Ok(StatefulSet {
        metadata: ObjectMeta {
            name: Some(names::statefulset(&name)),
            namespace: Some(namespace(node)?),
            labels: Some(labels.clone()),
            owner_references: Some(vec![owner(node)]),
            ..Default::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(names::service(&name)),
            selector: LabelSelector { match_labels: Some(names::selector(&name)), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(do_not_disrupt()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(platform.service_account.clone()),
                    share_process_namespace: Some(true),
                    security_context: Some(super::pod_security_context()),
                    tolerations: Some(tolerations(platform, archive)),
                    affinity: Some(affinity(platform, archive)),
                    volumes: Some(volumes),
                    init_containers: Some(vec![
                        super::init_container(node, &node.spec.image),
                        sidecar_container(node, platform, true),
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
