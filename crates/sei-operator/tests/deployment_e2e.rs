//! The SeiNodeDeployment controller on the simulated cluster, with the SeiNode controller
//! and real sidecars run by the local pod runner.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_operator::context::Context;
use sei_planner::Platform;
use sei_testenv::PodRunner;
use serde_json::json;

mod common;

use common::{cluster, eventually, seictl, watchdog};

const NS: &str = "fleet";

fn platform() -> Platform {
    let env: std::collections::HashMap<_, _> = sei_testenv::SIMULATED_PLATFORM.iter().copied().collect();
    Platform::from_env(|k| env.get(k).map(|v| v.to_string())).unwrap()
}

fn deployment(name: &str, replicas: i32, policy: &str) -> SeiNodeDeployment {
    serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas, "deletionPolicy": policy, "updateStrategy": {"type": "InPlace"},
            "template": {
                "metadata": {"labels": {"team": "rpc"}},
                "spec": {"chainId": "pacific-1", "image": "sei:v1", "fullNode": {}}
            }
        }
    }))
    .unwrap()
}

/// Names of the SeiNodes labelled as members of `deployment`, sorted.
async fn members(client: &Client, deployment: &str) -> Vec<String> {
    let lp = ListParams::default().labels(&format!("sei.io/nodedeployment={deployment}"));
    let mut names: Vec<String> = Api::<SeiNode>::namespaced(client.clone(), NS)
        .list(&lp)
        .await
        .unwrap()
        .items
        .iter()
        .map(|n| n.name_any())
        .collect();
    names.sort();
    names
}

/// Waits until the deployment reports `replicas` ready, a status row per member, and its
/// members are `names`.
async fn settles(client: &Client, name: &str, replicas: i32, names: &[&str]) -> SeiNodeDeployment {
    let api: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    eventually(&format!("{name} at {replicas} ready, members {names:?}"), 300, || async {
        let d = api.get(name).await.ok()?;
        let s = d.status.as_ref()?;
        let rows = s.nodes.as_ref().map_or(0, Vec::len);
        let ready = s.ready_replicas == Some(replicas) && s.replicas == Some(replicas) && rows == names.len();
        let phase = s.phase.map(|p| format!("{p:?}"));
        (ready && phase.as_deref() == Some("Ready") && members(client, name).await == names).then_some(d)
    })
    .await
}

/// Waits until every child runs `image` with its own plan over, and the deployment is
/// Ready with the roll-out done.
async fn rolled_out(client: &Client, name: &str, image: &str) {
    let api: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);
    eventually(&format!("{name} rolled out to {image}"), 240, || async {
        let d = api.get(name).await.ok()?;
        let s = d.status.as_ref()?;
        let done = s.rollout.is_none()
            && s.plan.is_none()
            && s.template_hash.as_deref() == Some(sei_planner::group::template_hash(&d.spec).as_str())
            && s.observed_generation == d.metadata.generation
            && s.phase.map(|p| format!("{p:?}")).as_deref() == Some("Ready");
        if !done {
            return None;
        }
        for member in members(client, name).await {
            let n = nodes.get(&member).await.ok()?;
            let current = n.status.as_ref().and_then(|s| s.current_image.as_deref());
            // The child's own update plan is over too (its mark-ready follows observe-image).
            let idle = n.status.as_ref().is_some_and(|s| s.plan.is_none());
            if n.spec.image != image || current != Some(image) || !idle || common::phase(&n) != Some("Running") {
                return None;
            }
        }
        let rollout = s.conditions.as_ref()?.iter().find(|c| c.type_ == "RolloutInProgress")?;
        assert_eq!((rollout.status.as_str(), rollout.reason.as_str()), ("False", "RolloutComplete"));
        Some(())
    })
    .await;
}

