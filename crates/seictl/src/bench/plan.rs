//! What `bench up` creates, from its inputs: a validator SeiNodeDeployment holding a
//! genesis ceremony, an RPC SeiNodeDeployment peering with it by label, and the workload
//! Job with the runtime contract (reserved environment, a result directory, exit codes).
//! Every object carries the label contract, so `bench list` and `bench down` find a run by
//! labels alone. Pure: no cluster.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const ENGINEER: &str = "sei.io/engineer";
pub const CHAIN_ID: &str = "sei.io/chain-id";
pub const ROLE: &str = "sei.io/role";
pub const BENCH_NAME: &str = "sei.io/bench-name";
/// Value of `app.kubernetes.io/managed-by` and `part-of` on everything bench makes.
pub const SEICTL: &str = "seictl";
/// Where the workload writes its artifacts (an emptyDir), as the contract says.
pub const RESULT_DIR: &str = "/var/run/validation/results";
/// Environment names the contract reserves: `--env` may not set them.
pub const RESERVED_ENV: &[&str] = &[
    "CHAIN_RPC_URL",
    "CHAIN_WS_URL",
    "CHAIN_ID",
    "RUN_ID",
    "RESULT_DIR",
    "DURATION_SECONDS",
    "NAMESPACE",
    "SHARD_INDEX",
    "SHARD_COUNT",
    "SEI_EVM_JSON_RPC",
    "SEI_TENDERMINT_RPC",
    "SEI_COSMOS_GRPC",
    "RESULTS_S3_URI",
];

/// Validators and RPC nodes per `--size`.
pub fn size(size: &str) -> Option<(i32, i32)> {
    match size {
        "s" => Some((4, 1)),
        "m" => Some((10, 2)),
        "l" => Some((21, 4)),
        _ => None,
    }
}

/// Everything `bench up` was asked for, resolved.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    pub name: String,
    pub owner: String,
    pub namespace: String,
    pub chain_id: String,
    pub image: String,
    pub validators: i32,
    pub rpc_nodes: i32,
    pub duration_seconds: u64,
    pub workload_image: String,
    /// The `{job}` level of the results layout, e.g. `probe` or `evm-transfer`.
    pub workload_name: String,
    pub workload_command: Vec<String>,
    pub workload_env: Vec<(String, String)>,
    pub results_bucket: String,
    pub workload_service_account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("--name {0:?}: use 1-40 lowercase letters, digits and '-', starting and ending with a letter or digit")]
    Name(String),
    #[error("--owner {0:?}: use 1-30 lowercase letters, digits and '-', starting with a letter")]
    Owner(String),
    #[error("--chain-id {0:?}: use 1-50 lowercase letters, digits and '-' (it names Kubernetes objects)")]
    ChainId(String),
    #[error("--duration {0}s: between 10 seconds and 240 minutes")]
    Duration(u64),
    #[error("--workload-name {0:?}: use 1-63 lowercase letters, digits, '-' and '_'")]
    WorkloadName(String),
    #[error("--image {0:?}: give a repository with a tag or digest, e.g. ghcr.io/sei-protocol/sei:v6.3.0")]
    Image(String),
    #[error("--env {0}: reserved by the workload contract; bench up sets it")]
    ReservedEnv(String),
    #[error("--env {0:?}: expected NAME=VALUE")]
    Env(String),
    #[error("--{flag} {value}: at least 1")]
    Count { flag: &'static str, value: i32 },
}

