//! Installing the operator the way users do, on the local control plane: the Helm chart
//! lints, renders and applies server-side (and the kustomize base applies too); the
//! operator then runs as a process with nothing but the chart's ServiceAccount token
//! (TokenRequest API) and takes a full node and a genesis-ceremony fleet to Running. A real
//! Prometheus scrapes it meanwhile, loads the chart's alerts and finds every series the
//! alerts and the dashboard query. The API server's audit log then shows that the chart's
//! RBAC was enough (no request refused) and which of its permissions went unused: each
//! must have a written reason below.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{eventually, seictl, watchdog};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_testenv::{ControlPlane, Options, PodRunner, Process};
use serde_json::{Value, json};

const RELEASE_NS: &str = "sei-system";
const NS: &str = "install";
/// A namespace the test's pod runner does not serve: its nodes' sidecars never answer.
const DARK_NS: &str = "dark";
const OPERATOR_USER: &str = "system:serviceaccount:sei-system:sei-operator";

/// ClusterRole and Role permissions the e2e below does not use, each with the reason the
/// operator holds it. A permission used by no test and missing here fails the test.
const UNUSED_BUT_NEEDED: &[(&str, &str, &str, &str)] = &[
    ("events.k8s.io", "events", "patch", "a repeated event patches the series count of the existing Event"),
    ("apps", "statefulsets", "create", "server-side apply that creates is authorized as create (audited as patch)"),
    ("gateway.networking.k8s.io", "httproutes", "create", "server-side apply that creates is authorized as create"),
    (
        "monitoring.coreos.com",
        "servicemonitors",
        "create",
        "server-side apply that creates is authorized as create (audited as patch)",
    ),
    ("", "persistentvolumes", "get", "importing an existing volume (spec.dataVolume.import) checks its bound PV"),
    ("", "secrets", "delete", "a sidecar token Secret left by an earlier node of the same name is replaced"),
    (
        "",
        "services",
        "create",
        "server-side apply that creates is authorized as create (audited as patch); the bootstrap Service",
    ),
    ("", "services", "delete", "bootstrap teardown, and the external Service when spec.networking goes"),
    ("", "services", "get", "Retain deletion and networking removal read the Service before unowning it"),
    ("apps", "statefulsets", "get", "observe-image (an image update) reads the StatefulSet's roll-out"),
    ("batch", "jobs", "create", "the bootstrap Job of a node restored from a snapshot at a height"),
    ("batch", "jobs", "delete", "bootstrap teardown"),
    ("batch", "jobs", "get", "await-bootstrap-complete reads the Job"),
    ("gateway.networking.k8s.io", "httproutes", "delete", "stale routes and removed spec.networking (deployment_e2e)"),
    ("gateway.networking.k8s.io", "httproutes", "list", "stale routes of a fleet are found by label (deployment_e2e)"),
    ("gateway.networking.k8s.io", "httproutes", "patch", "routes are applied server-side (deployment_e2e)"),
    ("monitoring.coreos.com", "servicemonitors", "delete", "removed spec.monitoring (deployment_e2e)"),
    ("monitoring.coreos.com", "servicemonitors", "get", "Retain deletion reads the monitor before unowning it"),
    ("sei.io", "seinodes", "delete", "scaling a fleet down and roll-out teardown delete children"),
    ("sei.io", "seinodes", "get", "roll-out group tasks read a child before editing it"),
    ("sei.io", "seinodes", "update", "roll-out group tasks (halt height, peers) replace a child's spec"),
    (
        "sei.io",
        "seinodes/finalizers",
        "update",
        "owner references with blockOwnerDeletion where OwnerReferencesPermissionEnforcement is on",
    ),
    (
        "sei.io",
        "seinodedeployments/finalizers",
        "update",
        "owner references with blockOwnerDeletion where OwnerReferencesPermissionEnforcement is on",
    ),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn helm() -> Command {
    Command::new(sei_testenv::tool("helm").expect("helm (hack/tools.sh helm)"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The chart's values for this cluster: the simulated platform, every optional object on,
/// no operator pods (the operator runs as a process below, with the same account).
fn values(dir: &Path) -> PathBuf {
    let platform: serde_json::Map<String, Value> =
        sei_testenv::SIMULATED_PLATFORM.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let values = json!({
        "replicaCount": 0,
        "platform": platform,
        "metrics": {"serviceMonitor": {"enabled": true}, "prometheusRule": {"enabled": true},
                    "networkPolicy": {"enabled": true}},
        "grafana": {"dashboard": {"enabled": true}},
    });
    let path = dir.join("values.json");
    std::fs::write(&path, values.to_string()).unwrap();
    path
}

/// A kubeconfig for the cluster of `cp` that authenticates with `token` only.
fn token_kubeconfig(cp: &ControlPlane, token: &str, dir: &Path) -> PathBuf {
    let admin: Value = serde_norway::from_str(&std::fs::read_to_string(cp.kubeconfig_path()).unwrap()).unwrap();
    let mut config = admin.clone();
    config["users"] = json!([{"name": "operator", "user": {"token": token}}]);
    config["contexts"][0]["context"]["user"] = json!("operator");
    let path = dir.join("operator.kubeconfig");
    std::fs::write(&path, serde_norway::to_string(&config).unwrap()).unwrap();
    path
}

/// Prometheus scraping `target` every second as job "sei-operator", with the chart's alerts.
fn prometheus(dir: &Path, target: &str) -> (Process, String) {
    let config = json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [repo().join("deploy/helm/sei-operator/files/alerts.yaml")],
        "scrape_configs": [{"job_name": "sei-operator", "static_configs": [{"targets": [target]}]}],
    });
    sei_testenv::start_prometheus(dir, &config).expect("prometheus (hack/tools.sh prometheus)")
}

async fn prom_query(base: &str, path: &str) -> Option<Value> {
    let v: Value = reqwest::get(format!("{base}{path}")).await.ok()?.json().await.ok()?;
    (v["status"] == "success").then(|| v["data"].clone())
}

/// Names of the series the chart's alerts and dashboard query.
fn queried_series() -> BTreeSet<String> {
    let mut text = std::fs::read_to_string(repo().join("deploy/helm/sei-operator/files/alerts.yaml")).unwrap();
    text += &std::fs::read_to_string(repo().join("deploy/helm/sei-operator/files/dashboard.json")).unwrap();
    common::series_in(&text)
}

fn phase(node: &SeiNode) -> Option<String> {
    serde_json::to_value(node.status.as_ref()?.phase.as_ref()?).ok()?.as_str().map(str::to_string)
}

async fn node_phase(nodes: &Api<SeiNode>, name: &str, want: &str, secs: u64) {
    eventually(&format!("{name} {want}"), secs, || async {
        let n = nodes.get(name).await.ok()?;
        (phase(&n).as_deref() == Some(want)).then_some(())
    })
    .await;
}

async fn gone<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let _ = api.delete(name, &DeleteParams::default()).await;
    eventually(&format!("{name} deleted"), 120, || async { api.get_opt(name).await.ok()?.is_none().then_some(()) })
        .await;
}

fn full_node(ns: &str, name: &str, chain: &str) -> SeiNode {
    serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"chainId": chain, "image": "sei:v1", "fullNode": {}}
    }))
    .unwrap()
}