/// A test's cluster: the control plane, the pod runner (its sidecars get `sidecar_env`)
/// and both controllers in this process, with the operator's own client.
struct World {
    cp: sei_testenv::ControlPlane,
    client: Client,
    runner: PodRunner,
    dir: tempfile::TempDir,
    ctx: Arc<Context>,
    controller: tokio::task::JoinHandle<()>,
}

async fn world(sidecar_env: Vec<(String, String)>) -> World {
    watchdog(900);
    let (cp, client) = cluster(NS).await;
    let dir = tempfile::tempdir().unwrap();
    let runner = PodRunner::start(client.clone(), NS, seictl(), dir.path(), sidecar_env).await.unwrap();
    // The operator's own client, as in production: its requests carry its user agent.
    let operator_client = sei_operator::context::client(cp.config().await.unwrap(), None).unwrap();
    let ctx = Arc::new(Context::new(operator_client, platform(), Some(runner.address_file.clone())).unwrap());
    let controller = tokio::spawn(sei_operator::run_controllers(ctx.clone()));
    World { cp, client, runner, dir, ctx, controller }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_scales_reports_its_readiness_and_is_deleted_by_its_policy() {
    let World { cp, client, runner: _runner, dir: _dir, ctx, controller } = world(Vec::new()).await;
    let api: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);

    // 2 children, Running, labelled, owned; the internal Service selects them.
    api.create(&PostParams::default(), &deployment("rpc", 2, "Delete")).await.unwrap();
    let d = settles(&client, "rpc", 2, &["rpc-0", "rpc-1"]).await;
    let child = nodes.get("rpc-1").await.unwrap();
    assert_eq!(child.labels()["sei.io/nodedeployment-ordinal"], "1");
    assert_eq!(child.labels()["team"], "rpc");
    assert_eq!(child.owner_references()[0].uid, d.uid().unwrap());
    let pod_labels = child.spec.pod_labels.clone().unwrap();
    assert_eq!(pod_labels["sei.io/nodedeployment"], "rpc");
    let svc = Api::<Service>::namespaced(client.clone(), NS).get("rpc-internal").await.unwrap();
    assert_eq!(svc.spec.unwrap().selector.unwrap()["sei.io/nodedeployment"], "rpc");
    let status = d.status.unwrap();
    let rows: Vec<String> = status.nodes.unwrap().iter().map(|n| format!("{}={:?}", n.name, n.phase)).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(status.conditions.unwrap().iter().any(|c| c.type_ == "NodesReady" && c.status == "True"));
    let evm = status.endpoints.unwrap().evm_json_rpc.unwrap();
    assert_eq!(evm[0], "http://rpc-internal.fleet.svc:8545");
    for series in [
        r#"sei_controller_seinodedeployment_phase{namespace="fleet",name="rpc",phase="Ready"} 1"#,
        r#"sei_controller_seinodedeployment_replicas{namespace="fleet",name="rpc",replica_state="ready"} 2"#,
    ] {
        // Recorded right after the status write the test saw.
        eventually(series, 10, || async { ctx.metrics.encode().contains(series).then_some(()) }).await;
    }

    // A label someone else puts on a child survives the next reconciles.
    let foreign = json!({"metadata": {"labels": {"argocd.argoproj.io/instance": "fleet"}}});
    nodes.patch("rpc-0", &PatchParams::default(), &Patch::Merge(&foreign)).await.unwrap();

    // Up to 5, down to 1: the highest ordinals go.
    let scale = |n: i32| Patch::Merge(json!({"spec": {"replicas": n}}));
    api.patch("rpc", &PatchParams::default(), &scale(5)).await.unwrap();
    settles(&client, "rpc", 5, &["rpc-0", "rpc-1", "rpc-2", "rpc-3", "rpc-4"]).await;
    api.patch("rpc", &PatchParams::default(), &scale(1)).await.unwrap();
    let d = settles(&client, "rpc", 1, &["rpc-0"]).await;
    assert_eq!(d.status.unwrap().nodes.unwrap().len(), 1);
    let kept = nodes.get("rpc-0").await.unwrap();
    assert_eq!(kept.labels()["argocd.argoproj.io/instance"], "fleet", "another tool's label was removed");
    assert_eq!(kept.labels()["sei.io/revision"], "1", "scaling relabelled the running child");

    // An image change rolls out in place; a second change during the roll-out supersedes it.
    api.patch("rpc", &PatchParams::default(), &scale(2)).await.unwrap();
    settles(&client, "rpc", 2, &["rpc-0", "rpc-1"]).await;
    let image = |i: &str| Patch::Merge(json!({"spec": {"template": {"spec": {"image": i}}}}));
    api.patch("rpc", &PatchParams::default(), &image("sei:v2")).await.unwrap();
    rolled_out(&client, "rpc", "sei:v2").await;
    let v3 = api.patch("rpc", &PatchParams::default(), &image("sei:v3")).await.unwrap();
    let v3_hash = sei_planner::group::template_hash(&v3.spec);
    eventually("the sei:v3 roll-out under way", 60, || async {
        let s = api.get("rpc").await.ok()?.status?;
        (s.rollout?.target_hash == v3_hash && s.plan.is_some()).then_some(())
    })
    .await;
    api.patch("rpc", &PatchParams::default(), &image("sei:v4")).await.unwrap();
    rolled_out(&client, "rpc", "sei:v4").await;
    let events = Api::<Event>::namespaced(client.clone(), NS).list(&ListParams::default()).await.unwrap();
    let reasons: Vec<&str> = events
        .items
        .iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("rpc"))
        .filter_map(|e| e.reason.as_deref())
        .collect();
    for reason in ["RolloutStarted", "RolloutSuperseded", "PlanStarted", "RolloutComplete", "PlanComplete"] {
        assert!(reasons.contains(&reason), "no {reason} event: {reasons:?}");
    }

    // A public, monitored fleet on a cluster without the HTTPRoute and ServiceMonitor
    // kinds: it says so, runs all the same, and (below) rests without retrying.
    let mut public = deployment("nocrd", 1, "Retain");
    public.spec.networking = Some(Default::default());
    public.spec.monitoring = Some(serde_json::from_value(json!({"serviceMonitor": {}})).unwrap());
    api.create(&PostParams::default(), &public).await.unwrap();
    let d = settles(&client, "nocrd", 1, &["nocrd-0"]).await;
    let conditions = d.status.unwrap().conditions.unwrap();
    for kind in ["RouteReady", "ServiceMonitorReady"] {
        let c = conditions.iter().find(|c| c.type_ == kind).unwrap_or_else(|| panic!("no {kind}: {conditions:?}"));
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "CRDNotInstalled"), "{kind}");
    }

    // At rest: a Ready fleet and its Running children cause no write for 35 s (more than
    // the fleet's 30 s recheck), as the API server's audit log records.
    let operator = |r: &&sei_testenv::AuditRecord| r.user_agent == sei_operator::context::USER_AGENT;
    let log = cp.audit().unwrap();
    let seen = log.len();
    let fleet_writes = log.iter().filter(operator).filter(|r| r.is_write() && r.resource == "seinodedeployments");
    assert!(
        fleet_writes.count() > 0,
        "no fleet write by the operator's user agent: the check below would prove nothing"
    );
    tokio::time::sleep(Duration::from_secs(35)).await;
    let window = cp.audit().unwrap().split_off(seen);
    let sent: Vec<_> = window.iter().filter(operator).filter(|r| r.is_write()).collect();
    assert!(sent.is_empty(), "a fleet at rest caused writes: {sent:#?}");

    // Retain without those kinds installed: the deployment goes, its child stays.
    api.delete("nocrd", &DeleteParams::default()).await.unwrap();
    eventually("nocrd gone", 60, || async { api.get_opt("nocrd").await.ok()?.is_none().then_some(()) }).await;
    assert!(nodes.get_opt("nocrd-0").await.unwrap().is_some(), "Retain deleted the child");

    // Delete: the children go with it.
    api.delete("rpc", &DeleteParams::default()).await.unwrap();
    eventually("rpc and its children gone", 120, || async {
        let gone = api.get_opt("rpc").await.ok()?.is_none();
        (gone && members(&client, "rpc").await.is_empty()).then_some(())
    })
    .await;

    eventually("the deleted deployment's series gone", 10, || async {
        (!ctx.metrics.encode().contains(r#"name="rpc""#)).then_some(())
    })
    .await;

    // Retain: the children stay, Running, with no owner.
    api.create(&PostParams::default(), &deployment("kept", 2, "Retain")).await.unwrap();
    settles(&client, "kept", 2, &["kept-0", "kept-1"]).await;
    api.delete("kept", &DeleteParams::default()).await.unwrap();
    eventually("kept gone", 60, || async { api.get_opt("kept").await.ok()?.is_none().then_some(()) }).await;
    // Long enough for the garbage collector to have acted on owned children.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for name in ["kept-0", "kept-1"] {
        let n = nodes.get(name).await.unwrap_or_else(|e| panic!("{name} was deleted with a Retain deployment: {e}"));
        assert!(n.owner_references().is_empty(), "{name} still has owners: {:?}", n.owner_references());
        assert_eq!(common::phase(&n), Some("Running"));
    }
    controller.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_hold_a_genesis_ceremony_and_form_one_chain() {
    const CHAIN: &str = "e2e-ceremony-1";
    let s3 = sei_testenv::S3Server::start(&["genesis", "snapshots", "results"]).unwrap();
    let World { cp: _cp, client, runner, dir, ctx: _ctx, controller } = world(s3.env()).await;
    let api: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);

    // An extra funded account must be a `sei` address: refused with the field to fix.
    let funded = sei_sidecar::cosmos::bech32("sei", &[7u8; 20]);
    let validators = |accounts: serde_json::Value| -> SeiNodeDeployment {
        serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "val", "namespace": NS},
            "spec": {
                "replicas": 4, "updateStrategy": {"type": "InPlace"},
                "genesis": {"chainId": CHAIN, "accountBalance": "1000000000usei", "accounts": accounts},
                "template": {"spec": {"chainId": CHAIN, "image": "sei:v1", "validator": {}}}
            }
        }))
        .unwrap()
    };
    api.create(
        &PostParams::default(),
        &validators(json!([{"address": funded.replace("sei1", "cosmos1"), "balance": "5usei"}])),
    )
    .await
    .unwrap();
    let refused = eventually("the bad account reported", 120, || async {
        let s = api.get("val").await.ok()?.status?;
        let c = s.conditions?.into_iter().find(|c| c.type_ == "GenesisCeremonyComplete")?;
        (c.reason == "InvalidGenesis").then_some(c.message)
    })
    .await;
    assert!(refused.contains("spec.genesis.accounts[0].address"), "{refused}");
    let fixed = json!({"spec": {"genesis": {"accounts": [{"address": funded, "balance": "5usei"}]}}});
    api.patch("val", &PatchParams::default(), &Patch::Merge(&fixed)).await.unwrap();

    let names = ["val-0", "val-1", "val-2", "val-3"];
    let d = settles(&client, "val", 4, &names).await;
    let conditions = d.status.unwrap().conditions.unwrap();
    let complete = conditions.iter().find(|c| c.type_ == "GenesisCeremonyComplete").unwrap();
    assert_eq!((complete.status.as_str(), complete.reason.as_str()), ("True", "CeremonyComplete"));
    assert!(!conditions.iter().any(|c| c.type_ == "GenesisCeremonyNeeded"), "{conditions:?}");

    // One genesis: what the assembler uploaded, byte for byte on every validator, with
    // every validator's gentx and the funded account.
    let uploaded = std::fs::read(s3.object_path("genesis", &format!("{CHAIN}/genesis.json"))).unwrap();
    let home = |n: &str| dir.path().join(NS).join(format!("pvc-data-{n}"));
    for n in names {
        assert!(std::fs::read(home(n).join("config/genesis.json")).unwrap() == uploaded, "{n} has another genesis");
    }
    let genesis: serde_json::Value = serde_json::from_slice(&uploaded).unwrap();
    assert_eq!(genesis["chain_id"], CHAIN);
    let gentxs = genesis["app_state"]["genutil"]["gen_txs"].as_array().unwrap();
    assert_eq!(gentxs.len(), 4, "one gentx per validator");
    for tx in gentxs {
        sei_sidecar::cosmos::verify_gentx(tx, CHAIN).unwrap();
    }
    let accounts = genesis["app_state"]["auth"]["accounts"].as_array().unwrap();
    assert!(accounts.iter().any(|a| a["address"] == funded.as_str()), "the extra account is not funded");

    // Each validator peers with the three others, by their true node IDs.
    let id = |n: &str| {
        let text = std::fs::read_to_string(home(n).join("config/node_key.json")).unwrap();
        sei_sidecar::keys::node_id(&sei_sidecar::keys::parse_key_file(&text).unwrap())
    };
    for n in names {
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(home(n).join("config/config.toml")).unwrap()).unwrap();
        let mut peers: Vec<String> = config["p2p"]["persistent-peers"]
            .as_str()
            .unwrap()
            .split(',')
            .map(|p| p.split_once('@').unwrap().0.to_string())
            .collect();
        peers.sort();
        let mut others: Vec<String> = names.iter().filter(|o| **o != n).map(|o| id(o)).collect();
        others.sort();
        assert_eq!(peers, others, "{n}'s persistent peers");
        // The same three, recorded in the node's spec by collect-and-set-peers.
        let spec_peers = nodes.get(n).await.unwrap().spec.peers.unwrap();
        let addresses = &spec_peers[0].r#static.as_ref().unwrap().addresses;
        assert_eq!(addresses.len(), 3, "{n}: {addresses:?}");
        assert!(names.iter().filter(|o| **o != n).all(|o| addresses.iter().any(|a| a.starts_with(&id(o)))));
    }

    // The assembler (the smallest name) assembled once, in one run; nobody else did.
    for n in names {
        let assembled: Vec<_> = common::sidecar_tasks(&client, &runner.address_file, NS, n)
            .await
            .into_iter()
            .filter(|t| t["type"] == "assemble-and-upload-genesis")
            .collect();
        if n == "val-0" {
            assert_eq!(assembled.len(), 1, "{assembled:?}");
            assert_eq!((assembled[0]["status"].as_str(), assembled[0]["run"].as_i64()), (Some("completed"), Some(1)));
        } else {
            assert!(assembled.is_empty(), "{n} assembled: {assembled:?}");
        }
    }
    controller.abort();
}

