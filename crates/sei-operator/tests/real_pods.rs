//! The operator's workloads in real containers: the built `sei-operator` (as its own
//! process) drives SeiNodes whose pods run on a real node (containerd, kubelet,
//! kube-proxy; see `sei_testenv::RealNode`), from images built from this workspace. The
//! kubelet reads the pod specs the operator writes the way a cluster does: init
//! containers in order, mounts, users, probes on the sidecar's real port, restarts.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use sei_api::SeiNode;
use sei_testenv::{ControlPlane, Process, RealNode, RealNodeOptions, operator_command, real_platform};

use common::{cluster, full_node, phase, seictl, watchdog};
use serde_json::json;

struct Setup {
    cp: ControlPlane,
    client: Client,
    node: RealNode,
    _dir: tempfile::TempDir,
    operator: Process,
}

async fn setup(ns: &str) -> Setup {
    watchdog(1200);
    let bin_dir = seictl().parent().unwrap().to_path_buf();
    let (cp, client) = cluster(ns).await;
    let node = RealNode::start(&cp, RealNodeOptions::new(&bin_dir)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_sei-operator"));
    let mut cmd = operator_command(bin, cp.kubeconfig_path(), node.address_file());
    cmd.envs(real_platform()).env("SEI_LOG_LEVEL", "info").args(["--leader-elect", "false"]);
    let operator = Process::spawn("operator", cmd, &dir.path().join("operator.log")).unwrap();
    Setup { cp, client, node, _dir: dir, operator }
}

impl Setup {
    /// Waits for `name` to be Running; on a timeout, says what its pod and the node did.
    async fn running(&self, ns: &str, name: &str, secs: u64) -> SeiNode {
        let nodes: Api<SeiNode> = Api::namespaced(self.client.clone(), ns);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let n = nodes.get(name).await.unwrap();
            assert_ne!(phase(&n), Some("Failed"), "{name} failed: {:?}", n.status);
            if phase(&n) == Some("Running") {
                return n;
            }
            if Instant::now() > deadline {
                panic!("{name} not Running after {secs} s: {:?}\n{}", n.status, self.explain(ns).await);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn explain(&self, ns: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let mut out = String::new();
        for p in pods.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
            let status = serde_json::to_string(&p.status).unwrap_or_default();
            out.push_str(&format!("pod {}: {status}\n", p.name_any()));
            for c in ["seid-init", "sei-sidecar", "seid"] {
                let logs =
                    self.cp.kubectl().unwrap().args(["logs", "-n", ns, &p.name_any(), "-c", c, "--tail=15"]).output();
                if let Ok(l) = logs {
                    out.push_str(&format!(
                        "--- {c}:\n{}{}\n",
                        String::from_utf8_lossy(&l.stdout),
                        String::from_utf8_lossy(&l.stderr)
                    ));
                }
            }
        }
        out.push_str(&format!("crictl ps -a:\n{}\n", self.node.crictl(&["ps", "-a"]).unwrap_or_default()));
        out.push_str(&format!("operator log:\n{}\n", self.operator.log_tail(30)));
        out
    }

    /// Waits for the pod's Ready condition, which the kubelet sets from every container's
    /// readiness probe.
    async fn pod_ready(&self, ns: &str, name: &str, secs: u64) -> Pod {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let pod = self.pod_of(ns, name).await;
            if pod_is_ready(Some(&pod)) {
                return pod;
            }
            if Instant::now() > deadline {
                panic!("pod {name}-0 not Ready after {secs} s\n{}", self.explain(ns).await);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn pod_of(&self, ns: &str, name: &str) -> Pod {
        Api::<Pod>::namespaced(self.client.clone(), ns).get(&format!("{name}-0")).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_runs_in_real_containers() {
    const NS: &str = "real-full";
    let s = setup(NS).await;
    let nodes: Api<SeiNode> = Api::namespaced(s.client.clone(), NS);
    nodes.create(&PostParams::default(), &full_node(NS, "full", "sei:v1")).await.unwrap();
    s.running(NS, "full", 240).await;

    let pod = s.pod_of(NS, "full").await;
    assert_eq!(pod.spec.as_ref().unwrap().node_name.as_deref(), Some(s.node.name()), "the pod ran on the real node");
    // The kubelet's own probes pass: the sidecar's (/v0/healthz on its port) and seid's
    // (/lag_status on the RPC port, after its 30 s initial delay).
    s.pod_ready(NS, "full", 120).await;
    let ps = s.node.crictl(&["ps", "-o", "json"]).unwrap();
    for container in ["\"sei-sidecar\"", "\"seid\""] {
        assert!(ps.contains(container), "crictl ps shows {container}: {ps}");
    }
    let before = each_task_once(&s, NS, "full").await;

    // The sidecar container dies (SIGKILL): the kubelet restarts it, its readiness comes
    // back, and no task runs again (the task store is on the data volume).
    let id = container_id(&s.node, "sei-sidecar");
    let inspect: serde_json::Value = serde_json::from_str(&s.node.crictl(&["inspect", &id]).unwrap()).unwrap();
    let pid = inspect["info"]["pid"].as_u64().expect("the sidecar's pid") as u32;
    assert!(sei_testenv::send_signal(pid, libc::SIGKILL), "killing the sidecar (pid {pid})");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pod = s.pod_of(NS, "full").await;
        let status = pod.status.clone().unwrap_or_default();
        let sidecar = status.init_container_statuses.unwrap_or_default().into_iter().find(|c| c.name == "sei-sidecar");
        if sidecar.as_ref().is_some_and(|c| c.restart_count >= 1 && c.ready) {
            break;
        }
        assert!(Instant::now() < deadline, "the killed sidecar was not restarted and ready again: {sidecar:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_ne!(container_id(&s.node, "sei-sidecar"), id, "a new container");
    assert_eq!(each_task_once(&s, NS, "full").await, before, "no task ran again");
    s.running(NS, "full", 30).await;

    // A new image is rolled out by the StatefulSet controller and the kubelet.
    let patch = json!({"spec": {"image": "sei:v2"}});
    nodes.patch("full", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let n = nodes.get("full").await.unwrap();
        let pod = Api::<Pod>::namespaced(s.client.clone(), NS).get_opt("full-0").await.unwrap();
        let image = pod.as_ref().and_then(|p| p.spec.as_ref()).and_then(|p| p.containers[0].image.clone());
        let ready = pod_is_ready(pod.as_ref());
        if n.status.as_ref().and_then(|st| st.current_image.as_deref()) == Some("sei:v2")
            && phase(&n) == Some("Running")
            && image.as_deref() == Some("sei:v2")
            && ready
        {
            break;
        }
        if Instant::now() > deadline {
            panic!("sei:v2 not rolled out: {:?}\n{}", n.status, s.explain(NS).await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // What the kubelet reports from the runtime for the running container.
    let pod = s.pod_of(NS, "full").await;
    let seid = pod.status.unwrap().container_statuses.unwrap().into_iter().find(|c| c.name == "seid").unwrap();
    assert_eq!(seid.image, "docker.io/library/sei:v2");
    assert!(seid.state.and_then(|st| st.running).is_some(), "seid runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_with_key_secrets_runs_in_real_containers() {
    const NS: &str = "real-validator";
    let s = setup(NS).await;
    let keys = common::validator_key_secrets(&s.client, NS, "val").await;
    let validator: SeiNode = serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
        "metadata": {"name": "val", "namespace": NS},
        "spec": {"chainId": "pacific-1", "image": "sei:v1",
                 "validator": {"signingKey": {"secret": {"secretName": "val-signing-key"}},
                               "nodeKey": {"secret": {"secretName": "val-node-key"}}}}
    }))
    .unwrap();
    Api::<SeiNode>::namespaced(s.client.clone(), NS).create(&PostParams::default(), &validator).await.unwrap();
    s.running(NS, "val", 240).await;
    let pod = s.pod_ready(NS, "val", 120).await;
    assert_eq!(pod.spec.as_ref().unwrap().node_name.as_deref(), Some(s.node.name()));
    // seid (as the pod's user) reads the keys the kubelet mounted from the Secrets.
    let key =
        s.cp.kubectl()
            .unwrap()
            .args([
                "exec",
                "-n",
                NS,
                "val-0",
                "-c",
                "seid",
                "--",
                "/bin/sh",
                "-c",
                "id -u; cat /sei/config/priv_validator_key.json",
            ])
            .output()
            .unwrap();
    let text = String::from_utf8_lossy(&key.stdout);
    assert!(text.starts_with("65532\n"), "{text}{}", String::from_utf8_lossy(&key.stderr));
    let mounted: serde_json::Value = serde_json::from_str(text.trim_start_matches("65532\n")).unwrap();
    let made: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(keys.path().join("priv_validator_key.json")).unwrap()).unwrap();
    assert_eq!(mounted, made, "the signing key in the container is the Secret's");
}

/// The newest container of that name on the node.
fn container_id(node: &RealNode, name: &str) -> String {
    let ps: serde_json::Value =
        serde_json::from_str(&node.crictl(&["ps", "--name", name, "-o", "json"]).unwrap()).unwrap();
    let mut list: Vec<&serde_json::Value> = ps["containers"].as_array().unwrap().iter().collect();
    list.sort_by_key(|c| c["createdAt"].as_str().and_then(|t| t.parse::<u128>().ok()).unwrap_or(0));
    list.last().and_then(|c| c["id"].as_str()).expect("a running container").to_string()
}

fn pod_is_ready(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.status.as_ref()?.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The tasks the node's sidecar ran, each completed in its first run: (type, id) pairs.
async fn each_task_once(s: &Setup, ns: &str, node: &str) -> Vec<(String, String)> {
    let tasks = common::sidecar_tasks(&s.client, s.node.address_file(), ns, node).await;
    let mut out: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            assert_eq!((t["status"].as_str(), t["run"].as_i64()), (Some("completed"), Some(1)), "{node}: {t}");
            (t["type"].as_str().unwrap().to_string(), t["id"].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{node}: the sidecar ran no task");
    out
}
