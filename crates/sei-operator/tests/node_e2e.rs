//! The SeiNode controller on the simulated cluster (etcd, kube-apiserver, controller
//! manager, scheduler, kwok), with real sidecars run by the local pod runner and the seid
//! RPC simulator.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use sei_api::SeiNode;
use sei_operator::context::Context;
use sei_planner::Platform;
use sei_testenv::{ControlPlane, PodRunner, S3Server};
use serde_json::json;

mod common;

use common::{cluster, eventually, seictl, watchdog};

const NS: &str = "e2e";

fn platform() -> Platform {
    let env: std::collections::HashMap<_, _> = sei_testenv::SIMULATED_PLATFORM.iter().copied().collect();
    Platform::from_env(|k| env.get(k).map(|v| v.to_string())).unwrap()
}

struct World {
    cp: ControlPlane,
    client: Client,
    _runner: PodRunner,
    _dir: tempfile::TempDir,
    controller: tokio::task::JoinHandle<()>,
    ctx: Arc<Context>,
}

async fn world() -> World {
    world_with(Vec::new()).await
}

/// `sidecar_env` is given to every sidecar (e.g. an S3 server's address and credentials).
async fn world_with(sidecar_env: Vec<(String, String)>) -> World {
    watchdog(600);
    let (cp, client) = cluster(NS).await;
    let dir = tempfile::tempdir().unwrap();
    let runner = PodRunner::start(client.clone(), NS, seictl(), dir.path(), sidecar_env).await.unwrap();
    // The operator's own client, as in production: its requests carry its user agent.
    let operator_client = sei_operator::context::client(cp.config().await.unwrap(), None).unwrap();
    let ctx = Arc::new(Context::new(operator_client, platform(), Some(runner.address_file.clone())).unwrap());
    let controller = tokio::spawn(sei_operator::run_controllers(ctx.clone()));
    World { cp, client, _runner: runner, _dir: dir, controller, ctx }
}

/// The node's `kind` condition once it is `False`.
async fn condition_false(
    nodes: &Api<SeiNode>,
    name: &str,
    kind: &str,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    eventually(&format!("{kind} False on {name}"), 60, || async {
        let c = nodes.get(name).await.ok()?.status?.conditions?;
        c.into_iter().find(|c| c.type_ == kind && c.status == "False")
    })
    .await
}

/// Deletes a node and waits until its finalizer has let it go.
async fn delete_and_wait(nodes: &Api<SeiNode>, name: &str) {
    nodes.delete(name, &DeleteParams::default()).await.unwrap();
    eventually(&format!("{name} gone"), 60, || async { nodes.get_opt(name).await.ok()?.is_none().then_some(()) }).await;
}

