//! What a cloud would do around a real node, run on a thread of its own (so the node
//! outlives any one test's runtime): carry the node's API traffic to the API server on
//! the machine's loopback, provision `local` volumes for the node's StorageClass, and
//! keep the operator's address book of sidecars (pod IPs, which the machine routes to).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    LocalVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference, PersistentVolume,
    PersistentVolumeClaim, PersistentVolumeSpec, Pod, VolumeNodeAffinity,
};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::oneshot;

/// The provisioner name of the real node's StorageClass.
pub const PROVISIONER: &str = "sei.io/real-node-local";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

pub(crate) struct AgentConfig {
    pub kubeconfig: PathBuf,
    /// A listener inside the node's namespace, and the API server it forwards to.
    pub api_listener: std::net::TcpListener,
    pub api_server: SocketAddr,
    pub node_name: String,
    pub storage_class: String,
    pub volumes_dir: PathBuf,
    pub address_file: PathBuf,
}

/// The running agent; dropping it stops it.
pub(crate) struct Agent {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Agent {
    pub fn start(config: AgentConfig) -> Result<Agent, crate::Error> {
        config.api_listener.set_nonblocking(true).map_err(|e| crate::Error::Setup(e.to_string()))?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("sei-real-node-agent".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                rt.block_on(async move {
                    tokio::select! {
                        _ = stopped => {}
                        _ = run(config) => {}
                    }
                });
            })
            .map_err(|e| crate::Error::Setup(format!("cannot start the real node's agent: {e}")))?;
        Ok(Agent { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn run(config: AgentConfig) {
    let listener = tokio::net::TcpListener::from_std(config.api_listener).expect("a non-blocking listener");
    let forward = forward(listener, config.api_server);
    let client = loop {
        match client(&config.kubeconfig).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "real node agent: no client yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let volumes = provision(client.clone(), &config.storage_class, &config.node_name, &config.volumes_dir);
    let addresses = address_book(client, &config.node_name, &config.address_file);
    tokio::join!(forward, volumes, addresses);
}

async fn client(kubeconfig: &Path) -> Result<Client, String> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| e.to_string())?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.map_err(|e| e.to_string())?;
    Client::try_from(config).map_err(|e| e.to_string())
}

/// Every connection to the listener is carried to the API server.
async fn forward(listener: tokio::net::TcpListener, to: SocketAddr) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// A `local` PersistentVolume, bound to `pvc`, on a fresh root-owned 0755 directory (as a
/// new cloud disk's file system looks).
fn volume_for(pvc: &PersistentVolumeClaim, storage_class: &str, node: &str, path: &Path) -> PersistentVolume {
    let spec = pvc.spec.clone().unwrap_or_default();
    let capacity = spec.resources.and_then(|r| r.requests).and_then(|r| r.get("storage").cloned());
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(format!("pvc-{}", pvc.uid().unwrap_or_default())),
            annotations: Some(BTreeMap::from([(PROVISIONED_BY.to_string(), PROVISIONER.to_string())])),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: capacity.map(|c| BTreeMap::from([("storage".to_string(), c)])),
            access_modes: spec.access_modes,
            persistent_volume_reclaim_policy: Some("Delete".into()),
            storage_class_name: Some(storage_class.into()),
            volume_mode: Some("Filesystem".into()),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("PersistentVolumeClaim".into()),
                namespace: pvc.namespace(),
                name: Some(pvc.name_any()),
                uid: pvc.uid(),
                ..Default::default()
            }),
            local: Some(LocalVolumeSource { path: path.display().to_string(), fs_type: None }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: "kubernetes.io/hostname".into(),
                            operator: "In".into(),
                            values: Some(vec![node.into()]),
                        }]),
                        ..Default::default()
                    }],
                }),
            }),
            ..Default::default()
        }),
        status: None,
    }
}

