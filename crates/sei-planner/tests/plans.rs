//! Plans of §5.6-§5.9: the exact task lists, IDs, parameters and validation.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sei_api::{SeiNode, SeiNodeSpec, SeiNodeStatus};
use sei_planner::plan::{PlanError, build_init_plan, build_running_plan, config_intent, task_id, task_types};
use serde_json::{Value, json};

const PLAN: &str = "11111111-2222-4333-8444-555555555555";

fn node(spec: Value) -> SeiNode {
    let mut full = json!({"chainId": "pacific-1", "image": "sei:v2"});
    full.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
    let spec: SeiNodeSpec = serde_json::from_value(full).unwrap();
    let mut n = SeiNode::new("n0", spec);
    n.metadata = ObjectMeta {
        name: Some("n0".into()),
        namespace: Some("ns".into()),
        uid: Some("u".into()),
        ..Default::default()
    };
    n
}

fn with_status(mut n: SeiNode, status: Value) -> SeiNode {
    n.status = Some(serde_json::from_value::<SeiNodeStatus>(status).unwrap());
    n
}

fn types(n: &SeiNode) -> Vec<String> {
    task_types(&build_init_plan(n, PLAN).unwrap()).into_iter().map(String::from).collect()
}

const INFRA: [&str; 3] = ["ensure-data-pvc", "apply-statefulset", "apply-service"];

fn infra_then(rest: &[&str]) -> Vec<String> {
    INFRA.iter().chain(rest).map(|s| s.to_string()).collect()
}

