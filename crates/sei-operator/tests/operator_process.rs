//! The built `sei-operator` as its own process, as it runs in production: killed with
//! SIGKILL at random moments while a fleet initialises, and two replicas behind the
//! leader Lease.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use sei_api::SeiNode;
use sei_testenv::{Component, ControlPlane, PodRunner, Process, operator_command};
use serde_json::Value;

use common::{cluster, eventually, full_node, phase, seictl, watchdog};

struct Fleet {
    cp: ControlPlane,
    client: Client,
    runner: PodRunner,
    dir: tempfile::TempDir,
    ns: &'static str,
}

async fn fleet(ns: &'static str) -> Fleet {
    fleet_with(ns, Vec::new()).await
}

/// `sidecar_env` is given to every pod's sidecar (an S3 server's address, say).
async fn fleet_with(ns: &'static str, sidecar_env: Vec<(String, String)>) -> Fleet {
    watchdog(1500);
    let (cp, client) = cluster(ns).await;
    let dir = tempfile::tempdir().unwrap();
    let runner = PodRunner::start(client.clone(), ns, seictl(), dir.path(), sidecar_env).await.unwrap();
    Fleet { cp, client, runner, dir, ns }
}

impl Fleet {
    /// A replica named `name` (its Lease identity and user agent), logging to `name.log`.
    fn operator(&self, name: &str, leader_elect: bool) -> Process {
        let bin = Path::new(env!("CARGO_BIN_EXE_sei-operator"));
        let mut cmd = operator_command(bin, self.cp.kubeconfig_path(), &self.runner.address_file);
        cmd.env("POD_NAME", name).env("POD_NAMESPACE", self.ns).env("SEI_LOG_LEVEL", "info");
        cmd.args(["--leader-elect", if leader_elect { "true" } else { "false" }]);
        Process::spawn(name, cmd, &self.dir.path().join(format!("{name}.log"))).unwrap()
    }

    fn agent(name: &str) -> String {
        format!("{} ({name})", sei_operator::context::USER_AGENT)
    }

    async fn all_running(&self, names: &[String], secs: u64) {
        self.all_running_or_explain(names, secs, None).await
    }