fn reconciles(ctx: &Context) -> u64 {
    let text = ctx.metrics.encode();
    text.lines()
        .find_map(|l| l.strip_prefix(r#"sei_controller_reconciles_total{controller="seinode"} "#))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

fn full_node(name: &str, image: &str) -> SeiNode {
    common::full_node(NS, name, image)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_runs_updates_its_image_and_cleans_up() {
    let w = world().await;
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);
    nodes.create(&PostParams::default(), &full_node("rpc", "sei:v1")).await.unwrap();

    // The plan is cleared once the node runs: keep the last one seen.
    let seen = std::sync::Mutex::new(None);
    let node = eventually("the node Running", 120, || async {
        let n = nodes.get("rpc").await.ok()?;
        if let Some(plan) = n.status.as_ref().and_then(|s| s.plan.clone()) {
            *seen.lock().unwrap() = Some(plan);
        }
        let running = n.status.as_ref()?.phase.map(|p| p.as_str()) == Some("Running");
        running.then_some(n)
    })
    .await;
    let status = node.status.clone().unwrap();
    assert_eq!(status.current_image.as_deref(), Some("sei:v1"), "set by the init plan: no spurious update plan");
    // No reconcile acted on a stale copy of the node: none of its writes was refused.
    let log = w.cp.audit().unwrap();
    let refused: Vec<_> =
        log.iter().filter(|r| r.user_agent.starts_with(sei_operator::context::USER_AGENT) && r.code == 409).collect();
    assert!(refused.is_empty(), "conflicting writes: {refused:#?}");
    let plan = seen.lock().unwrap().take().expect("an init plan");
    let types: Vec<_> = plan.tasks.iter().map(|t| t.task_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "ensure-data-pvc",
            "apply-statefulset",
            "apply-service",
            "configure-genesis",
            "config-apply",
            "config-validate",
            "mark-ready"
        ]
    );
    assert!(node.finalizers().contains(&"sei.io/seinode-finalizer".to_string()));

    let sts: Api<StatefulSet> = Api::namespaced(w.client.clone(), NS);
    assert!(sts.get("rpc").await.is_ok());
    let pvc = Api::<PersistentVolumeClaim>::namespaced(w.client.clone(), NS).get("data-rpc").await.unwrap();
    assert_eq!(pvc.status.unwrap().phase.as_deref(), Some("Bound"));
    assert!(Api::<Secret>::namespaced(w.client.clone(), NS).get("rpc-sidecar-token").await.is_ok());

    // The sidecar really rendered the config: chain-id in config.toml, the built-in genesis.
    let home = w._dir.path().join(NS).join("pvc-data-rpc");
    let config = std::fs::read_to_string(home.join("config/config.toml")).unwrap();
    assert!(config.contains("chain-id = \"pacific-1\""), "{config}");
    assert!(home.join("config/genesis.json").exists());

    // The phase changes were published as Events on the node.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(w.client.clone(), NS);
    let notes = eventually("the PhaseTransition events", 20, || async {
        let list = events.list(&Default::default()).await.ok()?;
        let notes: Vec<String> = list
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("rpc"))
            .filter(|e| e.reason.as_deref() == Some("PhaseTransition"))
            .filter_map(|e| e.note)
            .collect();
        (notes.len() >= 2).then_some(notes)
    })
    .await;
    assert!(notes.contains(&"Phase changed from Initializing to Running".to_string()), "{notes:?}");

    let metrics = w.ctx.metrics.encode();
    for line in [
        r#"sei_controller_seinode_phase_transitions_total{controller="seinode",namespace="e2e",from_phase="Initializing",to_phase="Running"} 1"#,
        r#"sei_controller_seinode_phase{namespace="e2e",name="rpc",phase="Running"} 1"#,
        r#"sei_controller_seinode_phase_duration_seconds_count{namespace="e2e",chain_id="pacific-1",phase="Initializing"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }

    // A new image rolls out through an update plan.
    let patch = json!({"spec": {"image": "sei:v2"}});
    nodes.patch("rpc", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually("currentImage sei:v2", 120, || async {
        let n = nodes.get("rpc").await.ok()?;
        (n.status?.current_image.as_deref() == Some("sei:v2")).then_some(())
    })
    .await;
    let image = sts.get("rpc").await.unwrap().spec.unwrap().template.spec.unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some("sei:v2"));
    // The init plan was cleared when the update plan replaced it, and timed.
    let metrics = w.ctx.metrics.encode();
    let init = r#"sei_controller_plan_duration_seconds_count{controller="seinode",namespace="e2e",plan_type="init",outcome="complete"} 1"#;
    assert!(metrics.contains(init), "missing {init} in\n{metrics}");

    // Deleting the node removes what it owns.
    delete_and_wait(&nodes, "rpc").await;
    eventually("the PVC gone", 60, || async {
        Api::<PersistentVolumeClaim>::namespaced(w.client.clone(), NS)
            .get_opt("data-rpc")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    eventually("the StatefulSet collected", 60, || async { sts.get_opt("rpc").await.ok()?.is_none().then_some(()) })
        .await;
    let metrics = w.ctx.metrics.encode();
    assert!(!metrics.contains(r#"name="rpc""#), "per-node series outlive the node:\n{metrics}");
    w.controller.abort();
    drop(w.cp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_selector_that_matches_nothing_is_reported_not_retried_in_silence() {
    let w = world().await;
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);
    let mut node = full_node("lonely", "sei:v1");
    node.spec.peers =
        Some(vec![serde_json::from_value(json!({"label": {"selector": {"sei.io/chain": "nobody"}}})).unwrap()]);
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let cond = eventually("a PlanBlocked condition", 60, || async {
        let n = nodes.get("lonely").await.ok()?;
        n.status?.conditions?.into_iter().find(|c| c.type_ == "PlanBlocked")
    })
    .await;
    assert_eq!(cond.reason, "PeersUnresolved");
    assert!(cond.message.contains("matches no other SeiNode"), "{}", cond.message);
    // Blocked is a resting state: re-checked now and then, not in a tight loop.
    let before = reconciles(&w.ctx);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = reconciles(&w.ctx) - before;
    assert!(during <= 2, "{during} reconciles in 3 s of a blocked node");

    // A matching peer unblocks it: the condition goes and the node gets its plan.
    let mut peer = full_node("friend", "sei:v1");
    peer.metadata.labels = Some([("sei.io/chain".to_string(), "nobody".to_string())].into());
    nodes.create(&PostParams::default(), &peer).await.unwrap();
    let patch = json!({"metadata": {"annotations": {"touch": "1"}}, "spec": {"image": "sei:v1.1"}});
    nodes.patch("lonely", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually("the node planned", 60, || async {
        let status = nodes.get("lonely").await.ok()?.status?;
        let blocked = status.conditions.iter().flatten().any(|c| c.type_ == "PlanBlocked");
        (!blocked && status.plan.is_some()).then_some(())
    })
    .await;
    w.controller.abort();
}

fn status_writes(ctx: &Context) -> u64 {
    let text = ctx.metrics.encode();
    text.lines()
        .find_map(|l| l.strip_prefix(r#"sei_controller_status_writes_total{controller="seinode"} "#))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_node_on_an_imported_volume_runs_rests_and_leaves_the_volume() {
    let w = world().await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(w.client.clone(), NS);
    let small = json!({
        "metadata": {"name": "too-small"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sei_testenv::STORAGE_CLASS,
                 "resources": {"requests": {"storage": "1Gi"}}}
    });
    pvcs.create(&PostParams::default(), &serde_json::from_value(small).unwrap()).await.unwrap();
    let mut big: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "chain-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sei_testenv::STORAGE_CLASS,
                 "resources": {"requests": {"storage": "3Gi"}}}
    }))
    .unwrap();
    pvcs.create(&PostParams::default(), &big).await.unwrap();

    let archive = |name: &str, pvc: &str| -> SeiNode {
        serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"chainId": "pacific-1", "image": "sei:v1", "archive": {},
                     "dataVolume": {"import": {"pvcName": pvc}}}
        }))
        .unwrap()
    };
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);
    // A volume that never binds (its storage class does not exist) is waited for, visibly.
    let unbound = json!({
        "metadata": {"name": "unbound"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "no-such-class",
                 "resources": {"requests": {"storage": "3Gi"}}}
    });
    pvcs.create(&PostParams::default(), &serde_json::from_value(unbound).unwrap()).await.unwrap();
    nodes.create(&PostParams::default(), &archive("waiting", "unbound")).await.unwrap();
    let cond = condition_false(&nodes, "waiting", "ImportPVCReady").await;
    assert_eq!(cond.reason, "PVCNotReady");
    assert!(cond.message.contains(r#"PVC "unbound" is "Pending", waiting for Bound"#), "{}", cond.message);
    delete_and_wait(&nodes, "waiting").await;

    // A volume smaller than the archive size (2Gi here) is refused with a reason.
    nodes.create(&PostParams::default(), &archive("cramped", "too-small")).await.unwrap();
    let cond = condition_false(&nodes, "cramped", "ImportPVCReady").await;
    assert_eq!(cond.reason, "PVCInvalid");
    assert!(cond.message.contains("needs at least 2Gi"), "{}", cond.message);
    // (Gone before the steady-state measurement below, which counts every node's writes.)
    delete_and_wait(&nodes, "cramped").await;
    assert!(pvcs.get_opt("too-small").await.unwrap().is_some(), "an imported PVC is never deleted");

    nodes.create(&PostParams::default(), &archive("archive", "chain-data")).await.unwrap();
    let node = eventually("the archive node Running", 120, || async {
        let n = nodes.get("archive").await.ok()?;
        (n.status.as_ref()?.phase.map(|p| p.as_str()) == Some("Running")).then_some(n)
    })
    .await;
    let conditions = node.status.unwrap().conditions.unwrap();
    assert!(conditions.iter().any(|c| c.type_ == "ImportPVCReady" && c.status == "True"), "{conditions:?}");
    let sts = Api::<StatefulSet>::namespaced(w.client.clone(), NS).get("archive").await.unwrap();
    let volumes = sts.spec.unwrap().template.spec.unwrap().volumes.unwrap();
    let data = volumes.iter().find(|v| v.name == "data").unwrap();
    assert_eq!(data.persistent_volume_claim.as_ref().unwrap().claim_name, "chain-data");
    // Archive config: nothing pruned.
    let app = std::fs::read_to_string(w._dir.path().join(NS).join("pvc-chain-data/config/app.toml")).unwrap();
    assert!(app.contains("pruning = \"nothing\""), "{app}");

    // Right after Running, the sidecar is probed and the finished plan is cleared.
    eventually("SidecarReady and no plan", 20, || async {
        let status = nodes.get("archive").await.ok()?.status?;
        let ready = status.conditions.iter().flatten().any(|c| c.type_ == "SidecarReady" && c.status == "True");
        (ready && status.plan.is_none()).then_some(())
    })
    .await;
    // Steady state: the periodic sidecar probe runs (at least once in 35 s) and the operator
    // sends no write to the API server, as the server's own audit log records.
    let (writes, probes) = (status_writes(&w.ctx), reconciles(&w.ctx));
    let log = w.cp.audit().unwrap();
    let seen = log.len();
    let tagged = log.iter().filter(|r| r.user_agent == sei_operator::context::USER_AGENT && r.is_write()).count();
    assert!(
        tagged > 0,
        "the audit log shows no write by the operator's user agent: the count below would prove nothing"
    );
    tokio::time::sleep(Duration::from_secs(35)).await;
    let window = w.cp.audit().unwrap().split_off(seen);
    let operator = |r: &&sei_testenv::AuditRecord| r.user_agent == sei_operator::context::USER_AGENT;
    let sent: Vec<_> = window.iter().filter(operator).filter(|r| r.is_write()).collect();
    assert!(sent.is_empty(), "a Running node with nothing to do caused writes: {sent:#?}");
    assert_eq!(status_writes(&w.ctx), writes);
    assert!(
        window.iter().filter(operator).count() < 20,
        "reads in steady state: {:?}",
        sei_testenv::by_verb(window.iter().filter(operator))
    );
    assert!(reconciles(&w.ctx) > probes, "no periodic health check in 35 s");

    // Deleting the node keeps the imported volume: it is the user's.
    delete_and_wait(&nodes, "archive").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    big = pvcs.get("chain-data").await.expect("the imported PVC survives its node");
    assert!(big.metadata.deletion_timestamp.is_none());
    w.controller.abort();
}

fn home(w: &World, claim: &str) -> PathBuf {
    w._dir.path().join(NS).join(format!("pvc-{claim}"))
}

async fn wait_running(nodes: &Api<SeiNode>, name: &str) -> SeiNode {
    eventually(&format!("{name} Running"), 120, || async {
        let n = nodes.get(name).await.ok()?;
        let phase = n.status.as_ref()?.phase.map(|p| p.as_str());
        assert_ne!(phase, Some("Failed"), "{name} failed: {:?}", n.status.as_ref().and_then(|s| s.plan.clone()));
        (phase == Some("Running")).then_some(n)
    })
    .await
}

/// `[p2p] persistent-peers` of a node's config.toml.
fn persistent_peers(home: &std::path::Path) -> String {
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(home.join("config/config.toml")).unwrap()).unwrap();
    config["p2p"]["persistent-peers"].as_str().unwrap().to_string()
}

/// CometBFT's node ID of a key file, through the product's own key code.
fn node_id(key_file: &std::path::Path) -> String {
    let text = std::fs::read_to_string(key_file).unwrap();
    sei_sidecar::keys::node_id(&sei_sidecar::keys::parse_key_file(&text).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_and_a_replayer_find_their_peer_by_label_and_run() {
    let s3 = S3Server::start(&["snapshots", "genesis", "results"]).unwrap();
    let w = world_with(s3.env()).await;
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);

    // The peer both find: a full node carrying the chain label.
    let mut source = full_node("source", "sei:v1");
    source.metadata.labels = Some([("sei.io/chain".to_string(), "pacific-1".to_string())].into());
    nodes.create(&PostParams::default(), &source).await.unwrap();

    // A validator whose key Secrets do not exist yet: the plan waits and says why.
    let validator: SeiNode = serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
        "metadata": {"name": "val", "namespace": NS},
        "spec": {"chainId": "pacific-1", "image": "sei:v1",
                 "peers": [{"label": {"selector": {"sei.io/chain": "pacific-1"}}}],
                 "validator": {"signingKey": {"secret": {"secretName": "val-signing-key"}},
                               "nodeKey": {"secret": {"secretName": "val-node-key"}}}}
    }))
    .unwrap();
    nodes.create(&PostParams::default(), &validator).await.unwrap();
    let cond = condition_false(&nodes, "val", "SigningKeyReady").await;
    assert!(cond.message.contains(r#"Secret "val-signing-key" not found"#), "{}", cond.message);

    // The keys, made as a user would, with `seictl keys generate`.
    let keys = common::validator_key_secrets(&w.client, NS, "val").await;

    // A replayer starting from a snapshot in the platform bucket, below its target height.
    let snapshot_key = "pacific-1/state-sync/500.tar.gz";
    let path = s3.object_path("snapshots", snapshot_key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, snapshot_archive(&[("500/1/0", b"chunk"), ("metadata.db", b"meta")])).unwrap();
    let replayer: SeiNode = serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
        "metadata": {"name": "replay", "namespace": NS},
        "spec": {"chainId": "pacific-1", "image": "sei:v1",
                 "peers": [{"label": {"selector": {"sei.io/chain": "pacific-1"}}}],
                 "replayer": {"snapshot": {"s3": {"targetHeight": 600}}}}
    }))
    .unwrap();
    nodes.create(&PostParams::default(), &replayer).await.unwrap();
    // A replayer asking for a height below every snapshot: its sidecar's snapshot-restore
    // fails, which fails the plan (no retries are planned for it).
    let mut early = replayer.clone();
    early.metadata.name = Some("early".into());
    early.spec.replayer.as_mut().unwrap().snapshot.s3.as_mut().unwrap().target_height = 100;
    nodes.create(&PostParams::default(), &early).await.unwrap();

    wait_running(&nodes, "source").await;
    let val = wait_running(&nodes, "val").await;
    let replay = wait_running(&nodes, "replay").await;

    let conditions = val.status.unwrap().conditions.unwrap();
    for c in ["SigningKeyReady", "NodeKeyReady"] {
        assert!(conditions.iter().any(|x| x.type_ == c && x.status == "True"), "{c}: {conditions:?}");
    }
    let source_dns = "source-0.source.e2e.svc.cluster.local";
    assert_eq!(replay.status.unwrap().resolved_peers.unwrap_or_default(), [source_dns]);
    // Both reached the source through its DNS name and learnt its node ID, which is the
    // source's own node key.
    let source_id = node_id(&home(&w, "data-source").join("config/node_key.json"));
    let expected = format!("{source_id}@{source_dns}:26656");
    assert_eq!(persistent_peers(&home(&w, "data-val")), expected);
    assert_eq!(persistent_peers(&home(&w, "data-replay")), expected);
    // The validator runs with the Secret's node key, not a generated one.
    assert_eq!(
        node_id(&home(&w, "data-val").join("config/node_key.json")),
        node_id(&keys.path().join("node_key.json"))
    );

    // The replayer restored the snapshot and trusts the source's block at its height.
    let replay_home = home(&w, "data-replay");
    assert_eq!(std::fs::read_to_string(replay_home.join("data/snapshots/500/1/0")).unwrap(), "chunk");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(replay_home.join("config/config.toml")).unwrap()).unwrap();
    let statesync = &config["statesync"];
    assert_eq!(statesync["trust-height"].as_integer(), Some(500));
    assert_eq!(statesync["trust-hash"].as_str(), Some(sei_testenv::block_hash(500).as_str()));
    assert_eq!(statesync["use-local-snapshot"].as_bool(), Some(true));

    // The failing task failed the plan once; it was not posted again and run over.
    let failed = eventually("early Failed", 120, || async {
        let n = nodes.get("early").await.ok()?;
        (phase_of(&n) == Some("Failed")).then_some(n)
    })
    .await;
    let detail = failed.status.unwrap().plan.unwrap().failed_task_detail.unwrap();
    assert_eq!(detail.task_type, "snapshot-restore", "{detail:?}");
    tokio::time::sleep(Duration::from_secs(12)).await;
    let runs: Vec<_> = common::sidecar_tasks(&w.client, &w._runner.address_file, NS, "early")
        .await
        .into_iter()
        .filter(|t| t["type"] == "snapshot-restore")
        .map(|t| (t["status"].as_str().unwrap_or_default().to_string(), t["run"].as_i64()))
        .collect();
    assert_eq!(runs, [("failed".to_string(), Some(1))], "snapshot-restore ran again after failing");
    w.controller.abort();
}

