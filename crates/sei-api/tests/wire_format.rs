//! The JSON the types read and write is the reference's: a status written by the Go
//! operator is read without loss, and ours is written with the same keys.

use sei_api::plan::{PlanPhase, TaskStatus};
use sei_api::{SeiNode, SeiNodeDeployment};
use serde_json::json;

/// A SeiNode status as the reference operator writes it mid-initialisation, with a failed
/// plan detail and sidecar task parameters in their PascalCase shape.
fn reference_node() -> serde_json::Value {
    json!({
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {"name": "n", "namespace": "default", "generation": 2},
        "spec": {
            "chainId": "pacific-1",
            "image": "ghcr.io/sei-protocol/sei:v6.3.0",
            "sidecar": {"port": 7777, "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            "fullNode": {"snapshot": {"s3": {"targetHeight": 198740000}, "trustPeriod": "9999h0m0s"}}
        },
        "status": {
            "phase": "Initializing",
            "phaseTransitionTime": "2026-05-01T10:00:00Z",
            "conditions": [{
                "type": "SidecarReady", "status": "True", "reason": "Ready",
                "message": "sidecar returned 200", "lastTransitionTime": "2026-05-01T10:00:00Z",
                "observedGeneration": 2
            }],
            "resolvedPeers": ["a-0.a.default.svc.cluster.local"],
            "plan": {
                "id": "0b9f6a53-3c1e-4c52-9d54-1f1f4c4b2a10",
                "phase": "Failed",
                "targetPhase": "Running",
                "failedPhase": "Failed",
                "failedTaskIndex": 3,
                "failedTaskDetail": {"type": "snapshot-restore", "id": "t3", "error": "boom", "retryCount": 0, "maxRetries": 0},
                "tasks": [
                    {"type": "ensure-data-pvc", "id": "t0", "status": "Complete", "submittedAt": "2026-05-01T10:00:01Z"},
                    {"type": "configure-genesis", "id": "t1", "status": "Complete",
                     "params": {"ChainID": "pacific-1"}},
                    {"type": "config-apply", "id": "t2", "status": "Pending", "maxRetries": 3, "retryCount": 1,
                     "params": {"Mode": "full", "Overrides": {"evm.http_port": "8545"}, "Incremental": false}},
                    {"type": "snapshot-restore", "id": "t3", "status": "Failed", "error": "boom"}
                ]
            }
        }
    })
}

#[test]
fn a_reference_node_status_round_trips_unchanged() {
    let original = reference_node();
    let node: SeiNode = serde_json::from_value(original.clone()).expect("reads the reference shape");
    let plan = node.status.as_ref().unwrap().plan.as_ref().unwrap();
    assert_eq!(plan.phase, PlanPhase::Failed);
    assert_eq!(plan.tasks[2].status, TaskStatus::Pending);
    assert_eq!(plan.tasks[2].params.as_ref().unwrap()["Overrides"]["evm.http_port"], "8545");
    assert_eq!(node.spec.mode(), "full");
    assert_eq!(serde_json::to_value(&node).unwrap(), original);
}

#[test]
fn absent_fields_are_omitted_not_written_as_null() {
    let node: SeiNode = serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode", "metadata": {"name": "n"},
        "spec": {"chainId": "c", "image": "i", "archive": {}}
    }))
    .unwrap();
    let text = serde_json::to_string(&node).unwrap();
    assert!(!text.contains("null"), "{text}");
    assert_eq!(node.spec.mode(), "archive");
}

#[test]
fn mode_follows_the_reference_precedence() {
    let mode = |spec: serde_json::Value| {
        let mut full = json!({"chainId": "c", "image": "i"});
        full.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
        serde_json::from_value::<sei_api::SeiNodeSpec>(full).unwrap().mode()
    };
    assert_eq!(mode(json!({"fullNode": {}})), "full");
    assert_eq!(mode(json!({"replayer": {"snapshot": {"stateSync": {}}}})), "full");
    assert_eq!(mode(json!({"validator": {}})), "validator");
    assert_eq!(mode(json!({"archive": {}})), "archive");
    // Not valid under the CRD, but the precedence is archive, then validator.
    assert_eq!(mode(json!({"archive": {}, "validator": {}})), "archive");
}

#[test]
fn a_deployment_status_round_trips_unchanged() {
    let original = json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment", "metadata": {"name": "d"},
        "spec": {
            "replicas": 3, "deletionPolicy": "Retain", "updateStrategy": {"type": "HardFork", "hardFork": {"haltHeight": 10}},
            "template": {"metadata": {"labels": {"sei.io/role": "rpc"}}, "spec": {"chainId": "c", "image": "i", "fullNode": {}}},
            "networking": {}, "monitoring": {"serviceMonitor": {"interval": "30s"}}
        },
        "status": {
            "observedGeneration": 4, "templateHash": "0123456789abcdef", "phase": "Upgrading",
            "replicas": 3, "readyReplicas": 2,
            "nodes": [{"name": "d-0", "phase": "Running"}, {"name": "d-1"}],
            "incumbentNodes": ["d-0", "d-1"],
            "genesisS3URI": "s3://b/c/genesis.json",
            "rollout": {"strategy": "HardFork", "targetHash": "fedcba9876543210", "startedAt": "2026-05-01T10:00:00Z",
                        "incumbentNodes": ["d-0"], "incumbentRevision": "3", "entrantRevision": "4"},
            "networkingStatus": {"routes": [{"hostname": "rpc.example.com", "protocol": "rpc"}]},
            "internalService": {"name": "d-internal", "namespace": "default", "ports": {"rpc": 26657, "evmHttp": 8545, "rest": 1317}},
            "perPodServices": [{"name": "d-0", "namespace": "default", "ports": {"evmHttp": 8545, "evmWs": 8546}}],
            "endpoints": {"tendermintRpc": ["http://a"], "evmWs": ["ws://b"]}
        }
    });
    let d: SeiNodeDeployment = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(serde_json::to_value(&d).unwrap(), original);
}
