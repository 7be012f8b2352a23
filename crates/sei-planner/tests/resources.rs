//! The objects of §7 built from SeiNodes of every shape.

use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sei_api::{SeiNode, SeiNodeSpec};
use sei_planner::resources::{bootstrap_job, bootstrap_service, data_pvc, headless_service, statefulset};
use sei_planner::{Platform, names};
use serde_json::json;

/// The platform settings the unit tests use too.
fn platform() -> Platform {
    let env: std::collections::HashMap<&str, &str> = include_str!("fixtures/platform.env")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('='))
        .collect();
    Platform::from_env(|k| env.get(k).map(|v| v.to_string())).unwrap()
}

fn node(name: &str, spec: serde_json::Value) -> SeiNode {
    let mut full = json!({"chainId": "pacific-1", "image": "ghcr.io/sei-protocol/sei:v6.3.0"});
    full.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
    let spec: SeiNodeSpec = serde_json::from_value(full).unwrap();
    let mut n = SeiNode::new(name, spec);
    n.metadata = ObjectMeta {
        name: Some(name.into()),
        namespace: Some("chain".into()),
        uid: Some("0b9f6a53-3c1e-4c52-9d54-1f1f4c4b2a10".into()),
        ..Default::default()
    };
    n
}

fn container<'a>(list: &'a [Container], name: &str) -> &'a Container {
    list.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no container {name}"))
}

#[test]
fn a_full_node_statefulset() {
    let n = node("rpc-0", json!({"fullNode": {}, "podLabels": {"team": "rpc", "sei.io/node": "spoofed"}}));
    let sts = statefulset(&n, &platform()).unwrap();
    assert_eq!(sts.metadata.name.as_deref(), Some("rpc-0"));
    assert_eq!(sts.metadata.labels.as_ref().unwrap()["sei.io/node"], "rpc-0", "the system label wins");
    assert_eq!(sts.metadata.labels.as_ref().unwrap()["team"], "rpc");
    let owner = &sts.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.controller), ("SeiNode", Some(true)));
    let spec = sts.spec.unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.service_name.as_deref(), Some("rpc-0"));
    assert_eq!(spec.selector.match_labels.unwrap().len(), 1, "pod labels never enter the selector");
    assert!(spec.volume_claim_templates.is_none());
    let template = spec.template;
    assert_eq!(template.metadata.unwrap().annotations.unwrap()["karpenter.sh/do-not-disrupt"], "true");
    let pod = template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("sei-node"));
    assert_eq!(pod.share_process_namespace, Some(true));
    // One non-root user owning the data volume (a real kubelet otherwise runs the sidecar
    // as its image's 65532 and seid as root: the sidecar could not read its 0400 token).
    let security = pod.security_context.as_ref().unwrap();
    assert_eq!(
        (security.run_as_user, security.run_as_group, security.fs_group),
        (Some(65532), Some(65532), Some(65532))
    );
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.fs_group_change_policy.as_deref(), Some("OnRootMismatch"));
    let toleration = &pod.tolerations.unwrap()[0];
    assert_eq!((toleration.key.as_deref(), toleration.value.as_deref()), (Some("sei.io/workload"), Some("sei-node")));
    let volumes = pod.volumes.unwrap();
    assert_eq!(volumes.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["data", "sidecar-token"]);
    assert_eq!(volumes[0].persistent_volume_claim.as_ref().unwrap().claim_name, "data-rpc-0");
    assert_eq!(volumes[1].secret.as_ref().unwrap().secret_name.as_deref(), Some("rpc-0-sidecar-token"));

    let inits = pod.init_containers.unwrap();
    assert_eq!(inits.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["seid-init", "sei-sidecar"]);
    let init = &inits[0].command.as_ref().unwrap()[2];
    assert_eq!(
        init,
        "if [ -f /sei/config/genesis.json ]; then echo \"data directory already initialized, skipping seid init\"; else seid init pacific-1 --chain-id pacific-1 --home /sei --overwrite; fi && mkdir -p /sei/tmp"
    );
    let sidecar = &inits[1];
    assert_eq!(sidecar.restart_policy.as_deref(), Some("Always"), "a native sidecar");
    assert_eq!(sidecar.image.as_deref(), Some(names::DEFAULT_SIDECAR_IMAGE));
    let env: Vec<_> = sidecar.env.as_ref().unwrap().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        env,
        [
            "SEI_CHAIN_ID",
            "SEI_SIDECAR_PORT",
            "SEI_HOME",
            "SEI_GENESIS_BUCKET",
            "SEI_GENESIS_REGION",
            "SEI_SNAPSHOT_BUCKET",
            "SEI_SNAPSHOT_REGION",
            "SEI_SIDECAR_TOKEN_FILE"
        ]
    );
    assert_eq!(sidecar.volume_mounts.as_ref().unwrap()[1].mount_path, "/var/run/sei/sidecar-token");
    assert_eq!(sidecar.liveness_probe.as_ref().unwrap().http_get.as_ref().unwrap().path.as_deref(), Some("/v0/livez"));
    assert_eq!(sidecar.readiness_probe.as_ref().unwrap().failure_threshold, Some(6));

    let seid = container(&pod.containers, "seid");
    let script = &seid.args.as_ref().unwrap()[0];
    assert!(script.ends_with("exec seid \"start\" \"--home\" \"/sei\""), "{script}");
    assert_eq!(seid.ports.as_ref().unwrap().len(), 7);
    assert_eq!(seid.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0, "16");
    assert!(seid.resources.as_ref().unwrap().limits.is_none());
    assert_eq!(seid.startup_probe.as_ref().unwrap().failure_threshold, Some(86_400));
    assert_eq!(seid.readiness_probe.as_ref().unwrap().http_get.as_ref().unwrap().path.as_deref(), Some("/lag_status"));
    assert!(seid.liveness_probe.is_none());
}