fn snapshot_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, body) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, *body).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// The seid image of a node's StatefulSet.
async fn sts_image(client: &Client, name: &str) -> Option<String> {
    let sts = Api::<StatefulSet>::namespaced(client.clone(), NS).get_opt(name).await.ok()??;
    let pod = sts.spec?.template.spec?;
    pod.containers.into_iter().find(|c| c.name == "seid")?.image
}

fn task_status(node: &SeiNode, task_type: &str) -> Option<String> {
    let plan = node.status.as_ref()?.plan.as_ref()?;
    let task = plan.tasks.iter().find(|t| t.task_type == task_type)?;
    Some(format!("{:?}", task.status))
}

fn set_image(image: &str) -> Patch<serde_json::Value> {
    Patch::Merge(json!({"spec": {"image": image}}))
}

/// Waits until the node runs `image`: Running, no active plan, `currentImage` and the
/// StatefulSet both at `image`.
async fn wait_rolled_out(w: &World, nodes: &Api<SeiNode>, name: &str, image: &str) {
    eventually(&format!("{name} running {image}"), 120, || async {
        let n = nodes.get(name).await.ok()?;
        let s = n.status.as_ref()?;
        assert_ne!(phase_of(&n), Some("Failed"), "{name} failed: {:?}", s.plan);
        let idle = s.plan.as_ref().is_none_or(|p| format!("{:?}", p.phase) != "Active");
        let done = phase_of(&n) == Some("Running") && idle && s.current_image.as_deref() == Some(image);
        (done && sts_image(&w.client, name).await.as_deref() == Some(image)).then_some(())
    })
    .await;
}