#[test]
fn helm_lint_passes_and_the_chart_renders_the_rules_rbac_and_settings_of_the_source() {
    let chart = repo().join("deploy/helm/sei-operator");
    run(helm().arg("lint").arg(&chart));
    let all = "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,grafana.dashboard.enabled=true";
    let out = run(helm().args(["template", "sei-operator", "-n", RELEASE_NS, "--set", all]).arg(&chart));
    let docs: Vec<Value> =
        out.split("\n---").filter_map(|d| serde_norway::from_str::<Value>(d).ok()).filter(|d| d.is_object()).collect();
    let kind = |k: &str| docs.iter().find(|d| d["kind"] == k).unwrap_or_else(|| panic!("no {k}")).clone();

    // The PrometheusRule carries files/alerts.yaml unchanged.
    let rules: Value =
        serde_norway::from_str(&std::fs::read_to_string(chart.join("files/alerts.yaml")).unwrap()).unwrap();
    assert_eq!(kind("PrometheusRule")["spec"]["groups"], rules["groups"]);
    // The ClusterRole is the source's.
    let source = serde_json::to_value(sei_planner::rbac::cluster_role()).unwrap();
    assert_eq!(kind("ClusterRole")["rules"], source["rules"]);
    // The dashboard ConfigMap holds the dashboard.
    let board = kind("ConfigMap")["data"]["sei-operator.json"].as_str().unwrap().to_string();
    assert_eq!(serde_json::from_str::<Value>(&board).unwrap()["uid"], "sei-operator");
    // The ServiceMonitor names the job the alerts expect.
    assert_eq!(kind("ServiceMonitor")["spec"]["jobLabel"], "app.kubernetes.io/name");
    assert_eq!(kind("Service")["metadata"]["labels"]["app.kubernetes.io/name"], "sei-operator");

    // Every platform variable the operator reads is a value, with the kustomize base's
    // defaults; an empty required one stops the render with its name.
    let env: BTreeMap<String, String> = kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["value"].as_str()?.to_string())))
        .collect();
    let required: Vec<&str> = sei_testenv::SIMULATED_PLATFORM.iter().map(|(k, _)| *k).collect();
    let kustomize: BTreeMap<String, String> =
        std::fs::read_to_string(repo().join("deploy/kustomize/base/platform.env"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    for var in &required {
        assert!(env.contains_key(*var), "the chart does not set {var}");
        assert_eq!(kustomize.get(*var), env.get(*var), "{var}: the chart and the kustomize base differ");
        let refused =
            helm().args(["template", "x", "--set", &format!("platform.{var}=")]).arg(&chart).output().unwrap();
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(&format!("platform.{var} is required")), "{stderr}");
    }
    let values = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    for optional in ["SEI_GATEWAY_PUBLIC_DOMAIN", "SEI_GATEWAY_RESOLVER", "SEI_SIDECAR_IMAGE"] {
        assert!(values.contains(&format!("  {optional}:")), "values.yaml lacks {optional}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_installs_and_its_service_account_alone_runs_nodes_and_a_genesis_fleet() {
    watchdog(1200);
    let mut options = Options::full();
    options.node_labels = vec![("karpenter.sh/nodepool".into(), sei_testenv::FAKE_NODE_TAINT_VALUE.into())];
    options.audit = true;
    let cp = ControlPlane::start(options).await.expect("control plane");
    let admin = cp.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for ns in [RELEASE_NS, NS, DARK_NS] {
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(admin.clone()).create(&PostParams::default(), &namespace).await.unwrap();
    }
    // The kinds the chart's optional objects need, from their Go modules.
    sei_testenv::apply_manifests(&admin, &sei_testenv::foreign_crds("prometheus-operator").unwrap()).await.unwrap();

    // The kustomize base is accepted by the API server (a dry run: the chart's Deployment
    // of the same name follows).
    let base = repo().join("deploy/kustomize/base");
    run(cp.kubectl().unwrap().args(["apply", "--server-side", "--dry-run=server", "-k"]).arg(&base));

    // helm template | kubectl apply --server-side, CRDs included.
    let rendered = run(helm()
        .args(["template", "sei-operator", "-n", RELEASE_NS, "--include-crds", "-f"])
        .arg(values(dir.path()))
        .arg(repo().join("deploy/helm/sei-operator")));
    let manifest = dir.path().join("chart.yaml");
    std::fs::write(&manifest, &rendered).unwrap();
    let applied = run(cp.kubectl().unwrap().args(["apply", "--server-side", "-f"]).arg(&manifest));
    for object in [
        "customresourcedefinition.apiextensions.k8s.io/seinodes.sei.io",
        "deployment.apps/sei-operator",
        "clusterrole.rbac.authorization.k8s.io/sei-operator",
        "prometheusrule.monitoring.coreos.com/sei-operator",
        "servicemonitor.monitoring.coreos.com/sei-operator",
        "networkpolicy.networking.k8s.io/sei-operator-metrics",
    ] {
        assert!(applied.contains(object), "{object} not applied:\n{applied}");
    }

    // A token for the chart's ServiceAccount, and the operator with it alone.
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), RELEASE_NS);
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 7200}})).unwrap();
    let token: TokenRequest =
        accounts.create_subresource("token", "sei-operator", &PostParams::default(), &request).await.unwrap();
    let kubeconfig = token_kubeconfig(&cp, &token.status.unwrap().token, dir.path());
    let s3 = sei_testenv::S3Server::start(&["genesis", "snapshots", "results"]).unwrap();
    let runner = PodRunner::start(admin.clone(), NS, seictl(), dir.path(), s3.env()).await.unwrap();
    let metrics_port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sei-operator"));
    cmd.args(["--metrics-bind-address", &format!("127.0.0.1:{metrics_port}")])
        .args(["--health-probe-bind-address", "127.0.0.1:0"])
        .env("KUBECONFIG", &kubeconfig)
        .env("POD_NAMESPACE", RELEASE_NS)
        .env("POD_NAME", "sei-operator-test")
        .env("SEI_SIDECAR_ADDRESSES", &runner.address_file)
        .envs(sei_testenv::SIMULATED_PLATFORM.iter().copied());
    let mut operator = Process::spawn("sei-operator", cmd, &dir.path().join("operator.log")).unwrap();
    operator.wait_for_port(metrics_port, Duration::from_secs(60)).unwrap();
    let (mut prom, prom_url) = prometheus(dir.path(), &format!("127.0.0.1:{metrics_port}"));

    // A full node runs.
    let nodes: Api<SeiNode> = Api::namespaced(admin.clone(), NS);
    nodes.create(&PostParams::default(), &full_node(NS, "full", "pacific-1")).await.unwrap();
    // A node whose data claim is taken by a foreign PVC fails, and says so.
    let foreign = json!({
        "metadata": {"name": "data-stuck"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sei_testenv::STORAGE_CLASS,
                 "resources": {"requests": {"storage": "1Gi"}}}
    });
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(admin.clone(), NS);
    claims.create(&PostParams::default(), &serde_json::from_value(foreign).unwrap()).await.unwrap();
    nodes.create(&PostParams::default(), &full_node(NS, "stuck", "pacific-1")).await.unwrap();
    // A full node of the new chain below, created before it: it waits for the genesis
    // the ceremony publishes, then runs.
    nodes.create(&PostParams::default(), &full_node(NS, "follower", "install-1")).await.unwrap();
    // It is told the genesis is not there yet, and keeps trying (the reference failed it).
    eventually("the follower retrying configure-genesis", 180, || async {
        let n = nodes.get("follower").await.ok()?;
        let plan = n.status?.plan?;
        let task = plan.tasks.iter().find(|t| t.task_type == "configure-genesis")?;
        (task.retry_count.unwrap_or(0) >= 1).then_some(())
    })
    .await;
    assert_ne!(phase(&nodes.get("follower").await.unwrap()).as_deref(), Some("Failed"));
    // A node whose sidecar never answers (nobody plays its kubelet).
    let dark: Api<SeiNode> = Api::namespaced(admin.clone(), DARK_NS);
    dark.create(&PostParams::default(), &full_node(DARK_NS, "dark", "pacific-1")).await.unwrap();
    // A new chain: two validators hold a genesis ceremony, with a ServiceMonitor.
    let fleets: Api<SeiNodeDeployment> = Api::namespaced(admin.clone(), NS);
    let chain: SeiNodeDeployment = serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
        "metadata": {"name": "chain", "namespace": NS},
        "spec": {
            "replicas": 2, "updateStrategy": {"type": "InPlace"},
            "genesis": {"chainId": "install-1", "accountBalance": "1000000000usei"},
            "monitoring": {"serviceMonitor": {}},
            "template": {"metadata": {"labels": {"sei.io/chain": "install-1"}},
                         "spec": {"chainId": "install-1", "image": "sei:v1", "validator": {}}}
        }
    }))
    .unwrap();
    fleets.create(&PostParams::default(), &chain).await.unwrap();

    node_phase(&nodes, "full", "Running", 240).await;
    node_phase(&nodes, "stuck", "Failed", 240).await;
    eventually("the ceremony complete and the fleet Ready", 420, || async {
        let s = fleets.get("chain").await.ok()?.status?;
        let done = s.conditions?.iter().any(|c| c.type_ == "GenesisCeremonyComplete" && c.status == "True");
        (done && serde_json::to_value(s.phase?).ok()? == "Ready").then_some(())
    })
    .await;
    node_phase(&nodes, "chain-0", "Running", 60).await;
    node_phase(&nodes, "follower", "Running", 180).await;

    // Prometheus: the alerts load and evaluate cleanly, and every series they and the
    // dashboard query exists (sampled from this operator).
    let want = queried_series();
    let missing = eventually("every queried series scraped", 120, || async {
        let mut missing = Vec::new();
        for name in &want {
            let data = prom_query(&prom_url, &format!("/api/v1/series?match[]={name}")).await?;
            if data.as_array()?.is_empty() {
                missing.push(name.clone());
            }
        }
        missing.is_empty().then_some(missing)
    })
    .await;
    assert!(missing.is_empty());
    let up = prom_query(&prom_url, "/api/v1/query?query=up%7Bjob%3D%22sei-operator%22%7D").await.unwrap();
    assert_eq!(up["result"][0]["value"][1], "1", "{up}");
    let groups = prom_query(&prom_url, "/api/v1/rules").await.unwrap();
    let rules: Vec<&Value> =
        groups["groups"].as_array().unwrap().iter().flat_map(|g| g["rules"].as_array().unwrap()).collect();
    assert_eq!(rules.len(), 12, "{groups}");
    let evaluated = eventually("every rule evaluated", 60, || async {
        let groups = prom_query(&prom_url, "/api/v1/rules").await?;
        let rules: Vec<Value> =
            groups["groups"].as_array()?.iter().flat_map(|g| g["rules"].as_array().cloned().unwrap()).collect();
        rules.iter().all(|r| r["health"] == "ok").then_some(rules)
    })
    .await;
    assert!(evaluated.iter().all(|r| r["lastError"].as_str().unwrap_or("").is_empty()));

    // Clean-up through the same account: finalizers, children, volumes.
    gone(&fleets, "chain").await;
    gone(&nodes, "full").await;
    gone(&nodes, "stuck").await;
    gone(&nodes, "follower").await;
    gone(&dark, "dark").await;
    prom.stop(Duration::from_secs(5));
    operator.stop(Duration::from_secs(10));

    // The audit: nothing the operator asked for was refused, and every permission it holds
    // was used or has a reason.
    let log: Vec<_> = cp.audit().unwrap().into_iter().filter(|r| r.user == OPERATOR_USER).collect();
    assert!(log.len() > 100, "the audit log shows {} requests by {OPERATOR_USER}", log.len());
    let refused: Vec<_> = log.iter().filter(|r| r.code == 403).collect();
    assert!(refused.is_empty(), "the chart's RBAC refused: {refused:#?}");
    let used: BTreeSet<(String, String, String)> = log
        .iter()
        .filter(|r| !r.resource.is_empty())
        .map(|r| {
            let resource =
                if r.subresource.is_empty() { r.resource.clone() } else { format!("{}/{}", r.resource, r.subresource) };
            (r.api_group.clone(), resource, r.verb.clone())
        })
        .collect();
    let mut granted = BTreeSet::new();
    let roles = [
        sei_planner::rbac::cluster_role().rules.unwrap(),
        sei_planner::rbac::leader_election_role(RELEASE_NS).rules.unwrap(),
    ];
    for rule in roles.iter().flatten() {
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    granted.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    let reasons: BTreeSet<(String, String, String)> =
        UNUSED_BUT_NEEDED.iter().map(|(g, r, v, _)| (g.to_string(), r.to_string(), v.to_string())).collect();
    let unexplained: Vec<_> = granted.iter().filter(|p| !used.contains(*p) && !reasons.contains(*p)).collect();
    let line = |set: Vec<&(String, String, String)>| {
        set.iter().map(|(g, r, v)| format!("{g}/{r}:{v}")).collect::<Vec<_>>().join(" ")
    };
    assert!(
        unexplained.is_empty(),
        "permissions the e2e never used and that have no reason in UNUSED_BUT_NEEDED: {}",
        line(unexplained)
    );
    // Some uses depend on timing (a repeated event), so a reason for a permission this run
    // happened to use is reported, not failed.
    let explained_but_used: Vec<_> = reasons.iter().filter(|p| used.contains(*p)).collect();
    if !explained_but_used.is_empty() {
        println!("used in this run although listed as unused: {}", line(explained_but_used));
    }
    let stale: Vec<_> = reasons.iter().filter(|p| !granted.contains(*p)).collect();
    assert!(stale.is_empty(), "reasons for permissions the role does not grant: {stale:#?}");
    println!(
        "RBAC audit: {} requests, {} permissions granted, {} used, {} unused with a reason",
        log.len(),
        granted.len(),
        granted.iter().filter(|p| used.contains(*p)).count(),
        granted.iter().filter(|p| !used.contains(*p)).count()
    );
    drop(runner);
}

