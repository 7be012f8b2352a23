//! The operator's workloads in real containers: the built `sei-operator` (as its own
//! process) drives SeiNodes whose pods run on a real node (containerd, kubelet,
//! kube-proxy; see `sei_testenv::RealNode`), from images built from this workspace. The
//! kubelet reads the pod specs the operator writes the way a cluster does: init
//! containers in order, mounts, users, probes on the sidecar's real port, restarts.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use sei_api::SeiNode;
use sei_testenv::{ControlPlane, Process, RealNode, RealNodeOptions, operator_command, real_platform};

use common::{cluster, full_node, phase, seictl, watchdog};

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
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if ready {
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
}