fn phase_of(node: &SeiNode) -> Option<&'static str> {
    node.status.as_ref()?.phase.map(|p| p.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_edited_while_a_plan_runs_is_rolled_out() {
    let w = world().await;
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);
    nodes.create(&PostParams::default(), &full_node("edit", "sei:v1")).await.unwrap();

    // During the init plan: once the StatefulSet is applied and the sidecar tasks still run.
    let during = eventually("the init plan past apply-statefulset", 60, || async {
        let n = nodes.get("edit").await.ok()?;
        (task_status(&n, "apply-statefulset").as_deref() == Some("Complete")
            && task_status(&n, "mark-ready").as_deref() != Some("Complete"))
        .then_some(n)
    })
    .await;
    nodes.patch("edit", &PatchParams::default(), &set_image("sei:v2")).await.unwrap();
    assert_eq!(phase_of(&during), Some("Initializing"), "the edit must land during the init plan");
    wait_rolled_out(&w, &nodes, "edit", "sei:v2").await;

    // During an update plan: once it applied the new StatefulSet and waits for the rollout.
    // The window lasts as long as the pod's replacement (short on the simulated cluster),
    // so the StatefulSet is polled tightly and the node edited the moment it changes; the
    // node the edit returns shows whether the plan was still waiting. A round that missed
    // the window is tried again with the next image.
    let mut hit = false;
    for round in 3..=8 {
        let (image, next) = (format!("sei:v{round}"), format!("sei:v{round}.1"));
        nodes.patch("edit", &PatchParams::default(), &set_image(&image)).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while sts_image(&w.client, "edit").await.as_deref() != Some(image.as_str()) {
            assert!(tokio::time::Instant::now() < deadline, "{image} was never applied");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let edited = nodes.patch("edit", &PatchParams::default(), &set_image(&next)).await.unwrap();
        wait_rolled_out(&w, &nodes, "edit", &next).await;
        if task_status(&edited, "observe-image").is_some_and(|s| s != "Complete") {
            hit = true;
            break;
        }
    }
    assert!(hit, "no round edited the image while an update plan waited for its rollout");
    w.controller.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_node_says_why_and_starts_over_with_a_clean_plan_on_request() {
    let w = world().await;
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(w.client.clone(), NS);
    // A claim of the node's data PVC name that is not the node's: a terminal error.
    let foreign = json!({
        "metadata": {"name": "data-stuck"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": sei_testenv::STORAGE_CLASS,
                 "resources": {"requests": {"storage": "1Gi"}}}
    });
    pvcs.create(&PostParams::default(), &serde_json::from_value(foreign).unwrap()).await.unwrap();
    nodes.create(&PostParams::default(), &full_node("stuck", "sei:v1")).await.unwrap();
    let failed = eventually("the node Failed", 60, || async {
        let n = nodes.get("stuck").await.ok()?;
        (phase_of(&n) == Some("Failed")).then_some(n)
    })
    .await;
    let status = failed.status.clone().unwrap();
    let cond = status.conditions.iter().flatten().find(|c| c.type_ == "Failed").expect("a Failed condition");
    assert_eq!((cond.status.as_str(), cond.reason.as_str()), ("True", "PlanFailed"));
    assert!(cond.message.contains("ensure-data-pvc") && cond.message.contains("is not owned"), "{}", cond.message);
    assert!(cond.message.contains("kubectl annotate seinode stuck sei.io/retry=now"), "{}", cond.message);
    let old_plan = status.plan.clone().unwrap();
    assert!(old_plan.failed_task_detail.is_some() && old_plan.failed_task_index.is_some());

    // Left alone, a failed node stays failed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = nodes.get("stuck").await.unwrap();
    assert_eq!(phase_of(&still), Some("Failed"));
    assert_eq!(still.status.unwrap().plan.unwrap().id, old_plan.id);

    // The user removes the cause and asks for a retry.
    pvcs.delete("data-stuck", &DeleteParams::default()).await.unwrap();
    eventually("the foreign PVC gone", 60, || async { pvcs.get_opt("data-stuck").await.ok()?.is_none().then_some(()) })
        .await;
    let retry = json!({"metadata": {"annotations": {"sei.io/retry": "now"}}});
    nodes.patch("stuck", &PatchParams::default(), &Patch::Merge(&retry)).await.unwrap();
    // The next plan carries nothing of the failed one.
    let fresh = eventually("a new plan", 60, || async {
        let n = nodes.get("stuck").await.ok()?;
        let plan = n.status.as_ref()?.plan.clone()?;
        (plan.id != old_plan.id).then_some((n, plan))
    })
    .await;
    let (node, plan) = fresh;
    // The request is consumed once the new plan is stored.
    eventually("the retry annotation consumed", 30, || async {
        (!nodes.get("stuck").await.ok()?.annotations().contains_key("sei.io/retry")).then_some(())
    })
    .await;
    assert_eq!(plan.failed_task_detail, None, "stale failure detail in {plan:?}");
    assert_eq!(plan.failed_task_index, None, "stale failure index in {plan:?}");
    assert!(plan.tasks.iter().all(|t| t.error.is_none()), "stale task error in {plan:?}");
    let conditions = node.status.unwrap().conditions.unwrap_or_default();
    assert!(!conditions.iter().any(|c| c.type_ == "Failed"), "{conditions:?}");
    wait_running(&nodes, "stuck").await;
    w.controller.abort();
}

const HOLD: &str = "e2e.sei.io/hold";

/// Adds or removes one finalizer, keeping the others (at the version read).
async fn set_finalizer(pvcs: &Api<PersistentVolumeClaim>, name: &str, finalizer: &str, present: bool) {
    let pvc = pvcs.get(name).await.unwrap();
    let mut list: Vec<String> = pvc.finalizers().iter().filter(|f| *f != finalizer).cloned().collect();
    if present {
        list.push(finalizer.to_string());
    }
    let patch = json!({"metadata": {"finalizers": list, "resourceVersion": pvc.resource_version()}});
    pvcs.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_deleted_and_created_again_at_once_runs_every_time() {
    let w = world().await;
    let nodes: Api<SeiNode> = Api::namespaced(w.client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(w.client.clone(), NS);
    nodes.create(&PostParams::default(), &full_node("again", "sei:v1")).await.unwrap();
    wait_running(&nodes, "again").await;
    for round in 1..=5 {
        // The first time, the old data PVC outlives its node (a finalizer of ours holds it,
        // as a pod still using it would), so the new node meets it while it is Terminating.
        let hold = round == 1;
        if hold {
            set_finalizer(&pvcs, "data-again", HOLD, true).await;
        }
        let old = nodes.get("again").await.unwrap().uid();
        delete_and_wait(&nodes, "again").await;
        nodes.create(&PostParams::default(), &full_node("again", "sei:v1")).await.unwrap();
        if hold {
            let pvc = pvcs.get("data-again").await.unwrap();
            assert!(pvc.metadata.deletion_timestamp.is_some(), "round {round}: the old PVC is not terminating");
            // The new node waits for it instead of failing.
            tokio::time::sleep(Duration::from_secs(5)).await;
            let n = nodes.get("again").await.unwrap();
            assert_ne!(phase_of(&n), Some("Failed"), "round {round}: {:?}", n.status);
            assert_ne!(n.uid(), old);
            set_finalizer(&pvcs, "data-again", HOLD, false).await;
        }
        let n = wait_running(&nodes, "again").await;
        // Everything it runs on is its own, not the earlier node's.
        let pvc = pvcs.get("data-again").await.unwrap();
        assert!(pvc.owner_references().iter().any(|r| Some(&r.uid) == n.uid().as_ref()), "round {round}: {pvc:?}");
        let secret = Api::<Secret>::namespaced(w.client.clone(), NS).get("again-sidecar-token").await.unwrap();
        assert!(secret.owner_references().iter().any(|r| Some(&r.uid) == n.uid().as_ref()), "round {round}");
    }
    w.controller.abort();
}