/// docs/migrating.md, step by step. The reference operator cannot be built here (its Go
/// modules are not served), so it is stood in for by ours configured as the reference
/// ships: its namespace, its Lease (`bc1f5b0a.sei.io`, the same name), its compiled-in
/// sidecar image and admin-like credentials. What is proven is the hand-over the guide
/// relies on: CRDs re-applied over live objects, the chart installed beside a running
/// leader, its replicas waiting on the shared Lease, taking over when the old operator
/// goes, without restarting a node, and sidecars moving to ours at each node's next
/// image update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_from_the_reference_hands_over_the_lease_without_restarting_nodes() {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Patch, PatchParams};

    const OLD_NS: &str = "sei-k8s-system";
    const NODES: &str = "chain";
    watchdog(900);
    let mut options = Options::full();
    options.node_labels = vec![("karpenter.sh/nodepool".into(), sei_testenv::FAKE_NODE_TAINT_VALUE.into())];
    let cp = ControlPlane::start(options).await.expect("control plane");
    let admin = cp.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for ns in [OLD_NS, NODES] {
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(admin.clone()).create(&PostParams::default(), &namespace).await.unwrap();
    }
    let crds: String = sei_api::crd::all().iter().map(|(_, c)| sei_api::crd::to_yaml(c)).collect::<Vec<_>>().join("\n");
    sei_testenv::apply_manifests(&admin, &crds).await.unwrap();
    let runner = PodRunner::start(admin.clone(), NODES, seictl(), dir.path(), Vec::new()).await.unwrap();
    let operator = |name: &str, kubeconfig: &Path, sidecar_image: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sei-operator"));
        cmd.args(["--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:0"])
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAMESPACE", OLD_NS)
            .env("POD_NAME", name)
            .env("SEI_SIDECAR_ADDRESSES", &runner.address_file)
            .envs(sei_testenv::SIMULATED_PLATFORM.iter().copied());
        if let Some(image) = sidecar_image {
            cmd.env("SEI_SIDECAR_IMAGE", image);
        }
        Process::spawn(name, cmd, &dir.path().join(format!("{name}.log"))).unwrap()
    };
    let reference_image = sei_planner::names::REFERENCE_SIDECAR_IMAGE;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), OLD_NS);
    let holder = || async {
        leases.get_opt(sei_operator::leader::LEASE_NAME).await.ok()??.spec?.holder_identity.filter(|h| !h.is_empty())
    };
    let nodes: Api<SeiNode> = Api::namespaced(admin.clone(), NODES);
    let sets: Api<StatefulSet> = Api::namespaced(admin.clone(), NODES);
    let pods: Api<Pod> = Api::namespaced(admin.clone(), NODES);
    let sidecar_image = |sts: &StatefulSet| -> String {
        let spec = sts.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let mut all = spec.init_containers.iter().flatten().chain(spec.containers.iter());
        all.find(|c| c.name == "sei-sidecar").and_then(|c| c.image.clone()).unwrap_or_default()
    };

    // Before: the old operator leads and a node runs with the reference's sidecar image.
    let mut old = operator("sei-k8s-controller-manager-7d9f", cp.kubeconfig_path(), Some(reference_image));
    nodes.create(&PostParams::default(), &full_node(NODES, "rpc-0", "pacific-1")).await.unwrap();
    node_phase(&nodes, "rpc-0", "Running", 240).await;
    let old_holder = holder().await.expect("the old operator holds the Lease");
    assert!(old_holder.starts_with("sei-k8s-controller-manager-7d9f"), "{old_holder}");
    let before = sets.get("rpc-0").await.unwrap();
    assert_eq!(sidecar_image(&before), reference_image);
    let pod_uid = pods.get("rpc-0-0").await.unwrap().metadata.uid;

    // Step 1: our CRDs over the live ones.
    run(cp
        .kubectl()
        .unwrap()
        .args(["apply", "--server-side", "--force-conflicts", "-f"])
        .arg(repo().join("deploy/helm/sei-operator/crds")));
    // Step 2: the chart in the old operator's namespace, keeping the reference's sidecars.
    let values = values(dir.path());
    let rendered = run(helm()
        .args(["template", "sei-operator", "-n", OLD_NS, "-f"])
        .arg(&values)
        .args(["--set", &format!("platform.SEI_SIDECAR_IMAGE={reference_image}")])
        .arg(repo().join("deploy/helm/sei-operator")));
    assert!(rendered.contains(reference_image), "the chart passes SEI_SIDECAR_IMAGE on");
    let manifest = dir.path().join("chart.yaml");
    std::fs::write(&manifest, &rendered).unwrap();
    sei_testenv::apply_manifests(&admin, &sei_testenv::foreign_crds("prometheus-operator").unwrap()).await.unwrap();
    run(cp.kubectl().unwrap().args(["apply", "--server-side", "-f"]).arg(&manifest));
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), OLD_NS);
    let request: TokenRequest = serde_json::from_value(json!({"spec": {"expirationSeconds": 3600}})).unwrap();
    let token: TokenRequest =
        accounts.create_subresource("token", "sei-operator", &PostParams::default(), &request).await.unwrap();
    let kubeconfig = token_kubeconfig(&cp, &token.status.unwrap().token, dir.path());
    let mut ours = operator("sei-operator-5c8b", &kubeconfig, Some(reference_image));
    // It waits: the old operator still holds the Lease.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(holder().await.as_deref(), Some(old_holder.as_str()), "took the Lease from a live leader");
    assert!(ours.exited().is_none(), "{}", ours.log_tail(20));

    // Step 3: the old operator goes; ours takes over (the old one released the Lease).
    old.stop(Duration::from_secs(10));
    eventually("our operator leads", 60, || async {
        holder().await.filter(|h| h.starts_with("sei-operator-5c8b")).map(|_| ())
    })
    .await;
    // Nothing restarted: same StatefulSet generation, same pod, still Running.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = sets.get("rpc-0").await.unwrap();
    assert_eq!(after.metadata.generation, before.metadata.generation, "the take-over changed the StatefulSet");
    assert_eq!(pods.get("rpc-0-0").await.unwrap().metadata.uid, pod_uid, "the take-over restarted the pod");
    assert_eq!(phase(&nodes.get("rpc-0").await.unwrap()).as_deref(), Some("Running"));

    // Step 4: our sidecar image (helm upgrade without SEI_SIDECAR_IMAGE rolls the operator).
    ours.stop(Duration::from_secs(10));
    let mut ours = operator("sei-operator-6e1a", &kubeconfig, None);
    let image_update = json!({"spec": {"image": "sei:v2"}});
    nodes.patch("rpc-0", &PatchParams::default(), &Patch::Merge(&image_update)).await.unwrap();
    eventually("rpc-0 on sei:v2 with our sidecar", 240, || async {
        let node = nodes.get("rpc-0").await.ok()?;
        let current = node.status.as_ref()?.current_image.clone()?;
        let sts = sets.get("rpc-0").await.ok()?;
        (current == "sei:v2"
            && phase(&node).as_deref() == Some("Running")
            && sidecar_image(&sts) == sei_planner::names::DEFAULT_SIDECAR_IMAGE)
            .then_some(())
    })
    .await;
    // A new node gets ours from the start.
    nodes.create(&PostParams::default(), &full_node(NODES, "rpc-1", "pacific-1")).await.unwrap();
    node_phase(&nodes, "rpc-1", "Running", 240).await;
    assert_eq!(sidecar_image(&sets.get("rpc-1").await.unwrap()), sei_planner::names::DEFAULT_SIDECAR_IMAGE);
    ours.stop(Duration::from_secs(10));
    drop(runner);
}