    /// Waits for every node in `names` to be `Running`; on a timeout the panic says where
    /// each straggler is (its plan, its pod, whether the pod runner started its sidecar)
    /// and ends with the operator's log, so that a failure in CI can be diagnosed.
    async fn all_running_or_explain(&self, names: &[String], secs: u64, operator: Option<&Process>) {
        let nodes: Api<SeiNode> = Api::namespaced(self.client.clone(), self.ns);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(list) = nodes.list(&ListParams::default()).await {
                for n in &list.items {
                    assert_ne!(phase(n), Some("Failed"), "{} failed: {:?}", n.name_any(), n.status);
                }
                if list.items.iter().filter(|n| phase(n) == Some("Running")).count() == names.len() {
                    return;
                }
            }
            if Instant::now() >= deadline {
                panic!("timed out after {secs} s waiting for every node Running\n{}", self.explain(operator).await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn explain(&self, operator: Option<&Process>) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let nodes: Api<SeiNode> = Api::namespaced(self.client.clone(), self.ns);
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client.clone(), self.ns);
        let sidecars = self.runner.sidecars();
        let pod_list = pods.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        for n in nodes.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
            if phase(&n) == Some("Running") {
                continue;
            }
            let name = n.name_any();
            let status = serde_json::to_value(&n.status).unwrap_or_default();
            let plan = &status["plan"];
            let current: Vec<String> = plan["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["status"] != "Complete")
                .take(1)
                .map(|t| format!("{} {}", t["type"], t["status"]))
                .collect();
            let pod = pod_list.iter().find(|p| p.name_any().starts_with(&format!("{name}-")));
            let pod = pod.map(|p| {
                let st = p.status.clone().unwrap_or_default();
                format!(
                    "{} phase={:?} node={:?}",
                    p.name_any(),
                    st.phase,
                    p.spec.as_ref().and_then(|s| s.node_name.clone())
                )
            });
            let key = format!("{}/{name}", self.ns);
            let _ = writeln!(
                out,
                "{name}: phase={:?} plan={} current={current:?} conditions={} pod={pod:?} sidecar started={}",
                phase(&n),
                plan["phase"],
                status["conditions"],
                sidecars.contains(&key)
            );
        }
        if let Some(op) = operator {
            let _ = writeln!(out, "operator log (last 80 lines):\n{}", op.log_tail(80));
        }
        out
    }

    /// The tasks a node's sidecar has run, from its own API.
    async fn sidecar_tasks(&self, node: &str) -> Vec<Value> {
        common::sidecar_tasks(&self.client, &self.runner.address_file, self.ns, node).await
    }
}

/// A small xorshift generator: the kill moments are random, and reproducible from the
/// printed seed.
struct Rng(u64);

impl Rng {
    /// Seeded from `SEI_CHAOS_SEED`, else the clock; the seed is printed.
    fn seeded() -> Rng {
        let seed = std::env::var("SEI_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        }) | 1;
        eprintln!("chaos seed {seed} (SEI_CHAOS_SEED={seed} repeats these kill moments)");
        Rng(seed)
    }
}

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn names_of<K: kube::Resource>(items: &[K]) -> BTreeSet<String> {
    items.iter().map(|o| o.meta().name.clone().unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_twenty_times_while_twenty_nodes_initialise_every_node_still_runs() {
    const NS: &str = "chaos";
    let f = fleet(NS).await;
    let nodes: Api<SeiNode> = Api::namespaced(f.client.clone(), NS);
    let names: Vec<String> = (0..20).map(|i| format!("n{i:02}")).collect();
    let mut rng = Rng::seeded();
    let mut operator = f.operator("op-0", false);
    // One more node before each kill, so that every kill lands while some are initialising.
    for kill in 1..=20 {
        nodes.create(&PostParams::default(), &full_node(NS, &names[kill - 1], "sei:v1")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100 + rng.next() % 1000)).await;
        operator.kill();
        let list = nodes.list(&ListParams::default()).await.unwrap().items;
        let running = list.iter().filter(|n| phase(n) == Some("Running")).count();
        eprintln!("kill {kill:>2}: {running}/{kill} Running");
        operator = f.operator(&format!("op-{kill}"), false);
    }
    f.all_running(&names, 300).await;

    // No sidecar task ran twice: each ran once (run 1) and completed, and no task type was
    // submitted under a second ID (which a re-planned, non-deterministic ID would cause).
    for name in &names {
        let tasks = f.sidecar_tasks(name).await;
        let mut ids_by_type: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in &tasks {
            assert_eq!((t["status"].as_str(), t["run"].as_i64()), (Some("completed"), Some(1)), "{name}: {t}");
            ids_by_type.entry(t["type"].as_str().unwrap().into()).or_default().insert(t["id"].as_str().unwrap().into());
        }
        let types: Vec<&str> = ids_by_type.keys().map(String::as_str).collect();
        assert_eq!(types, ["config-apply", "config-validate", "configure-genesis", "mark-ready"], "{name}");
        assert!(ids_by_type.values().all(|ids| ids.len() == 1), "{name}: {ids_by_type:?}");
    }

    // Exactly one of each object per node, each owned by its node; nothing else.
    let expected: BTreeSet<String> = names.iter().cloned().collect();
    let uids: BTreeMap<String, String> = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|n| (n.name_any(), n.uid().unwrap()))
        .collect();
    let lp = ListParams::default();
    let sts = Api::<StatefulSet>::namespaced(f.client.clone(), NS).list(&lp).await.unwrap().items;
    let svc = Api::<Service>::namespaced(f.client.clone(), NS).list(&lp).await.unwrap().items;
    let pvc = Api::<PersistentVolumeClaim>::namespaced(f.client.clone(), NS).list(&lp).await.unwrap().items;
    let tokens: Vec<Secret> = Api::<Secret>::namespaced(f.client.clone(), NS)
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|s| s.name_any().ends_with("-sidecar-token"))
        .collect();
    assert_eq!(names_of(&sts), expected);
    assert_eq!(names_of(&svc), expected);
    assert_eq!(names_of(&pvc), expected.iter().map(|n| format!("data-{n}")).collect());
    assert_eq!(names_of(&tokens), expected.iter().map(|n| format!("{n}-sidecar-token")).collect());
    for (kind, owners) in [
        ("StatefulSet", sts.iter().map(|o| (o.name_any(), o.owner_references().to_vec())).collect::<Vec<_>>()),
        ("Service", svc.iter().map(|o| (o.name_any(), o.owner_references().to_vec())).collect()),
        ("Secret", tokens.iter().map(|o| (o.name_any(), o.owner_references().to_vec())).collect()),
    ] {
        for (name, refs) in owners {
            let node = name.trim_end_matches("-sidecar-token");
            assert!(refs.iter().any(|r| r.kind == "SeiNode" && r.uid == uids[node]), "{kind} {name}: {refs:?}");
        }
    }