fn dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Checks the inputs; the first problem names its flag.
pub fn validate(spec: &BenchSpec) -> Result<(), InputError> {
    if !dns_label(&spec.name, 40) {
        return Err(InputError::Name(spec.name.clone()));
    }
    if !dns_label(&spec.owner, 30) || !spec.owner.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(InputError::Owner(spec.owner.clone()));
    }
    // `<chain>-rpc-<n>-0` must stay a valid pod name and label value.
    if !dns_label(&spec.chain_id, 50) {
        return Err(InputError::ChainId(spec.chain_id.clone()));
    }
    if !(10..=240 * 60).contains(&spec.duration_seconds) {
        return Err(InputError::Duration(spec.duration_seconds));
    }
    let w = &spec.workload_name;
    if w.is_empty()
        || w.len() > 63
        || !w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(InputError::WorkloadName(w.clone()));
    }
    for (flag, value) in [("validators", spec.validators), ("rpc-nodes", spec.rpc_nodes)] {
        if value < 1 {
            return Err(InputError::Count { flag, value });
        }
    }
    let last = spec.image.rsplit('/').next().unwrap_or_default();
    if spec.image.contains(char::is_whitespace) || !(last.contains(':') || spec.image.contains('@')) {
        return Err(InputError::Image(spec.image.clone()));
    }
    for (k, _) in &spec.workload_env {
        if RESERVED_ENV.contains(&k.as_str()) {
            return Err(InputError::ReservedEnv(k.clone()));
        }
    }
    Ok(())
}

/// `NAME=VALUE` of `--env`.
pub fn parse_env(arg: &str) -> Result<(String, String), InputError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(InputError::Env(arg.into())),
    }
}

impl BenchSpec {
    pub fn rpc_name(&self) -> String {
        format!("{}-rpc", self.chain_id)
    }

    pub fn job_name(&self) -> String {
        format!("{}-load", self.chain_id)
    }

    /// `s3://<bucket>/<namespace>/<workload>/<run>/`, the contract's layout; the report is
    /// `report.log` under it. The run ID is the bench name.
    pub fn results_prefix(&self) -> String {
        format!("s3://{}/{}/{}/{}/", self.results_bucket, self.namespace, self.workload_name, self.name)
    }

    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY.into(), SEICTL.into()),
            (PART_OF.into(), SEICTL.into()),
            (COMPONENT.into(), component.into()),
            (ENGINEER.into(), self.owner.clone()),
            (CHAIN_ID.into(), self.chain_id.clone()),
            (BENCH_NAME.into(), self.name.clone()),
        ])
    }

    fn fleet(&self, name: &str, component: &str, role: &str, replicas: i32, spec_extra: Value) -> Value {
        let mut labels = self.labels(component);
        labels.insert(ROLE.into(), role.into());
        let mut template_spec = json!({"chainId": self.chain_id, "image": self.image});
        template_spec.as_object_mut().unwrap().extend(spec_extra.as_object().unwrap().clone());
        json!({
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNodeDeployment",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
            "spec": {
                "replicas": replicas,
                "deletionPolicy": "Delete",
                "updateStrategy": {"type": "InPlace"},
                "template": {"metadata": {"labels": labels}, "spec": template_spec},
            }
        })
    }

    /// The validator fleet: a new chain from a genesis ceremony (which gives every
    /// validator the others as peers).
    pub fn chain(&self) -> Value {
        let mut v = self.fleet(&self.chain_id, "chain", "validator", self.validators, json!({"validator": {}}));
        v["spec"]["genesis"] = json!({"chainId": self.chain_id, "stakingAmount": "10000000usei"});
        v
    }

    /// The RPC fleet, peering with the chain's validators by label.
    pub fn rpc(&self) -> Value {
        let peers = json!([{"label": {"selector": {CHAIN_ID: self.chain_id, ROLE: "validator"}}}]);
        self.fleet(&self.rpc_name(), "rpc", "fullNode", self.rpc_nodes, json!({"fullNode": {}, "peers": peers}))
    }

    /// The workload Job. `endpoints` are the RPC fleet's per-pod URLs once known.
    pub fn job(&self, endpoints: &Endpoints) -> Value {
        let first = |v: &Vec<String>| v.first().cloned().unwrap_or_default();
        let ws = first(&endpoints.evm_json_rpc).replace(":8545", ":8546").replacen("http://", "ws://", 1);
        let mut env: Vec<Value> = [
            ("CHAIN_RPC_URL", first(&endpoints.tendermint_rpc)),
            ("CHAIN_WS_URL", ws),
            ("CHAIN_ID", self.chain_id.clone()),
            ("RUN_ID", self.name.clone()),
            ("RESULT_DIR", RESULT_DIR.to_string()),
            ("DURATION_SECONDS", self.duration_seconds.to_string()),
            ("NAMESPACE", self.namespace.clone()),
            ("SHARD_COUNT", "1".to_string()),
            ("SEI_EVM_JSON_RPC", first(&endpoints.evm_json_rpc)),
            ("SEI_TENDERMINT_RPC", first(&endpoints.tendermint_rpc)),
            ("SEI_COSMOS_GRPC", first(&endpoints.cosmos_grpc)),
            ("RESULTS_S3_URI", self.results_prefix()),
        ]
        .into_iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
        env.push(json!({"name": "SHARD_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}));
        env.extend(self.workload_env.iter().map(|(k, v)| json!({"name": k, "value": v})));
        let labels = self.labels("load");
        let mut pod_spec = json!({
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 30,
            "containers": [{
                "name": "workload",
                "image": self.workload_image,
                "command": self.workload_command,
                "env": env,
                "volumeMounts": [{"name": "results", "mountPath": RESULT_DIR}],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }],
            "volumes": [{"name": "results", "emptyDir": {}}],
        });
        if let Some(sa) = &self.workload_service_account {
            pod_spec["serviceAccountName"] = json!(sa);
        }
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": self.job_name(), "namespace": self.namespace, "labels": labels},
            "spec": {
                "backoffLimit": 0,
                "completionMode": "Indexed",
                "completions": 1,
                "parallelism": 1,
                // Room to start and upload the report after the window.
                "activeDeadlineSeconds": self.duration_seconds + 300,
                "ttlSecondsAfterFinished": 3600,
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            }
        })
    }
}

