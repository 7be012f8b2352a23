//! What the operator's end-to-end tests share: a simulated cluster with the CRDs and a
//! namespace, the workspace's `seictl`, polling, and a watchdog.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, PostParams};
use sei_api::SeiNode;
use sei_testenv::{ControlPlane, Options, apply_manifests};
use serde_json::json;

/// The workspace's `seictl` (with the pod runner's `seid-sim` beside it), built if
/// `cargo test` has not built them yet.
pub fn seictl() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let bin = root.join("target/debug/seictl");
    if !bin.exists() || !bin.with_file_name("seid-sim").exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "seictl", "-p", "sei-testenv", "--bin", "seictl", "--bin", "seid-sim"])
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(status.success(), "building seictl and seid-sim");
    }
    bin
}

pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A failed test here has been seen to leave the process running; this bounds the binary
/// so that CI fails instead of hanging.
pub fn watchdog(secs: u64) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            eprintln!("still running after {secs} s; exiting as failed");
            std::process::exit(101);
        });
    });
}

/// Control plane with controllers, kwok nodes in the simulated node pool, the audit log,
/// the CRDs and namespace `ns`.
pub async fn cluster(ns: &str) -> (ControlPlane, Client) {
    let mut options = Options::full();
    options.node_labels = vec![("karpenter.sh/nodepool".into(), sei_testenv::FAKE_NODE_TAINT_VALUE.into())];
    options.audit = true;
    let cp = ControlPlane::start(options).await.expect("control plane");
    let client = cp.client().await.unwrap();
    let crds: String = sei_api::crd::all().iter().map(|(_, c)| sei_api::crd::to_yaml(c)).collect::<Vec<_>>().join("\n");
    apply_manifests(&client, &crds).await.unwrap();
    let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &namespace).await.unwrap();
    (cp, client)
}

pub fn full_node(ns: &str, name: &str, image: &str) -> SeiNode {
    serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"chainId": "pacific-1", "image": image, "fullNode": {}}
    }))
    .unwrap()
}

pub fn phase(node: &SeiNode) -> Option<&'static str> {
    node.status.as_ref()?.phase.map(|p| p.as_str())
}

/// The tasks a node's sidecar has run, from its own API (`GET /v0/tasks` with the node's
/// token), found through the pod runner's address file.
pub async fn sidecar_tasks(
    client: &Client,
    address_file: &std::path::Path,
    ns: &str,
    node: &str,
) -> Vec<serde_json::Value> {
    use k8s_openapi::api::core::v1::Secret;
    let addresses: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(address_file).unwrap()).unwrap();
    let url = &addresses[&format!("{ns}/{node}")];
    let secret =
        Api::<Secret>::namespaced(client.clone(), ns).get(&sei_planner::names::token_secret(node)).await.unwrap();
    let token = String::from_utf8(secret.data.unwrap()[sei_planner::names::TOKEN_KEY].0.clone()).unwrap();
    let resp = reqwest::Client::new().get(format!("{url}/v0/tasks")).bearer_auth(token).send().await.unwrap();
    assert!(resp.status().is_success(), "{node}: GET /v0/tasks: {}", resp.status());
    resp.json().await.unwrap()
}

/// Every `sei_controller_*` metric name in a text (PromQL, a rule file, a dashboard).
pub fn series_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("sei_controller_") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// A validator's keys made as a user would (`seictl keys generate`), stored in the Secrets
/// `<node>-signing-key` and `<node>-node-key`; the key files stay in the returned dir.
pub async fn validator_key_secrets(client: &Client, ns: &str, node: &str) -> tempfile::TempDir {
    let keys = tempfile::tempdir().unwrap();
    let out =
        std::process::Command::new(seictl()).args(["keys", "generate", "--out-dir"]).arg(keys.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
    for (suffix, file) in [("signing-key", "priv_validator_key.json"), ("node-key", "node_key.json")] {
        let data = std::fs::read_to_string(keys.path().join(file)).unwrap();
        let secret = serde_json::from_value(
            json!({"metadata": {"name": format!("{node}-{suffix}")}, "stringData": {file: data}}),
        )
        .unwrap();
        secrets.create(&PostParams::default(), &secret).await.unwrap();
    }
    keys
}