    // Deleting the fleet, with one more crash in the middle, leaves nothing behind.
    nodes.delete_collection(&DeleteParams::default(), &ListParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    operator.kill();
    let _operator = f.operator("op-last", false);
    eventually("the fleet and everything it owned gone", 180, || async {
        let left = nodes.list(&lp).await.ok()?.items.len()
            + Api::<StatefulSet>::namespaced(f.client.clone(), NS).list(&lp).await.ok()?.items.len()
            + Api::<Service>::namespaced(f.client.clone(), NS).list(&lp).await.ok()?.items.len()
            + Api::<PersistentVolumeClaim>::namespaced(f.client.clone(), NS).list(&lp).await.ok()?.items.len()
            + Api::<Secret>::namespaced(f.client.clone(), NS)
                .list(&lp)
                .await
                .ok()?
                .items
                .iter()
                .filter(|s| s.name_any().ends_with("-sidecar-token"))
                .count();
        (left == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_replicas_one_leads_and_a_killed_leader_hands_over_within_the_lease() {
    const NS: &str = "leader";
    let f = fleet(NS).await;
    let leases: Api<Lease> = Api::namespaced(f.client.clone(), NS);
    // A holder is `<replica>_<random>`: the replica's name.
    let holder = || async {
        let lease = leases.get_opt(sei_operator::leader::LEASE_NAME).await.ok()??;
        let id = lease.spec?.holder_identity?;
        Some(id.rsplit_once('_').map_or(id.clone(), |(name, _)| name.to_string()))
    };
    let mut a = f.operator("op-a", true);
    let mut b = f.operator("op-b", true);
    let leader = eventually("a leader", 60, holder).await;
    let follower = if leader == "op-a" { "op-b" } else { "op-a" };

    let nodes: Api<SeiNode> = Api::namespaced(f.client.clone(), NS);
    nodes.create(&PostParams::default(), &full_node(NS, "first", "sei:v1")).await.unwrap();
    f.all_running(&["first".into()], 120).await;
    // Only the leader wrote anything but the Lease; the follower kept its caches warm.
    let log = f.cp.audit().unwrap();
    let by = |agent: String| log.iter().filter(move |r| r.user_agent == agent).cloned().collect::<Vec<_>>();
    let (led, followed) = (by(Fleet::agent(&leader)), by(Fleet::agent(follower)));
    assert!(led.iter().any(|r| r.resource == "seinodes" && r.is_write()), "the leader wrote no SeiNode");
    let strays: Vec<_> = followed.iter().filter(|r| r.resource != "leases" && r.is_write()).collect();
    assert!(strays.is_empty(), "the follower {follower} wrote {strays:#?}");
    assert!(
        followed.iter().any(|r| r.resource == "seinodes" && r.verb == "watch"),
        "the follower does not watch the SeiNodes: {:?}",
        sei_testenv::by_verb(followed.iter())
    );

    // The leader dies without a goodbye; the follower takes over once the Lease (15 s) runs out.
    let killed = Instant::now();
    if leader == "op-a" {
        a.kill()
    } else {
        b.kill()
    }
    let took_over = eventually("the follower leading", 60, || async {
        (holder().await.as_deref() == Some(follower)).then_some(killed.elapsed())
    })
    .await;
    eprintln!("handover after {:.1} s", took_over.as_secs_f64());
    // A follower retries when the Lease it last read expires (at most 15 s after the last
    // renewal), after a random pause of up to 1 s; polling adds 0.2 s.
    assert!(took_over <= Duration::from_secs(17), "handover took {took_over:?}, more than the 15 s lease");
    nodes.create(&PostParams::default(), &full_node(NS, "second", "sei:v1")).await.unwrap();
    f.all_running(&["first".into(), "second".into()], 120).await;

    // A leader stopped gracefully (SIGTERM, as on a rollout) releases the Lease on its way
    // out instead of leaving it held until it runs out; a waiting replica takes it at its
    // next attempt (a follower reads the Lease every second).
    let _c = f.operator("op-c", true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(holder().await.as_deref(), Some(follower), "a new replica does not take the Lease");
    let stopped = Instant::now();
    let second = if follower == "op-a" { &mut a } else { &mut b };
    second.stop(Duration::from_secs(10));
    let exit = stopped.elapsed();
    assert!(exit < Duration::from_secs(5), "SIGTERM took {exit:?} to stop the leader:\n{}", second.log_tail(10));
    let now = holder().await;
    assert_ne!(now.as_deref(), Some(follower), "the stopped leader still holds the Lease:\n{}", second.log_tail(10));
    let graceful = eventually("op-c leading", 60, || async {
        (holder().await.as_deref() == Some("op-c")).then_some(stopped.elapsed())
    })
    .await;
    eprintln!("graceful stop took {:.1} s, handover {:.1} s", exit.as_secs_f64(), graceful.as_secs_f64());
    assert!(graceful <= Duration::from_secs(17), "graceful handover took {graceful:?}");
}

/// Every sidecar task of `node` ran once and completed: no re-run, no second ID per type.
async fn each_task_ran_once(f: &Fleet, node: &str) {
    let tasks = f.sidecar_tasks(node).await;
    let mut ids_by_type: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &tasks {
        assert_eq!((t["status"].as_str(), t["run"].as_i64()), (Some("completed"), Some(1)), "{node}: {t}");
        ids_by_type.entry(t["type"].as_str().unwrap().into()).or_default().insert(t["id"].as_str().unwrap().into());
    }
    let types: Vec<&str> = ids_by_type.keys().map(String::as_str).collect();
    assert_eq!(types, ["config-apply", "config-validate", "configure-genesis", "mark-ready"], "{node}");
    assert!(ids_by_type.values().all(|ids| ids.len() == 1), "{node}: {ids_by_type:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_outage_and_an_etcd_outage_are_waited_out() {
    const NS: &str = "outage";
    let f = fleet(NS).await;
    let nodes: Api<SeiNode> = Api::namespaced(f.client.clone(), NS);
    // As in production: leader election on, so the Lease cannot be renewed during the outage.
    let mut operator = f.operator("op", true);
    let leases: Api<Lease> = Api::namespaced(f.client.clone(), NS);
    eventually("the operator leading", 60, || async {
        leases
            .get_opt(sei_operator::leader::LEASE_NAME)
            .await
            .ok()??
            .spec?
            .holder_identity
            .filter(|h| h.starts_with("op_"))
    })
    .await;
    let mut all = Vec::new();
    for (round, component) in [Component::ApiServer, Component::Etcd].into_iter().enumerate() {
        let names: Vec<String> = (0..20).map(|i| format!("r{round}-n{i:02}")).collect();
        for name in &names {
            nodes.create(&PostParams::default(), &full_node(NS, name, "sei:v1")).await.unwrap();
        }
        // Some are initialising when the outage starts.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let running = nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|n| phase(n) == Some("Running"))
            .count();
        eprintln!("{} stopped for 20 s with {running} of {} nodes Running", component.name(), all.len() + names.len());
        f.cp.pause_for(component, Duration::from_secs(20)).await.unwrap();
        assert!(
            operator.exited().is_none(),
            "the operator exited during the {} outage:\n{}",
            component.name(),
            operator.log_tail(30)
        );
        all.extend(names);
        // Generous: the simulated cluster's own controllers take a while to recover too.
        f.all_running_or_explain(&all, 420, Some(&operator)).await;
        assert!(
            operator.exited().is_none(),
            "the operator exited after the {} outage:\n{}",
            component.name(),
            operator.log_tail(30)
        );
    }
    for name in &all {
        each_task_ran_once(&f, name).await;
    }
    // The log says what the operator waited for, once per change rather than per attempt.
    let log = std::fs::read_to_string(operator.log_path()).unwrap();
    assert!(log.contains("cannot read or renew the leader Lease"), "{}", operator.log_tail(40));
    assert!(log.contains("the leader Lease can be renewed again"), "{}", operator.log_tail(40));
    let failures = log.lines().filter(|l| l.contains("reconcile failed")).count();
    assert!(failures <= 4 * all.len(), "{failures} 'reconcile failed' lines for {} nodes", all.len());
}

/// Kills `operator` `kills` times at random moments 0.5–4 s apart, starting a new one
/// each time; returns the last.
async fn kill_repeatedly(f: &Fleet, mut operator: Process, rng: &mut Rng, kills: usize, what: &str) -> Process {
    for kill in 1..=kills {
        tokio::time::sleep(Duration::from_millis(500 + rng.next() % 3500)).await;
        operator.kill();
        eprintln!("{what}: kill {kill:>2}");
        operator = f.operator(&format!("op-{what}-{kill}"), false);
    }
    operator
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_genesis_ceremony_and_a_blue_green_roll_out_the_fleets_still_form() {
    const NS: &str = "chaos-fleet";
    const CHAIN: &str = "chaos-chain-1";
    let s3 = sei_testenv::S3Server::start(&["genesis", "snapshots", "results"]).unwrap();
    let f = fleet_with(NS, s3.env()).await;
    let mut rng = Rng::seeded();
    let api: Api<sei_api::SeiNodeDeployment> = Api::namespaced(f.client.clone(), NS);
    let fleet = |name: &str, replicas: i32, strategy: &str, spec: Value| -> sei_api::SeiNodeDeployment {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "updateStrategy": {"type": strategy}, "template": {"spec": spec}}
        }))
        .unwrap()
    };
    let mut validators =
        fleet("val", 4, "InPlace", serde_json::json!({"chainId": CHAIN, "image": "sei:v1", "validator": {}}));
    validators.spec.genesis = Some(serde_json::from_value(serde_json::json!({"chainId": CHAIN})).unwrap());
    let rpc =
        fleet("rpc", 3, "BlueGreen", serde_json::json!({"chainId": "pacific-1", "image": "sei:v1", "fullNode": {}}));
    let operator = f.operator("op-0", false);
    api.create(&PostParams::default(), &validators).await.unwrap();
    api.create(&PostParams::default(), &rpc).await.unwrap();
    let operator = kill_repeatedly(&f, operator, &mut rng, 10, "ceremony").await;

    let ready = |name: &'static str, replicas: i32| {
        let api = api.clone();
        async move {
            eventually(&format!("{name} Ready"), 300, || async {
                let s = api.get(name).await.ok()?.status?;
                let phase = s.phase.map(|p| format!("{p:?}"));
                (phase.as_deref() == Some("Ready") && s.ready_replicas == Some(replicas) && s.rollout.is_none())
                    .then_some(s)
            })
            .await
        }
    };
    let status = ready("val", 4).await;
    let complete = status.conditions.unwrap().into_iter().find(|c| c.type_ == "GenesisCeremonyComplete").unwrap();
    assert_eq!(complete.status, "True");
    // One genesis, with every validator's gentx, on every validator; assembled once.
    let home = |n: &str| f.dir.path().join(NS).join(format!("pvc-data-{n}"));
    let genesis = std::fs::read(home("val-0").join("config/genesis.json")).unwrap();
    for n in ["val-1", "val-2", "val-3"] {
        assert!(std::fs::read(home(n).join("config/genesis.json")).unwrap() == genesis, "{n} has another genesis");
    }
    let doc: Value = serde_json::from_slice(&genesis).unwrap();
    assert_eq!(doc["app_state"]["genutil"]["gen_txs"].as_array().unwrap().len(), 4);
    let assembled: Vec<Value> =
        f.sidecar_tasks("val-0").await.into_iter().filter(|t| t["type"] == "assemble-and-upload-genesis").collect();
    assert_eq!(assembled.len(), 1, "{assembled:?}");
    assert_eq!(assembled[0]["run"], 1, "{assembled:?}");
    ready("rpc", 3).await;

    // A blue-green roll-out of the RPC fleet, with 10 more kills.
    let image = serde_json::json!({"spec": {"template": {"spec": {"image": "sei:v2"}}}});
    let patched = api.patch("rpc", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&image)).await.unwrap();
    let generation = patched.metadata.generation.unwrap();
    let mut operator = kill_repeatedly(&f, operator, &mut rng, 10, "blue-green").await;
    let entrants: BTreeSet<String> = (0..3).map(|i| format!("rpc-g{generation}-{i}")).collect();
    let nodes: Api<SeiNode> = Api::namespaced(f.client.clone(), NS);
    eventually("the roll-out done, the incumbents gone", 300, || async {
        let s = api.get("rpc").await.ok()?.status?;
        let lp = ListParams::default().labels("sei.io/nodedeployment=rpc");
        let members = names_of(&nodes.list(&lp).await.ok()?.items);
        (s.rollout.is_none() && s.plan.is_none() && s.ready_replicas == Some(3) && members == entrants).then_some(())
    })
    .await;
    // No duplicate entrant and no orphan: every SeiNode is a validator or an entrant, and
    // every StatefulSet belongs to one of them.
    let all = names_of(&nodes.list(&ListParams::default()).await.unwrap().items);
    let expected: BTreeSet<String> =
        ["val-0", "val-1", "val-2", "val-3"].iter().map(|s| s.to_string()).chain(entrants.iter().cloned()).collect();
    assert_eq!(all, expected);
    eventually("only the live nodes' StatefulSets left", 120, || async {
        let sts = Api::<StatefulSet>::namespaced(f.client.clone(), NS).list(&ListParams::default()).await.ok()?;
        (names_of(&sts.items) == expected).then_some(())
    })
    .await;
    let svc = Api::<Service>::namespaced(f.client.clone(), NS).get("rpc-internal").await.unwrap();
    assert_eq!(svc.spec.unwrap().selector.unwrap()["sei.io/revision"], generation.to_string());
    assert!(operator.exited().is_none(), "{}", operator.log_tail(30));
}