/// Per-pod URLs of the RPC fleet, split by type (§2.6 of the validation spec).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub tendermint_rpc: Vec<String>,
    pub evm_json_rpc: Vec<String>,
    pub cosmos_grpc: Vec<String>,
}

impl Endpoints {
    /// The URLs of the pods of `nodes` (SeiNode names: one pod `<node>-0` behind the
    /// headless Service `<node>`).
    pub fn of(nodes: &[String], namespace: &str) -> Endpoints {
        let host = |n: &String| format!("{n}-0.{n}.{namespace}.svc.cluster.local");
        Endpoints {
            tendermint_rpc: nodes.iter().map(|n| format!("http://{}:26657", host(n))).collect(),
            evm_json_rpc: nodes.iter().map(|n| format!("http://{}:8545", host(n))).collect(),
            cosmos_grpc: nodes.iter().map(|n| format!("{}:9090", host(n))).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn spec() -> BenchSpec {
        BenchSpec {
            name: "demo".into(),
            owner: "alice".into(),
            namespace: "eng-alice".into(),
            chain_id: "bench-alice-demo".into(),
            image: "ghcr.io/sei-protocol/sei:v6.3.0".into(),
            validators: 4,
            rpc_nodes: 2,
            duration_seconds: 1800,
            workload_image: "ghcr.io/sei-k8s/seictl:0.1.0".into(),
            workload_name: "probe".into(),
            workload_command: vec!["seictl".into(), "workload".into(), "probe".into()],
            workload_env: vec![("TPS".into(), "50".into())],
            results_bucket: "validation-results".into(),
            workload_service_account: None,
        }
    }

    #[test]
    fn every_object_carries_the_label_contract() {
        let s = spec();
        let e = Endpoints::of(&["bench-alice-demo-rpc-0".into()], &s.namespace);
        for (obj, component) in [(s.chain(), "chain"), (s.rpc(), "rpc"), (s.job(&e), "load")] {
            let labels = &obj["metadata"]["labels"];
            assert_eq!(labels[CHAIN_ID], "bench-alice-demo");
            assert_eq!(labels[ENGINEER], "alice");
            assert_eq!(labels[COMPONENT], component);
            assert_eq!(labels[MANAGED_BY], "seictl");
            assert_eq!(labels[PART_OF], "seictl");
            assert_eq!(obj["spec"]["template"]["metadata"]["labels"][CHAIN_ID], "bench-alice-demo");
        }
        let _: sei_api::SeiNodeDeployment = serde_json::from_value(s.chain()).unwrap();
        let _: sei_api::SeiNodeDeployment = serde_json::from_value(s.rpc()).unwrap();
        let _: k8s_openapi::api::batch::v1::Job = serde_json::from_value(s.job(&e)).unwrap();
    }

    #[test]
    fn the_rpc_fleet_peers_with_the_validators_and_the_chain_holds_a_ceremony() {
        let s = spec();
        assert_eq!(s.chain()["spec"]["genesis"]["chainId"], "bench-alice-demo");
        assert_eq!(s.chain()["spec"]["replicas"], 4);
        assert!(s.rpc()["spec"].get("genesis").is_none());
        assert_eq!(s.rpc()["spec"]["replicas"], 2);
        let selector = &s.rpc()["spec"]["template"]["spec"]["peers"][0]["label"]["selector"];
        assert_eq!(
            (selector[CHAIN_ID].as_str(), selector[ROLE].as_str()),
            (Some("bench-alice-demo"), Some("validator"))
        );
        assert_eq!(s.chain()["spec"]["template"]["metadata"]["labels"][ROLE], "validator");
    }

    #[test]
    fn the_job_gets_the_runtime_contract() {
        let s = spec();
        let e = Endpoints::of(&["r-0".into(), "r-1".into()], "eng-alice");
        assert_eq!(e.evm_json_rpc[1], "http://r-1-0.r-1.eng-alice.svc.cluster.local:8545");
        assert_eq!(e.cosmos_grpc[0], "r-0-0.r-0.eng-alice.svc.cluster.local:9090");
        let job = s.job(&e);
        let env: BTreeMap<String, Value> = job["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (v["name"].as_str().unwrap().to_string(), v.get("value").cloned().unwrap_or(v["valueFrom"].clone()))
            })
            .collect();
        assert_eq!(env["CHAIN_RPC_URL"], "http://r-0-0.r-0.eng-alice.svc.cluster.local:26657");
        assert_eq!(env["CHAIN_WS_URL"], "ws://r-0-0.r-0.eng-alice.svc.cluster.local:8546");
        assert_eq!(env["RESULT_DIR"], RESULT_DIR);
        assert_eq!(env["DURATION_SECONDS"], "1800");
        assert_eq!(env["RESULTS_S3_URI"], "s3://validation-results/eng-alice/probe/demo/");
        assert_eq!(env["TPS"], "50");
        assert!(env["SHARD_INDEX"]["fieldRef"]["fieldPath"].as_str().unwrap().contains("completion-index"));
        assert_eq!(job["spec"]["activeDeadlineSeconds"], 2100);
        assert_eq!(job["spec"]["backoffLimit"], 0);
        for name in RESERVED_ENV.iter().filter(|n| !n.starts_with("SEI_") && **n != "RESULTS_S3_URI") {
            assert!(env.contains_key(*name), "{name} not injected");
        }
    }

    #[test]
    fn bad_inputs_name_their_flag() {
        type Break = fn(&mut BenchSpec);
        let cases: Vec<(Break, &str)> = vec![
            (|s| s.name = "Demo".into(), "--name"),
            (|s| s.name = "x".repeat(41), "--name"),
            (|s| s.owner = "9lives".into(), "--owner"),
            (|s| s.chain_id = "bench_1".into(), "--chain-id"),
            (|s| s.duration_seconds = 5, "--duration 5s"),
            (|s| s.duration_seconds = 241 * 60, "--duration 14460s"),
            (|s| s.workload_name = "Load".into(), "--workload-name"),
            (|s| s.image = "sei".into(), "--image"),
            (|s| s.workload_env.push(("RESULT_DIR".into(), "/tmp".into())), "--env RESULT_DIR"),
            (|s| s.rpc_nodes = 0, "--rpc-nodes 0"),
        ];
        for (break_it, flag) in cases {
            let mut s = spec();
            break_it(&mut s);
            let e = validate(&s).unwrap_err().to_string();
            assert!(e.starts_with(flag), "{flag}: {e}");
        }
        assert!(validate(&spec()).is_ok());
        assert!(validate(&BenchSpec { image: "registry/sei@sha256:ab".into(), ..spec() }).is_ok());
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("=x").is_err() && parse_env("novalue").is_err());
        assert_eq!(size("m"), Some((10, 2)));
        assert_eq!(size("xl"), None);
    }
}