/// The revision the internal Service of `name` selects.
async fn serving(client: &Client, name: &str) -> Option<String> {
    let svc = Api::<Service>::namespaced(client.clone(), NS).get(&format!("{name}-internal")).await.ok()?;
    svc.spec?.selector?.get("sei.io/revision").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_and_hard_fork_roll_outs_move_traffic_only_to_entrants_that_are_ready() {
    let World { cp: _cp, client, runner, dir, ctx: _ctx, controller } = world(Vec::new()).await;
    let api: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let mut d = deployment("bg", 2, "Delete");
    d.spec.update_strategy.strategy_type = sei_api::deployment::UpdateStrategyType::BlueGreen;
    api.create(&PostParams::default(), &d).await.unwrap();
    settles(&client, "bg", 2, &["bg-0", "bg-1"]).await;
    assert_eq!(serving(&client, "bg").await.as_deref(), Some("1"));

    // BlueGreen: entrants whose seid takes 90 s to catch up (a node's init plan takes
    // about 20 s here, more on a loaded machine). Traffic stays with the incumbents until
    // then, though the entrants run long before.
    runner.set_catch_up(Duration::from_secs(90));
    let image = |i: &str| Patch::Merge(json!({"spec": {"template": {"spec": {"image": i}}}}));
    api.patch("bg", &PatchParams::default(), &image("sei:v2")).await.unwrap();
    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);
    let entrants = ["bg-g2-0", "bg-g2-1"];
    let waited_for_catch_up = std::cell::Cell::new(false);
    eventually("traffic on the BlueGreen entrants", 240, || async {
        let switched = serving(&client, "bg").await.as_deref() == Some("2");
        let mut running_but_behind = true;
        for e in entrants {
            // Running: its init plan, which ends with mark-ready, is done.
            let running = nodes.get_opt(e).await.ok()?.is_some_and(|n| common::phase(&n) == Some("Running"));
            let behind = match sidecar_status(&runner, e).await {
                Some(status) => {
                    let behind = status["catchingUp"] == true;
                    assert!(!(switched && behind), "traffic moved to {e} while it was catching up: {status}");
                    behind
                }
                None => {
                    assert!(!switched, "traffic moved to {e}, whose sidecar does not answer");
                    false
                }
            };
            running_but_behind &= running && behind;
        }
        waited_for_catch_up.set(waited_for_catch_up.get() || (running_but_behind && !switched));
        switched.then_some(())
    })
    .await;
    assert!(waited_for_catch_up.get(), "never saw the entrants Running and still catching up before the switch");
    rolled_out(&client, "bg", "sei:v2").await;
    assert_eq!(members(&client, "bg").await, entrants, "the incumbents are gone");
    let status = api.get("bg").await.unwrap().status.unwrap();
    assert_eq!(status.incumbent_nodes.unwrap(), entrants);
    assert_eq!(status.ready_replicas, Some(2));

    // HardFork at a height 30 s ahead (time for the entrants to start, so that the halt
    // signal arrives before the height): the incumbents (the last roll-out's entrants)
    // stop there; the entrants reach it; then traffic moves and the incumbents go.
    runner.set_catch_up(sei_testenv::CATCH_UP);
    let halt = runner.chain.tip() + (Duration::from_secs(30).as_millis() / sei_testenv::BLOCK_TIME.as_millis()) as i64;
    let fork = json!({"spec": {"updateStrategy": {"type": "HardFork", "hardFork": {"haltHeight": halt}},
                               "template": {"spec": {"image": "sei:v3"}}}});
    api.patch("bg", &PatchParams::default(), &Patch::Merge(&fork)).await.unwrap();
    let switched_at = eventually("traffic on the HardFork entrants", 240, || async {
        (serving(&client, "bg").await.as_deref() == Some("3")).then(|| runner.chain.tip())
    })
    .await;
    assert!(switched_at >= halt, "switched at height {switched_at}, before the halt height {halt}");
    rolled_out(&client, "bg", "sei:v3").await;
    assert_eq!(members(&client, "bg").await, ["bg-g3-0", "bg-g3-1"]);
    for incumbent in entrants {
        let noted = dir.path().join(NS).join(format!("pvc-data-{incumbent}")).join("seid-halted-at");
        let at: i64 = std::fs::read_to_string(&noted)
            .unwrap_or_else(|e| panic!("{incumbent} was not halted ({}: {e})", noted.display()))
            .parse()
            .unwrap();
        assert!((halt..halt + 5).contains(&at), "{incumbent} stopped at {at}, not at {halt}");
    }
    let events = Api::<Event>::namespaced(client.clone(), NS).list(&ListParams::default()).await.unwrap();
    let completed = events
        .items
        .iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("bg"))
        .filter(|e| e.reason.as_deref() == Some("RolloutComplete"))
        // Repeats of one event are counted in its series.
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum::<i32>();
    assert!(completed >= 2, "{completed} RolloutComplete events");
    controller.abort();
}