#[test]
fn an_archive_node_uses_the_archive_pool_class_and_resources() {
    let n = node("arch", json!({"archive": {}, "sidecar": {"image": "seictl:1", "port": 8000}}));
    let p = platform();
    let pod = statefulset(&n, &p).unwrap().spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.tolerations.unwrap()[0].value.as_deref(), Some("sei-archive"));
    let affinity =
        pod.affinity.unwrap().node_affinity.unwrap().required_during_scheduling_ignored_during_execution.unwrap();
    assert_eq!(
        affinity.node_selector_terms[0].match_expressions.as_ref().unwrap()[0].values.as_ref().unwrap()[0],
        "sei-archive"
    );
    let seid = container(&pod.containers, "seid");
    assert_eq!(seid.resources.as_ref().unwrap().requests.as_ref().unwrap()["memory"].0, "256Gi");
    assert!(seid.args.as_ref().unwrap()[0].contains("/dev/tcp/localhost/8000"));
    let sidecar = &pod.init_containers.unwrap()[1];
    assert_eq!(sidecar.image.as_deref(), Some("seictl:1"));
    let pvc = data_pvc(&n, &p).unwrap().spec.unwrap();
    assert_eq!(pvc.storage_class_name.as_deref(), Some("st1"));
    assert_eq!(pvc.resources.unwrap().requests.unwrap()["storage"].0, "20Ti");
    assert_eq!(pvc.access_modes.unwrap(), ["ReadWriteOnce"]);
}

#[test]
fn a_validator_mounts_its_key_secrets_read_only() {
    let n = node(
        "val",
        json!({"validator": {
            "signingKey": {"secret": {"secretName": "val-sign"}},
            "nodeKey": {"secret": {"secretName": "val-node"}}
        }}),
    );
    let pod = statefulset(&n, &platform()).unwrap().spec.unwrap().template.spec.unwrap();
    let volumes = pod.volumes.unwrap();
    assert_eq!(
        volumes.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["data", "sidecar-token", "signing-key", "node-key"]
    );
    assert_eq!(volumes[2].secret.as_ref().unwrap().default_mode, Some(0o400));
    let seid = container(&pod.containers, "seid");
    let mounts = seid.volume_mounts.as_ref().unwrap();
    assert_eq!(mounts[1].mount_path, "/sei/config/priv_validator_key.json");
    assert_eq!((mounts[1].sub_path.as_deref(), mounts[1].read_only), (Some("priv_validator_key.json"), Some(true)));
    assert_eq!(mounts[2].mount_path, "/sei/config/node_key.json");
    let sidecar = &pod.init_containers.unwrap()[1];
    let mounts: Vec<_> = sidecar.volume_mounts.as_ref().unwrap().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(mounts, ["data", "sidecar-token"], "the sidecar never sees the keys");
}

