//! The real node itself: it registers Ready beside a fake one, runs pods from the images
//! built here in real containers, and gives them the network a cluster would: pod IPs the
//! machine routes to, ClusterIP Services through kube-proxy, and cluster DNS.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, LogParams, PostParams};
use sei_testenv::{ControlPlane, Options, REAL_NODE_POOL, REAL_NODE_TAINT_KEY, RealNode, RealNodeOptions};
use serde_json::json;

/// `target/debug`, with `seictl` built there too (it belongs to another package).
fn bin_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_seid-sim")).parent().unwrap().to_path_buf();
    if !dir.join("seictl").exists() {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let ok = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "seictl", "--bin", "seictl"])
            .current_dir(root)
            .status()
            .unwrap()
            .success();
        assert!(ok, "building seictl");
    }
    dir
}

fn pod(name: &str, command: &str, labels: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeSelector": {"karpenter.sh/nodepool": REAL_NODE_POOL},
            "tolerations": [{"key": REAL_NODE_TAINT_KEY, "value": REAL_NODE_POOL, "effect": "NoSchedule"}],
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "main",
                "image": "sei:v1",
                "command": ["/bin/sh", "-c", command],
                "ports": [{"containerPort": 8080}]
            }]
        }
    }))
    .unwrap()
}

async fn running(pods: &Api<Pod>, name: &str) -> Pod {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let p = pods.get(name).await.unwrap();
        if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
            return p;
        }
        assert!(Instant::now() < deadline, "pod {name} not Running: {:?}", p.status);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `kubectl exec` (the API server reaches the kubelet, which reaches containerd).
fn exec(cp: &ControlPlane, name: &str, script: &str) -> String {
    let out = cp.kubectl().unwrap().args(["exec", name, "--", "/bin/sh", "-c", script]).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_node_runs_pods_with_cluster_networking() {
    let cp = ControlPlane::start(Options::full()).await.unwrap();
    let client = cp.client().await.unwrap();
    let node = RealNode::start(&cp, RealNodeOptions::new(bin_dir())).await.unwrap();

    let nodes: Api<Node> = Api::all(client.clone());
    let n = nodes.get(node.name()).await.unwrap();
    let labels = n.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("karpenter.sh/nodepool").map(String::as_str), Some(REAL_NODE_POOL));
    let taints = n.spec.clone().unwrap_or_default().taints.unwrap_or_default();
    assert!(taints.iter().any(|t| t.key == REAL_NODE_TAINT_KEY), "{taints:?}");

    // A server pod (busybox's httpd) behind a ClusterIP Service, and a client pod.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let serve = "mkdir -p /www && echo served-from-a-pod > /www/index.html && exec busybox httpd -f -p 8080 -h /www";
    pods.create(&PostParams::default(), &pod("server", serve, json!({"app": "server"}))).await.unwrap();
    pods.create(&PostParams::default(), &pod("client", "echo client-started; exec sleep 3600", json!({})))
        .await
        .unwrap();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "server"}, "ports": [{"port": 80, "targetPort": 8080}]}
    }))
    .unwrap();
    services.create(&PostParams::default(), &svc).await.unwrap();
    let server = running(&pods, "server").await;
    running(&pods, "client").await;
    assert_eq!(server.spec.as_ref().unwrap().node_name.as_deref(), Some(node.name()), "ran on the real node");

    // The machine reaches the pod at its IP.
    let ip = server.status.as_ref().unwrap().pod_ip.clone().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect_timeout(&format!("{ip}:8080").parse().unwrap(), Duration::from_secs(1)).is_err()
    {
        assert!(Instant::now() < deadline, "the machine cannot reach the pod at {ip}:8080");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Another pod finds the Service by its DNS name (busybox's own resolver: its static
    // glibc cannot use the system's) and reaches the server through it.
    let cluster_ip = services.get("web").await.unwrap().spec.unwrap().cluster_ip.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = exec(&cp, "client", "nslookup web.default.svc.cluster.local 2>&1");
        if out.contains(&cluster_ip) {
            break;
        }
        assert!(Instant::now() < deadline, "web.default.svc.cluster.local does not resolve to {cluster_ip}: {out}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // (busybox's static wget crashes looking up the "http" service; nc does not.)
        let out = exec(&cp, "client", &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {cluster_ip} 80 2>&1"));
        if out.contains("served-from-a-pod") {
            break;
        }
        assert!(Instant::now() < deadline, "no answer through the Service at {cluster_ip}: {out}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let out = exec(&cp, "client", "nslookup nothing.example.com 2>&1");
    assert!(!out.contains("Address: ") || out.contains("NXDOMAIN") || out.contains("can't find"), "{out}");

    // `kubectl logs` works: the API server reaches the kubelet.
    let logs = pods.logs("client", &LogParams::default()).await.unwrap();
    assert_eq!(logs.trim(), "client-started");

    // The containers are the runtime's.
    let ps = node.crictl(&["ps", "-o", "json"]).unwrap();
    assert!(ps.contains("\"main\""), "{ps}");
}