/// Polls (robust through API outages, and there are few objects): a PV for every pending
/// claim of the class, and released PVs deleted with their directories.
async fn provision(client: Client, storage_class: &str, node: &str, dir: &Path) {
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let volumes: Api<PersistentVolume> = Api::all(client);
    loop {
        if let Ok(list) = claims.list(&ListParams::default()).await {
            for pvc in list.items {
                let spec = pvc.spec.as_ref();
                let ours = spec.and_then(|s| s.storage_class_name.as_deref()) == Some(storage_class);
                let unbound = spec.and_then(|s| s.volume_name.as_deref()).is_none_or(str::is_empty);
                if !ours || !unbound || pvc.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let path = dir.join(format!("pvc-{}", pvc.uid().unwrap_or_default()));
                if let Err(e) = std::fs::create_dir_all(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot make a volume directory");
                    continue;
                }
                let pv = volume_for(&pvc, storage_class, node, &path);
                match volumes.create(&PostParams::default(), &pv).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => tracing::warn!(claim = %pvc.name_any(), error = %e, "cannot create a volume"),
                }
            }
        }
        if let Ok(list) = volumes.list(&ListParams::default()).await {
            for pv in list.items {
                let ours = pv.annotations().get(PROVISIONED_BY).map(String::as_str) == Some(PROVISIONER);
                let phase = pv.status.as_ref().and_then(|s| s.phase.as_deref());
                if !ours || !matches!(phase, Some("Released" | "Failed")) || pv.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                if let Some(path) = pv.spec.as_ref().and_then(|s| s.local.as_ref()).map(|l| PathBuf::from(&l.path))
                    && path.starts_with(dir)
                {
                    let _ = std::fs::remove_dir_all(&path);
                }
                let _ = volumes.delete(&pv.name_any(), &DeleteParams::default()).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `namespace/node` → `http://podIP:port` for every pod on the node that runs a sidecar:
/// the operator's `SEI_SIDECAR_ADDRESSES` file.
pub(crate) fn addresses(pods: &[Pod], node: &str) -> BTreeMap<String, String> {
    let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
    for pod in pods {
        let spec = pod.spec.clone().unwrap_or_default();
        if spec.node_name.as_deref() != Some(node) || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else { continue };
        let Some(label) = pod.labels().get("sei.io/node") else { continue };
        let Some(sidecar) = spec.init_containers.iter().flatten().find(|c| c.name == "sei-sidecar") else { continue };
        let Some(port) = sidecar.ports.iter().flatten().find(|p| p.name.as_deref() == Some("sidecar")) else {
            continue;
        };
        let key = format!("{}/{label}", pod.namespace().unwrap_or_default());
        let created = pod.creation_timestamp().map(|t| t.0.to_string()).unwrap_or_default();
        let url = format!("http://{ip}:{}", port.container_port);
        if newest.get(&key).is_none_or(|(t, _)| *t <= created) {
            newest.insert(key, (created, url));
        }
    }
    newest.into_iter().map(|(k, (_, url))| (k, url)).collect()
}

async fn address_book(client: Client, node: &str, file: &Path) {
    let pods: Api<Pod> = Api::all(client);
    let mut last = None;
    loop {
        if let Ok(list) = pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}"))).await {
            let map = addresses(&list.items, node);
            if last.as_ref() != Some(&map) {
                let tmp = file.with_extension("tmp");
                if std::fs::write(&tmp, serde_json::to_vec(&map).expect("JSON")).is_ok()
                    && std::fs::rename(&tmp, file).is_ok()
                {
                    last = Some(map);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: &str, ip: Option<&str>, created: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "labels": {"sei.io/node": "n1"}, "creationTimestamp": created},
            "spec": {
                "nodeName": node,
                "initContainers": [{"name": "sei-sidecar", "ports": [{"name": "sidecar", "containerPort": 7777}]}],
                "containers": [{"name": "seid"}]
            },
            "status": {"podIP": ip}
        }))
        .unwrap()
    }

    #[test]
    fn the_address_book_names_the_newest_pod_of_each_node_on_this_node() {
        let pods = [
            pod("n1-0", "real", Some("10.211.1.5"), "2026-01-01T00:00:02Z"),
            pod("n1-bootstrap", "real", Some("10.211.1.4"), "2026-01-01T00:00:01Z"),
            pod("elsewhere", "kwok-node-0", Some("10.244.0.3"), "2026-01-01T00:00:03Z"),
            pod("no-ip", "real", None, "2026-01-01T00:00:04Z"),
        ];
        let book = addresses(&pods, "real");
        assert_eq!(book, BTreeMap::from([("ns/n1".to_string(), "http://10.211.1.5:7777".to_string())]));
    }

    #[test]
    fn a_volume_is_bound_to_its_claim_on_this_node() {
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data-n1", "namespace": "ns", "uid": "u1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "c", "resources": {"requests": {"storage": "1Gi"}}}
        }))
        .unwrap();
        let pv = volume_for(&pvc, "c", "real", Path::new("/v/pvc-u1"));
        let v = serde_json::to_value(&pv).unwrap();
        assert_eq!(v["metadata"]["name"], "pvc-u1");
        assert_eq!(v["spec"]["claimRef"]["uid"], "u1");
        assert_eq!(v["spec"]["capacity"]["storage"], "1Gi");
        assert_eq!(v["spec"]["local"]["path"], "/v/pvc-u1");
        assert_eq!(
            v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0],
            "real"
        );
    }
}