#[test]
fn an_entrypoint_replaces_the_command_line_with_go_quoted_arguments() {
    let n = node(
        "shadow",
        json!({"fullNode": {}, "entrypoint": {"command": ["seid"], "args": ["start", "--home", "/sei", "--skip-app-hash-validation"]}}),
    );
    let pod = statefulset(&n, &platform()).unwrap().spec.unwrap().template.spec.unwrap();
    let script = &container(&pod.containers, "seid").args.as_ref().unwrap()[0];
    assert!(script.ends_with("exec seid \"start\" \"--home\" \"/sei\" \"--skip-app-hash-validation\""), "{script}");
}

#[test]
fn an_imported_volume_is_used_by_name() {
    let n = node("imp", json!({"fullNode": {}, "dataVolume": {"import": {"pvcName": "restored-data"}}}));
    let pod = statefulset(&n, &platform()).unwrap().spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.volumes.unwrap()[0].persistent_volume_claim.as_ref().unwrap().claim_name, "restored-data");
}

#[test]
fn the_headless_service_lists_the_seven_ports() {
    let svc = headless_service(&node("rpc-0", json!({"fullNode": {}}))).unwrap().spec.unwrap();
    assert_eq!(svc.cluster_ip.as_deref(), Some("None"));
    assert_eq!(svc.publish_not_ready_addresses, Some(true));
    let ports = svc.ports.unwrap();
    let names: Vec<_> = ports.iter().map(|p| p.name.clone().unwrap()).collect();
    assert_eq!(names, ["evm-rpc", "evm-ws", "grpc", "rest", "p2p", "rpc", "metrics"]);
    assert_eq!(ports[2].app_protocol.as_deref(), Some("kubernetes.io/h2c"));
    assert!(ports.iter().filter(|p| p.name.as_deref() != Some("grpc")).all(|p| p.app_protocol.is_none()));
}

#[test]
fn the_bootstrap_job_replays_to_the_snapshot_height_without_keys() {
    let n = node(
        "val",
        json!({"validator": {
            "snapshot": {"s3": {"targetHeight": 1200}, "bootstrapImage": "sei:bootstrap"},
            "signingKey": {"secret": {"secretName": "val-sign"}},
            "nodeKey": {"secret": {"secretName": "val-node"}}
        }}),
    );
    let job = bootstrap_job(&n, &platform()).unwrap();
    assert_eq!(job.metadata.name.as_deref(), Some("val-bootstrap"));
    let spec = job.spec.unwrap();
    assert_eq!((spec.backoff_limit, spec.ttl_seconds_after_finished), (Some(0), Some(3600)));
    let pod = spec.template.spec.unwrap();
    assert_eq!((pod.hostname.as_deref(), pod.subdomain.as_deref()), (Some("val-0"), Some("val")));
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(pod.security_context.as_ref().and_then(|s| s.fs_group), Some(65532), "the same user as the node's pod");
    let volumes: Vec<_> = pod.volumes.unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(volumes, ["data", "sidecar-token"], "no key Secrets in the bootstrap pod");
    let seid = container(&pod.containers, "seid");
    assert_eq!(seid.image.as_deref(), Some("sei:bootstrap"));
    assert!(seid.args.as_ref().unwrap()[0].contains("seid start --home /sei --halt-height 1200"));
    let inits = pod.init_containers.unwrap();
    assert!(inits[1].liveness_probe.is_none() && inits[1].readiness_probe.is_none());
    let svc = bootstrap_service(&n).unwrap();
    assert_eq!(svc.metadata.name.as_deref(), Some("val"), "the production Service's name");
    assert_eq!(svc.spec.unwrap().selector.unwrap()["sei.io/component"], "bootstrap");
    assert!(bootstrap_job(&node("x", json!({"fullNode": {}})), &platform()).is_err(), "no snapshot, no Job");
}

#[test]
fn an_unsafe_chain_id_builds_nothing() {
    let n = node("bad", json!({"fullNode": {}, "chainId": "x; rm -rf /sei"}));
    let err = statefulset(&n, &platform()).unwrap_err();
    assert!(err.to_string().contains("chainId \"x; rm -rf /sei\""), "{err}");
}
