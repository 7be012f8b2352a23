//! Shared by the CRD tests that run against a real API server: a corpus of objects with the
//! outcome each must get, and helpers to submit them.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, ValidationDirective};
use kube::core::ApiResource;
use kube::{Client, CustomResourceExt};
use sei_api::{SeiNode, SeiNodeDeployment};
use serde_json::{Value, json};

/// The reference operator's files, copied into the repository (see its README.md).
pub fn reference_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference"))
}

/// Our CRD manifests, generated from the types.
pub fn our_crds() -> String {
    sei_api::crd::all().iter().map(|(_, crd)| sei_api::crd::to_yaml(crd)).collect::<Vec<_>>().join("\n")
}

/// The reference operator's CRD manifests.
pub fn reference_crds() -> String {
    ["sei.io_seinodes.yaml", "sei.io_seinodedeployments.yaml"]
        .iter()
        .map(|f| {
            let path = reference_dir().join("crds").join(f);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

pub async fn create_namespace(client: &Client, name: &str) {
    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let body = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    match ns.create(&PostParams::default(), &body).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating namespace {name}: {e}"),
    }
}

pub fn api(client: &Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    let ar = match kind {
        "SeiNode" => ApiResource::erase::<SeiNode>(&()),
        "SeiNodeDeployment" => ApiResource::erase::<SeiNodeDeployment>(&()),
        other => panic!("unknown kind {other}"),
    };
    let _ = (SeiNode::crd_name(), SeiNodeDeployment::crd_name());
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// Server-side applies `obj` with strict field validation; `Err` carries the API message.
pub async fn apply(client: &Client, ns: &str, obj: &Value, dry_run: bool) -> Result<DynamicObject, String> {
    let kind = obj["kind"].as_str().unwrap();
    let name = obj["metadata"]["name"].as_str().unwrap();
    let mut params = PatchParams::apply("sei-crd-tests").force();
    params.dry_run = dry_run;
    params.field_validation = Some(ValidationDirective::Strict);
    api(client, ns, kind).patch(name, &params, &Patch::Apply(obj)).await.map_err(|e| match e {
        kube::Error::Api(s) => s.message,
        other => panic!("transport error applying {name}: {other}"),
    })
}

/// What the API server must answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted,
    /// Rejected with a message containing this text.
    Rejected(&'static str),
}

/// One object to submit, optionally over an existing one (for transition rules).
pub struct Case {
    pub name: &'static str,
    pub base: Option<Value>,
    pub object: Value,
    /// Our CRDs' answer.
    pub ours: Outcome,
    /// The reference CRDs' answer, when a deliberate fix makes it differ.
    pub reference: Option<Outcome>,
}

fn node(name: &str, spec: Value) -> Value {
    let mut full = json!({"chainId": "pacific-1", "image": "ghcr.io/sei-protocol/sei:v6.3.0"});
    merge(&mut full, spec);
    json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNode", "metadata": {"name": name}, "spec": full})
}

fn deployment(name: &str, spec: Value) -> Value {
    let mut full = json!({
        "replicas": 1,
        "updateStrategy": {"type": "InPlace"},
        "template": {"spec": {"chainId": "pacific-1", "image": "ghcr.io/sei-protocol/sei:v6.3.0", "fullNode": {}}}
    });
    merge(&mut full, spec);
    json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment", "metadata": {"name": name}, "spec": full})
}

/// JSON merge patch semantics: objects merge, `null` removes, anything else replaces.
pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

fn accepted(name: &'static str, object: Value) -> Case {
    Case { name, base: None, object, ours: Outcome::Accepted, reference: None }
}

fn rejected(name: &'static str, object: Value, message: &'static str) -> Case {
    Case { name, base: None, object, ours: Outcome::Rejected(message), reference: None }
}

fn update_rejected(name: &'static str, base: Value, change: Value, message: &'static str) -> Case {
    let mut object = base.clone();
    merge(&mut object, change);
    Case { name, base: Some(base), object, ours: Outcome::Rejected(message), reference: None }
}

const ONE_MODE: &str = "exactly one of fullNode, archive, replayer, or validator must be set";
const ONE_SNAPSHOT: &str = "exactly one of s3 or stateSync must be set";

/// Every CEL rule broken at least once, bounds and patterns, valid edge cases, the
/// transition rules, and our deliberate fixes.
pub fn corpus() -> Vec<Case> {
    let keys = |signing: &str, node_key: &str| {
        json!({"validator": {
            "signingKey": {"secret": {"secretName": signing}},
            "nodeKey": {"secret": {"secretName": node_key}}
        }})
    };
    let with_import = node("import-base", json!({"fullNode": {}, "dataVolume": {"import": {"pvcName": "data-a"}}}));
    let with_keys = node("keys-base", keys("sign-a", "node-a"));
    vec![
        accepted("full node, minimal", node("full", json!({"fullNode": {}}))),
        accepted(
            "archive with snapshot generation",
            node(
                "archive",
                json!({"archive": {"snapshotGeneration": {"tendermint": {"keepRecent": 2, "publish": {}}}}}),
            ),
        ),
        accepted("validator without keys", node("val", json!({"validator": {}}))),
        accepted("validator with both keys", node("val-keys", keys("sign", "nodekey"))),
        accepted(
            "replayer with peers",
            node(
                "replayer",
                json!({
                    "replayer": {"snapshot": {"s3": {"targetHeight": 10}}},
                    "peers": [{"static": {"addresses": ["abc@10.0.0.1:26656"]}}]
                }),
            ),
        ),
        accepted(
            "label peers and state sync",
            node(
                "labels",
                json!({
                    "fullNode": {"snapshot": {"stateSync": {}}},
                    "peers": [{"label": {"selector": {"sei.io/chain": "pacific-1"}}}]
                }),
            ),
        ),
        rejected("no mode", node("no-mode", json!({})), ONE_MODE),
        rejected("two modes", node("two-modes", json!({"fullNode": {}, "archive": {}})), ONE_MODE),
        rejected(
            "replayer without peers",
            node(
                "replayer-nopeers",
                json!({
                    "replayer": {"snapshot": {"stateSync": {}}}
                }),
            ),
            "peers is required when replayer mode is set",
        ),
        rejected(
            "replayer with empty peers",
            node(
                "replayer-empty",
                json!({
                    "replayer": {"snapshot": {"stateSync": {}}}, "peers": []
                }),
            ),
            "peers is required when replayer mode is set",
        ),
        rejected(
            "peer source with two members",
            node(
                "peer-two",
                json!({
                    "fullNode": {},
                    "peers": [{"static": {"addresses": ["a@b:1"]}, "label": {"selector": {"a": "b"}}}]
                }),
            ),
            "exactly one of ec2Tags, static, or label must be set",
        ),
        rejected(
            "empty peer source",
            node("peer-none", json!({"fullNode": {}, "peers": [{}]})),
            "exactly one of ec2Tags, static, or label must be set",
        ),
        rejected(
            "snapshot with s3 and stateSync",
            node(
                "snap-two",
                json!({
                    "fullNode": {"snapshot": {"s3": {"targetHeight": 5}, "stateSync": {}}}
                }),
            ),
            ONE_SNAPSHOT,
        ),
        rejected(
            "validator snapshot without source",
            node(
                "snap-none",
                json!({
                    "validator": {"snapshot": {"trustPeriod": "1h"}}
                }),
            ),
            ONE_SNAPSHOT,
        ),
        rejected(
            "signing key without node key",
            node(
                "sign-only",
                json!({
                    "validator": {"signingKey": {"secret": {"secretName": "sign"}}}
                }),
            ),
            "signingKey and nodeKey must be set together (validators get both or neither)",
        ),
        rejected(
            "both keys in one Secret",
            node("same-secret", keys("shared", "shared")),
            "signingKey and nodeKey must reference distinct Secrets",
        ),
        rejected(
            "empty signing key source",
            node(
                "sign-empty",
                json!({
                    "validator": {"signingKey": {}, "nodeKey": {"secret": {"secretName": "n"}}}
                }),
            ),
            "exactly one signing key source must be set",
        ),
        rejected(
            "empty node key source",
            node(
                "node-empty",
                json!({
                    "validator": {"signingKey": {"secret": {"secretName": "s"}}, "nodeKey": {}}
                }),
            ),
            "exactly one node key source must be set",
        ),
        rejected("empty image", node("no-image", json!({"fullNode": {}, "image": ""})), "spec.image"),
        rejected("image too long", node("long-image", json!({"fullNode": {}, "image": "i".repeat(513)})), "spec.image"),
        rejected("empty chainId", node("no-chain", json!({"fullNode": {}, "chainId": ""})), "spec.chainId"),
        rejected(
            "invalid PVC name",
            node("bad-pvc", json!({"fullNode": {}, "dataVolume": {"import": {"pvcName": "Data_A"}}})),
            "spec.dataVolume.import.pvcName",
        ),
        rejected(
            "keepRecent below 1",
            node(
                "keep-zero",
                json!({
                    "fullNode": {"snapshotGeneration": {"tendermint": {"keepRecent": 0}}}
                }),
            ),
            "spec.fullNode.snapshotGeneration.tendermint.keepRecent",
        ),
        rejected(
            "empty entrypoint command",
            node("no-cmd", json!({"fullNode": {}, "entrypoint": {"command": []}})),
            "spec.entrypoint.command",
        ),
        rejected(
            "negative ceremony index",
            node(
                "neg-index",
                json!({"validator": {"genesisCeremony": {
                    "chainId": "c", "stakingAmount": "1usei", "accountBalance": "1usei", "index": -1
                }}}),
            ),
            "spec.validator.genesisCeremony.index",
        ),
        rejected(
            "target height 0",
            node("height-zero", json!({"fullNode": {"snapshot": {"s3": {"targetHeight": 0}}}})),
            "spec.fullNode.snapshot.s3.targetHeight",
        ),
        rejected(
            "unknown field",
            node("unknown", json!({"fullNode": {}, "storage": {"retainOnDelete": true}})),
            "spec.storage",
        ),
        update_rejected(
            "unsetting import",
            with_import.clone(),
            json!({"spec": {"dataVolume": {"import": null}}}),
            "import cannot be unset once configured",
        ),
        update_rejected(
            "changing pvcName",
            with_import,
            json!({"spec": {"dataVolume": {"import": {"pvcName": "data-b"}}}}),
            "pvcName is immutable",
        ),
        update_rejected(
            "changing signing key Secret",
            with_keys.clone(),
            json!({"spec": {"validator": {"signingKey": {"secret": {"secretName": "sign-b"}}}}}),
            "secretName is immutable",
        ),
        update_rejected(
            "changing node key Secret",
            with_keys,
            json!({"spec": {"validator": {"nodeKey": {"secret": {"secretName": "node-b"}}}}}),
            "secretName is immutable",
        ),
        accepted("deployment, minimal", deployment("fleet", json!({}))),
        accepted(
            "validator deployment with genesis",
            deployment(
                "ceremony",
                json!({
                    "template": {"spec": {"fullNode": null, "validator": {}}},
                    "genesis": {"chainId": "test-chain-1", "accounts": [{"address": "sei1xyz", "balance": "1usei"}]}
                }),
            ),
        ),
        accepted(
            "hard fork with height",
            deployment(
                "fork",
                json!({
                    "updateStrategy": {"type": "HardFork", "hardFork": {"haltHeight": 100}}
                }),
            ),
        ),
        rejected(
            "genesis on a full-node deployment",
            deployment(
                "bad-genesis",
                json!({
                    "genesis": {"chainId": "test-chain-1"}
                }),
            ),
            "genesis is meaningful only for validator-role deployments",
        ),
        rejected(
            "hard fork without height",
            deployment(
                "fork-nohalt",
                json!({
                    "updateStrategy": {"type": "HardFork"}
                }),
            ),
            "hardFork strategy requires haltHeight > 0",
        ),
        rejected(
            "unknown strategy",
            deployment("bad-strategy", json!({"updateStrategy": {"type": "Recreate"}})),
            "spec.updateStrategy.type",
        ),
        rejected(
            "no updateStrategy",
            deployment("no-strategy", json!({"updateStrategy": null})),
            "spec.updateStrategy: Required value",
        ),
        rejected("zero replicas", deployment("zero", json!({"replicas": 0})), "spec.replicas"),
        rejected("too many replicas", deployment("many", json!({"replicas": 101})), "spec.replicas"),
        rejected(
            "two modes in the template",
            deployment("tmpl-two", json!({"template": {"spec": {"archive": {}}}})),
            ONE_MODE,
        ),
        rejected(
            "invalid ceremony chain ID",
            deployment(
                "bad-chain",
                json!({
                    "template": {"spec": {"fullNode": null, "validator": {}}},
                    "genesis": {"chainId": "Test_Chain"}
                }),
            ),
            "spec.genesis.chainId",
        ),
        rejected(
            "invalid scrape interval",
            deployment(
                "bad-interval",
                json!({
                    "monitoring": {"serviceMonitor": {"interval": "30 seconds"}}
                }),
            ),
            "spec.monitoring.serviceMonitor.interval",
        ),
        Case {
            name: "shell metacharacters in chainId (fix)",
            base: None,
            object: node("shell-chain", json!({"fullNode": {}, "chainId": "pacific-1; rm -rf /sei"})),
            ours: Outcome::Rejected("spec.chainId"),
            reference: Some(Outcome::Accepted),
        },
        Case {
            name: "shell metacharacters in template chainId (fix)",
            base: None,
            object: deployment("shell-tmpl", json!({"template": {"spec": {"chainId": "$(reboot)"}}})),
            ours: Outcome::Rejected("spec.template.spec.chainId"),
            reference: Some(Outcome::Accepted),
        },
        Case {
            name: "object without spec (fix)",
            base: None,
            object: json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNode", "metadata": {"name": "no-spec"}}),
            ours: Outcome::Rejected("spec: Required value"),
            reference: Some(Outcome::Accepted),
        },
    ]
}

/// Submits one case in `ns` and returns what the server answered.
pub async fn run_case(client: &Client, ns: &str, case: &Case) -> Result<(), String> {
    let result = match &case.base {
        None => apply(client, ns, &case.object, true).await.map(|_| ()),
        Some(base) => {
            apply(client, ns, base, false)
                .await
                .map_err(|e| format!("base object of {:?} rejected: {e}", case.name))?;
            replace(client, ns, &case.object).await
        }
    };
    if let Some(base) = &case.base {
        let kind = base["kind"].as_str().unwrap();
        let name = base["metadata"]["name"].as_str().unwrap();
        api(client, ns, kind).delete(name, &Default::default()).await.unwrap();
        // Wait for it to disappear so the next case may reuse the name.
        for _ in 0..100 {
            if api(client, ns, kind).get_opt(name).await.unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    result
}

/// An update (PUT) of the object's spec over the stored one, dry-run.
async fn replace(client: &Client, ns: &str, obj: &Value) -> Result<(), String> {
    let api = api(client, ns, obj["kind"].as_str().unwrap());
    let name = obj["metadata"]["name"].as_str().unwrap();
    let mut current = api.get(name).await.unwrap();
    current.data["spec"] = obj["spec"].clone();
    let params = PostParams { dry_run: true, ..Default::default() };
    api.replace(name, &params, &current).await.map(|_| ()).map_err(|e| match e {
        kube::Error::Api(s) => s.message,
        other => panic!("transport error replacing {name}: {other}"),
    })
}

/// Whether `result` is what `expected` says.
pub fn matches(expected: &Outcome, result: &Result<(), String>) -> bool {
    match (expected, result) {
        (Outcome::Accepted, Ok(())) => true,
        (Outcome::Rejected(text), Err(message)) => message.contains(text),
        _ => false,
    }
}