#[test]
fn init_plans_for_each_bootstrap_source() {
    let s3 = json!({"s3": {"targetHeight": 100}});
    let peers = json!([{"static": {"addresses": ["a@1.2.3.4:26656"]}}]);
    let cases = [
        (
            json!({"fullNode": {"snapshot": s3}}),
            vec![
                "snapshot-restore",
                "configure-genesis",
                "config-apply",
                "configure-state-sync",
                "config-validate",
                "mark-ready",
            ],
        ),
        (
            json!({"fullNode": {"snapshot": s3}, "peers": peers}),
            vec![
                "snapshot-restore",
                "configure-genesis",
                "config-apply",
                "discover-peers",
                "configure-state-sync",
                "config-validate",
                "mark-ready",
            ],
        ),
        (
            json!({"fullNode": {"snapshot": {"stateSync": {}}}, "peers": peers}),
            vec![
                "configure-genesis",
                "config-apply",
                "discover-peers",
                "configure-state-sync",
                "config-validate",
                "mark-ready",
            ],
        ),
        (
            json!({"fullNode": {"snapshot": {"stateSync": {}}}}),
            vec!["configure-genesis", "config-apply", "configure-state-sync", "config-validate", "mark-ready"],
        ),
        (json!({"fullNode": {}}), vec!["configure-genesis", "config-apply", "config-validate", "mark-ready"]),
        (
            json!({"archive": {}, "peers": peers}),
            vec!["configure-genesis", "config-apply", "discover-peers", "config-validate", "mark-ready"],
        ),
        (
            json!({"archive": {"snapshotGeneration": {"tendermint": {"keepRecent": 5, "publish": {}}}}}),
            vec!["configure-genesis", "config-apply", "config-validate", "snapshot-upload", "mark-ready"],
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(types(&node(spec.clone())), infra_then(&expected), "{spec}");
    }
}

#[test]
fn a_plan_targets_running_and_fails_the_node() {
    let plan = build_init_plan(&node(json!({"fullNode": {}})), PLAN).unwrap();
    assert_eq!(plan.id.as_deref(), Some(PLAN));
    assert_eq!(serde_json::to_value(&plan).unwrap()["phase"], "Active");
    assert_eq!(serde_json::to_value(&plan).unwrap()["targetPhase"], "Running");
    assert_eq!(serde_json::to_value(&plan).unwrap()["failedPhase"], "Failed");
    for (i, t) in plan.tasks.iter().enumerate() {
        assert_eq!(t.id, task_id(PLAN, &t.task_type, i));
        assert_eq!(serde_json::to_value(t).unwrap()["status"], "Pending");
    }
    let ids: std::collections::HashSet<_> = plan.tasks.iter().map(|t| &t.id).collect();
    assert_eq!(ids.len(), plan.tasks.len(), "unique IDs");
    assert_eq!(plan.tasks[0].params, Some(json!({"nodeName": "n0", "namespace": "ns"})));
}

#[test]
fn validators_with_keys_validate_them_before_the_statefulset() {
    let n = node(
        json!({"validator": {"signingKey": {"secret": {"secretName": "s"}}, "nodeKey": {"secret": {"secretName": "k"}}}}),
    );
    let plan = build_init_plan(&n, PLAN).unwrap();
    assert_eq!(
        &task_types(&plan)[..4],
        ["ensure-data-pvc", "validate-signing-key", "validate-node-key", "apply-statefulset"]
    );
    assert_eq!(plan.tasks[1].params, Some(json!({"secretName": "s", "namespace": "ns"})));
}

#[test]
fn the_bootstrap_replayer_plan_has_nineteen_tasks() {
    let n = with_status(
        node(json!({
            "replayer": {"snapshot": {"s3": {"targetHeight": 200}, "bootstrapImage": "sei:v1"}},
            "peers": [{"ec2Tags": {"region": "eu-central-1", "tags": {"Chain": "pacific-1"}}}]
        })),
        json!({}),
    );
    let expected = [
        "ensure-data-pvc",
        "deploy-bootstrap-service",
        "deploy-bootstrap-job",
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
        "await-bootstrap-complete",
        "teardown-bootstrap",
        "apply-statefulset",
        "apply-service",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "config-validate",
        "mark-ready",
    ];
    let plan = build_init_plan(&n, PLAN).unwrap();
    assert_eq!(task_types(&plan), expected);
    assert_eq!(plan.tasks[2].params, Some(json!({"jobName": "n0-bootstrap", "namespace": "ns"})));
    assert_eq!(plan.tasks[3].params, Some(json!({"TargetHeight": 200})));
    assert_eq!(
        plan.tasks[6].params,
        Some(json!({"Sources": [{"type": "ec2Tags", "region": "eu-central-1", "tags": {"Chain": "pacific-1"}}]}))
    );
    assert_eq!(plan.tasks[7].params, Some(json!({"UseLocalSnapshot": true, "TrustPeriod": "", "BackfillBlocks": 0})));
}

#[test]
fn the_ceremony_validator_plan() {
    let n = node(
        json!({"validator": {"genesisCeremony": {"chainId": "new-1", "stakingAmount": "10usei", "accountBalance": "100usei", "index": 0}}}),
    );
    let plan = build_init_plan(&n, PLAN).unwrap();
    assert_eq!(
        task_types(&plan),
        [
            "ensure-data-pvc",
            "apply-statefulset",
            "apply-service",
            "generate-identity",
            "generate-gentx",
            "upload-genesis-artifacts",
            "configure-genesis",
            "config-apply",
            "set-genesis-peers",
            "config-validate",
            "mark-ready"
        ]
    );
    assert_eq!(plan.tasks[6].max_retries, Some(180));
    assert_eq!(plan.tasks[3].params, Some(json!({"ChainID": "new-1", "Moniker": "n0"})));
    assert_eq!(
        plan.tasks[4].params,
        Some(json!({"ChainID": "new-1", "StakingAmount": "10usei", "AccountBalance": "100usei", "GenesisParams": ""}))
    );
    assert_eq!(plan.tasks[7].params.as_ref().unwrap()["mode"], "validator");
}

#[test]
fn the_config_intent_merges_common_mode_and_user_settings() {
    let n = with_status(
        node(json!({
            "fullNode": {"snapshotGeneration": {"tendermint": {"keepRecent": 5}}},
            "overrides": {"network.p2p.max_connections": "800", "logging.level": "debug", "evm.http_port": "18545"}
        })),
        json!({"externalAddress": "1.2.3.4:26656"}),
    );
    let (mode, o) = config_intent(&n);
    assert_eq!(mode, "full");
    assert_eq!(o["logging.level"], "info", "always info");
    assert_eq!(o["network.p2p.max_connections"], "800", "the user wins");
    assert_eq!(o["storage.snapshot_keep_recent"], "5");
    assert_eq!(o["chain.min_retain_blocks"], "50000");
    assert_eq!(o["network.p2p.external_address"], "1.2.3.4:26656");
    assert_eq!(o["evm.http_port"], "18545");
    let (_, archive) =
        config_intent(&node(json!({"archive": {"snapshotGeneration": {"tendermint": {"keepRecent": 3}}}})));
    assert_eq!(archive.len(), 3, "logging.level and the two snapshot settings: {archive:?}");
    let (_, replayer) = config_intent(&node(
        json!({"replayer": {"snapshot": {"s3": {"targetHeight": 1}}}, "peers": [{"static": {"addresses": ["a@b:1"]}}]}),
    ));
    assert_eq!(replayer["storage.state_commit.memiavl.snapshot_min_time_interval"], "3600");
}

#[test]
fn invalid_specs_fail_with_a_reason() {
    for (spec, message) in [
        (json!({"fullNode": {"snapshot": {"stateSync": {}, "bootstrapImage": "x"}}}), "bootstrapImage"),
        (json!({"archive": {"snapshotGeneration": {}}}), "tendermint"),
        (json!({"fullNode": {"snapshotGeneration": {"tendermint": {"keepRecent": 1, "publish": {}}}}}), "at least 2"),
        (json!({"validator": {"nodeKey": {"secret": {"secretName": "k"}}}}), "nodeKey needs signingKey"),
        (json!({"fullNode": {}, "chainId": "a b"}), "chainId"),
        (json!({"replayer": {"snapshot": {"stateSync": {}}}, "peers": [{"static": {"addresses": ["a@b:1"]}}]}), "s3"),
    ] {
        let err = build_init_plan(&node(spec.clone()), PLAN).unwrap_err();
        assert!(err.to_string().contains(message), "{spec}: {err}");
    }
    assert_eq!(build_init_plan(&node(json!({})), PLAN).unwrap_err(), PlanError::NoMode);
}

#[test]
fn label_peers_use_resolved_names_and_an_empty_match_is_an_error_not_a_stuck_task() {
    let spec = json!({"fullNode": {}, "peers": [{"label": {"selector": {"sei.io/chain": "pacific-1"}}}]});
    let err = build_init_plan(&node(spec.clone()), PLAN).unwrap_err();
    assert!(matches!(err, PlanError::NoPeers(_)), "{err}");
    assert!(err.to_string().contains("matches no other SeiNode in namespace ns"), "{err}");
    let resolved = with_status(node(spec), json!({"resolvedPeers": ["a-0.a.ns.svc.cluster.local"]}));
    let plan = build_init_plan(&resolved, PLAN).unwrap();
    let discover = plan.tasks.iter().find(|t| t.task_type == "discover-peers").unwrap();
    assert_eq!(
        discover.params,
        Some(json!({"Sources": [{"type": "dnsEndpoints", "endpoints": ["a-0.a.ns.svc.cluster.local"]}]}))
    );
}

#[test]
fn running_plans() {
    let drifted = with_status(node(json!({"fullNode": {}})), json!({"phase": "Running", "currentImage": "sei:v1"}));
    let plan = build_running_plan(&drifted, true, PLAN).unwrap();
    assert_eq!(task_types(&plan), ["apply-statefulset", "apply-service", "observe-image", "mark-ready"], "drift wins");
    assert_eq!(serde_json::to_value(&plan).unwrap().get("failedPhase"), None);
    let steady = with_status(node(json!({"fullNode": {}})), json!({"phase": "Running", "currentImage": "sei:v2"}));
    assert_eq!(task_types(&build_running_plan(&steady, true, PLAN).unwrap()), ["mark-ready"]);
    assert!(build_running_plan(&steady, false, PLAN).is_none());
}

#[test]
fn every_planned_sidecar_task_reads_back_through_the_contract_and_converts_to_a_request() {
    let s3 = json!({"s3": {"targetHeight": 100}, "trustPeriod": "168h0m0s", "backfillBlocks": 10});
    let specs = [
        json!({"fullNode": {"snapshot": s3}, "peers": [{"static": {"addresses": ["a@1.2.3.4:26656"]}}]}),
        json!({"replayer": {"snapshot": {"s3": {"targetHeight": 200}, "bootstrapImage": "sei:v1"}},
               "peers": [{"ec2Tags": {"region": "eu-central-1", "tags": {"Chain": "pacific-1"}}}]}),
        json!({"archive": {"snapshotGeneration": {"tendermint": {"keepRecent": 5, "publish": {}}}}}),
        json!({"validator": {"genesisCeremony": {"chainId": "new-1", "stakingAmount": "10usei", "accountBalance": "100usei", "index": 0}}}),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for spec in specs {
        let plan = build_init_plan(&node(spec.clone()), PLAN).unwrap();
        for t in &plan.tasks {
            let Ok(kind) = t.task_type.parse::<sei_tasks::TaskType>() else { continue };
            let stored = sei_tasks::StoredTask::decode(kind, t.params.as_ref())
                .unwrap_or_else(|e| panic!("{spec}: {}: {e}", t.task_type));
            assert_eq!(Some(stored.params()), t.params, "{}: stored form written back unchanged", t.task_type);
            let request = stored.to_request(t.id.clone()).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(request.id.as_deref(), Some(t.id.as_str()));
            seen.insert(kind);
        }
    }
    assert!(seen.len() >= 12, "{seen:?}");
}

#[test]
fn a_full_node_of_a_new_chain_waits_for_its_genesis_one_of_a_known_chain_does_not() {
    let genesis_retries = |chain: &str| {
        let mut n = node(json!({"fullNode": {}}));
        n.spec.chain_id = chain.into();
        let plan = build_init_plan(&n, PLAN).unwrap();
        plan.tasks.iter().find(|t| t.task_type == "configure-genesis").unwrap().max_retries
    };
    assert_eq!(genesis_retries("bench-1"), Some(sei_planner::plan::GENESIS_WAIT_RETRIES));
    assert_eq!(genesis_retries("pacific-1"), None);
}