/// A node's sidecar `GET /v0/status` (open, no token), if it runs.
async fn sidecar_status(runner: &PodRunner, node: &str) -> Option<serde_json::Value> {
    let addresses: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&runner.address_file).ok()?).ok()?;
    let url = addresses.get(&format!("{NS}/{node}"))?;
    reqwest::get(format!("{url}/v0/status")).await.ok()?.json().await.ok()
}

/// The CRD manifest `hack/crds.sh NAME` fetches from the Go module that publishes it.
fn crd(name: &str) -> String {
    sei_testenv::foreign_crds(name).unwrap()
}

/// A DNS server for the DNS gate: answers `127.0.0.1` for the names in `known`, NXDOMAIN
/// for the rest (UDP, on a free loopback port).
async fn dns_server(known: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>) -> std::net::SocketAddr {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
            let mut answer = Message::new();
            answer.set_id(query.id()).set_message_type(MessageType::Response).set_recursion_available(true);
            answer.add_queries(query.queries().to_vec());
            match query.queries().first() {
                Some(q) if known.lock().unwrap().contains(q.name().to_ascii().trim_end_matches('.')) => {
                    if q.query_type() == hickory_proto::rr::RecordType::A {
                        answer.add_answer(Record::from_rdata(q.name().clone(), 5, RData::A(A::new(127, 0, 0, 1))));
                    }
                }
                _ => {
                    answer.set_response_code(ResponseCode::NXDomain);
                }
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_fleet_waits_for_its_name_then_gets_routes_and_a_service_monitor_that_follow_its_spec() {
    use kube::api::DynamicObject;
    use sei_planner::group::networking::http_route_resource;
    watchdog(900);
    let (cp, client) = cluster(NS).await;
    // The Gateway API's HTTPRoute kind, from its Go module.
    sei_testenv::apply_manifests(&client, &crd("gateway-api")).await.unwrap();
    let known = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let dns = dns_server(known.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let runner = PodRunner::start(client.clone(), NS, seictl(), dir.path(), Vec::new()).await.unwrap();
    let mut platform = platform();
    platform.gateway_resolver = Some(dns);
    let operator_client = sei_operator::context::client(cp.config().await.unwrap(), None).unwrap();
    let ctx = Arc::new(Context::new(operator_client, platform, Some(runner.address_file.clone())).unwrap());
    let controller = tokio::spawn(sei_operator::run_controllers(ctx.clone()));
    let api: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let routes: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &http_route_resource());
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let route_ready = || async {
        let s = api.get("pub").await.ok()?.status?;
        s.conditions?.into_iter().find(|c| c.type_ == "RouteReady").map(|c| (c.status, c.reason))
    };

    let mut d = deployment("pub", 2, "Retain");
    d.spec.networking = Some(Default::default());
    api.create(&PostParams::default(), &d).await.unwrap();
    // The name does not resolve: routes and the external Service exist, no child does.
    eventually("DNSPending", 60, || async {
        (route_ready().await? == ("False".into(), "DNSPending".into())).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(members(&client, "pub").await.is_empty(), "children made behind an unresolvable name");
    let names: Vec<String> =
        routes.list(&ListParams::default()).await.unwrap().items.iter().map(|r| r.name_any()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let external = services.get("pub-external").await.unwrap();
    assert_eq!(external.spec.unwrap().selector.unwrap()["sei.io/nodedeployment"], "pub");

    // Once it resolves: children, Ready, and the routes in the status.
    known.lock().unwrap().insert("pub-evm.sei.local".to_string());
    let d = settles(&client, "pub", 2, &["pub-0", "pub-1"]).await;
    assert_eq!(route_ready().await.unwrap(), ("True".to_string(), "HTTPRouteReady".to_string()));
    let status = d.status.unwrap();
    let hosts: Vec<String> =
        status.networking_status.unwrap().routes.unwrap().into_iter().map(|r| r.hostname).collect();
    assert_eq!(hosts, ["pub-evm.sei.local", "pub-rpc.sei.local", "pub-rest.sei.local", "pub-grpc.sei.local"]);
    let evm = status.endpoints.unwrap().evm_json_rpc.unwrap();
    assert_eq!(evm[0], "http://pub-internal.fleet.svc:8545");

    // Monitoring asked for before the ServiceMonitor kind exists: said so, no error; once
    // it is installed (and the spec changes again), the fleet's ServiceMonitor appears.
    let monitors: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &sei_planner::group::monitoring::service_monitor_resource());
    let monitor_ready = || async {
        let s = api.get("pub").await.ok()?.status?;
        s.conditions?.into_iter().find(|c| c.type_ == "ServiceMonitorReady").map(|c| (c.status, c.reason))
    };
    let monitoring = |interval: &str| {
        Patch::Merge(
            json!({"spec": {"monitoring": {"serviceMonitor": {"interval": interval, "labels": {"release": "prom"}}}}}),
        )
    };
    api.patch("pub", &PatchParams::default(), &monitoring("15s")).await.unwrap();
    eventually("ServiceMonitorReady CRDNotInstalled", 60, || async {
        (monitor_ready().await? == ("False".into(), "CRDNotInstalled".into())).then_some(())
    })
    .await;
    sei_testenv::apply_manifests(&client, &crd("prometheus-operator")).await.unwrap();
    api.patch("pub", &PatchParams::default(), &monitoring("20s")).await.unwrap();
    eventually("ServiceMonitorReady", 60, || async {
        (monitor_ready().await? == ("True".into(), "ServiceMonitorReady".into())).then_some(())
    })
    .await;
    let sm = monitors.get("pub").await.unwrap();
    assert_eq!(sm.labels()["release"], "prom");
    assert_eq!(sm.data["spec"]["endpoints"][0]["interval"], "20s");
    assert_eq!(sm.data["spec"]["selector"]["matchLabels"]["sei.io/nodedeployment"], "pub");
    api.patch("pub", &PatchParams::default(), &Patch::Merge(json!({"spec": {"monitoring": null}}))).await.unwrap();
    eventually("the ServiceMonitor gone", 60, || async {
        (monitors.get_opt("pub").await.ok()?.is_none() && monitor_ready().await.is_none()).then_some(())
    })
    .await;
    api.patch("pub", &PatchParams::default(), &monitoring("30s")).await.unwrap();

    // Networking removed: routes and the external Service go, RouteReady too.
    api.patch("pub", &PatchParams::default(), &Patch::Merge(json!({"spec": {"networking": null}}))).await.unwrap();
    eventually("the routes and the external Service gone", 60, || async {
        let left = routes.list(&ListParams::default()).await.ok()?.items.len();
        let svc = services.get_opt("pub-external").await.ok()?;
        (left == 0 && svc.is_none() && route_ready().await.is_none()).then_some(())
    })
    .await;

    // Back on, then the deployment deleted with Retain: they stay, without an owner.
    api.patch("pub", &PatchParams::default(), &Patch::Merge(json!({"spec": {"networking": {}}}))).await.unwrap();
    eventually("HTTPRouteReady again", 60, || async {
        (route_ready().await? == ("True".into(), "HTTPRouteReady".into())).then_some(())
    })
    .await;
    api.delete("pub", &DeleteParams::default()).await.unwrap();
    eventually("pub gone", 60, || async { api.get_opt("pub").await.ok()?.is_none().then_some(()) }).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let kept = routes.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(kept.len(), 4, "Retain deleted the routes");
    assert!(kept.iter().all(|r| r.owner_references().is_empty()), "a route is still owned");
    let svc = services.get("pub-external").await.unwrap();
    assert!(svc.owner_references().is_empty(), "the external Service is still owned");
    let sm = monitors.get("pub").await.expect("Retain deleted the ServiceMonitor");
    assert!(sm.owner_references().is_empty(), "the ServiceMonitor is still owned");
    controller.abort();
}
