//! `seictl bench` end to end on the simulated cluster, with the operator (both controllers,
//! in this process), real sidecars and seid simulators run by the pod runner, the S3 test
//! server, and the workload Job's pod really running `seictl workload probe`:
//! `bench up` brings up a 4-validator chain and a 2-node RPC fleet, runs the workload
//! against the fleet's endpoints and prints the envelope with the verdict; the report lands
//! in S3 under the contract's key; `bench list` shows the run; `bench down` refuses while
//! another object carries the chain ID and, with `--cascade`, leaves nothing behind.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, ApiResource, ListParams, PostParams};
use kube::core::DynamicObject;
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_operator::context::Context;
use sei_planner::Platform;
use sei_testenv::{ControlPlane, Options, PodRunner, S3Server, apply_manifests};
use serde_json::{Value, json};

const NS: &str = "eng-alice";
const CHAIN: &str = "bench-alice-demo";

fn platform() -> Platform {
    let env: std::collections::HashMap<_, _> = sei_testenv::SIMULATED_PLATFORM.iter().copied().collect();
    Platform::from_env(|k| env.get(k).map(|v| v.to_string())).unwrap()
}

/// `seictl` with `seid-sim` beside it (the pod runner's simulated seid).
fn seictl_path() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_seictl"));
    if !bin.with_file_name("seid-sim").exists() {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "sei-testenv", "--bin", "seid-sim"])
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success(), "building seid-sim");
    }
    bin
}

fn seictl(cp: &ControlPlane, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
    cmd.args(args).arg("--kubeconfig").arg(cp.kubeconfig_path()).args(["-n", NS]).env_remove("KUBECONFIG");
    cmd
}

/// Runs off the async threads: the operator and the pod runner work meanwhile.
async fn run(mut cmd: Command) -> (i32, String, String) {
    let o: Output = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
}

/// Everything in the namespace labelled with `chain`, as `Kind/name`.
async fn with_chain_id(client: &kube::Client, chain: &str) -> Vec<String> {
    let params = ListParams::default().labels(&format!("sei.io/chain-id={chain}"));
    let mut left = Vec::new();
    for r in [
        ApiResource::erase::<SeiNodeDeployment>(&()),
        ApiResource::erase::<SeiNode>(&()),
        ApiResource::erase::<Job>(&()),
        ApiResource::erase::<Pod>(&()),
        ApiResource::erase::<ConfigMap>(&()),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &r);
        left.extend(
            api.list(&params)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|o| format!("{}/{}", r.kind, o.metadata.name.unwrap())),
        );
    }
    left
}

/// Whether the Job goes within a minute.
async fn eventually_gone(jobs: &Api<Job>, name: &str) -> bool {
    for _ in 0..120 {
        if jobs.get_opt(name).await.unwrap().is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_up_runs_a_workload_against_a_new_chain_and_bench_down_leaves_nothing() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(900));
        eprintln!("still running after 900 s; exiting as failed");
        std::process::exit(101);
    });
    let mut options = Options::full();
    options.node_labels = vec![("karpenter.sh/nodepool".into(), sei_testenv::FAKE_NODE_TAINT_VALUE.into())];
    let cp = ControlPlane::start(options).await.expect("control plane");
    let client = cp.client().await.unwrap();
    let crds: String = sei_api::crd::all().iter().map(|(_, c)| sei_api::crd::to_yaml(c)).collect::<Vec<_>>().join("\n");
    apply_manifests(&client, &crds).await.unwrap();
    let namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &namespace).await.unwrap();
    // The workload tolerates nothing, as on a real cluster's general pool.
    sei_testenv::create_untainted_node(&client, "general-0").await.unwrap();
    let s3 = S3Server::start(&["genesis", "snapshots", "results", "bench-results"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runner = PodRunner::start(client.clone(), NS, seictl_path(), dir.path(), s3.env()).await.unwrap();
    let operator_client = sei_operator::context::client(cp.config().await.unwrap(), None).unwrap();
    let ctx = Arc::new(Context::new(operator_client, platform(), Some(runner.address_file.clone())).unwrap());
    let controller = tokio::spawn(sei_operator::run_controllers(ctx.clone()));
    // The operator's /metrics, as its binary serves them, for Prometheus to scrape.
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_port = metrics.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = metrics.accept().await {
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf).await;
            let body = ctx.metrics.encode();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all((head + &body).as_bytes()).await;
        }
    });

    // A real Prometheus scraping the operator, for the runs' rules.
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let config = json!({"global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "sei-operator", "static_configs": [{"targets": [format!("127.0.0.1:{metrics_port}")]}]}]});
    let (mut prom, prom_url) =
        sei_testenv::start_prometheus(&prom_dir, &config).expect("prometheus (hack/tools.sh prometheus)");
    let rule = |name: &str, promql: &str, stop: bool| {
        let path = dir.path().join(format!("{name}.yaml"));
        let text = format!(
            "rules:\n- {{name: {name}, type: query, query: {{promql: '{promql}', op: '==', threshold: '1'}}, \
             runProperties: {{interval: 5s, stopOnFailure: {stop}}}}}\n"
        );
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    // The operator is scraped and counts the run's validator among its Running nodes.
    let operator_sees = rule(
        "operator-sees-validators",
        "clamp_max(sum(sei_controller_seinode_phase{namespace=\"eng-alice\",phase=\"Running\"}), 1) * max(up{job=\"sei-operator\"})",
        false,
    );
    let never = rule("never", "vector(0)", true);

    let up = |extra: &[&str]| {
        let mut cmd = seictl(&cp, &["bench", "up", "--owner", "alice", "--image", "sei:v1"]);
        cmd.args(["--results-bucket", "bench-results", "--duration", "20s"]).args(extra);
        cmd
    };
    // Two runs at once: `demo` with our probe (exit 0), `lost` with a workload that cannot
    // reach the chain (exit 2: could not test).
    let demo = tokio::spawn(run(up(&[
        "--name",
        "demo",
        "--validators",
        "4",
        "--rpc-nodes",
        "2",
        "--rules",
        &operator_sees,
        "--prometheus",
        &prom_url,
    ])));
    // And `halt`, whose stop-on-failure rule fails at its first evaluation: the workload
    // (a minute long) is ended, the verdict is the rule's.
    let halt = tokio::spawn(run(up(&[
        "--name",
        "halt",
        "--validators",
        "1",
        "--rpc-nodes",
        "1",
        "--rules",
        &never,
        "--prometheus",
        &prom_url,
        "--workload-command",
        "seictl workload probe --duration 120",
    ])));
    let lost = tokio::spawn(run(up(&[
        "--name",
        "lost",
        "--validators",
        "1",
        "--rpc-nodes",
        "1",
        "--workload-command",
        "seictl workload probe --interval 1 --rpc http://127.0.0.1:9",
    ])));
    let snds: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let (code, stdout, stderr) = demo.await.unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let envelope: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}"));
    assert_eq!(
        (envelope["apiVersion"].as_str(), envelope["kind"].as_str()),
        (Some("seictl.sei.io/v1"), Some("BenchUpResult"))
    );
    let d = &envelope["data"];
    assert_eq!(
        (d["chainId"].as_str(), d["validators"].as_i64(), d["rpcNodes"].as_i64()),
        (Some(CHAIN), Some(4), Some(2))
    );
    // §2.6: per-pod URLs split by type, gRPC without a scheme.
    let host = |i: usize| format!("{CHAIN}-rpc-{i}-0.{CHAIN}-rpc-{i}.{NS}.svc.cluster.local");
    assert_eq!(
        d["endpoints"]["tendermintRpc"],
        json!([format!("http://{}:26657", host(0)), format!("http://{}:26657", host(1))])
    );
    assert_eq!(d["endpoints"]["evmJsonRpc"][1], format!("http://{}:8545", host(1)));
    assert_eq!(d["endpoints"]["cosmosGrpc"][0], format!("{}:9090", host(0)));
    assert_eq!((d["load"]["exitCode"].as_i64(), d["load"]["phase"].as_str()), (Some(0), Some("Succeeded")), "{d}");
    assert_eq!(d["verdict"], json!({"phase": "Succeeded", "reason": "RunSucceeded"}));
    assert_eq!(
        (d["rules"][0]["name"].as_str(), d["rules"][0]["verdict"].as_str()),
        (Some("operator-sees-validators"), Some("Passed")),
        "{d}"
    );
    let actions: Vec<&str> = d["manifests"].as_array().unwrap().iter().map(|m| m["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "create", "create"]);
    // Progress: one JSON line per phase change on stderr, ending with each part done.
    let events: Vec<Value> = stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for (primitive, phase) in [("chain", "Ready"), ("rpc", "Ready"), ("load", "Succeeded")] {
        assert!(events.iter().any(|e| e["primitive"] == primitive && e["phase"] == phase), "{stderr}");
    }
    assert!(
        events.iter().any(|e| e["primitive"] == "chain" && e["phase"] != "Ready"),
        "no progress before Ready: {stderr}"
    );

    // Every node's seid caught up (the CaughtUp condition, counted by the fleet): watched
    // to the end with nd.
    let (code, _, stderr) =
        run(seictl(&cp, &["nd", "watch", &format!("{CHAIN}-rpc"), "--until", "caught-up", "--timeout", "60s"])).await;
    assert_eq!(code, 0, "{stderr}");
    let caught_up = snds.get(&format!("{CHAIN}-rpc")).await.unwrap().status.unwrap().caught_up_replicas;
    assert_eq!(caught_up, Some(2));

    // The workload really ran against the RPC fleet and uploaded its report (§4.3 key).
    let key = format!("{NS}/probe/demo/report.log");
    let report = std::fs::read_to_string(s3.object_path("bench-results", &key)).expect("report uploaded");
    assert!(report.contains("verdict: exit 0") && report.contains(" height "), "{report}");
    assert_eq!(d["reportS3Uri"], format!("s3://bench-results/{key}"));
    let message =
        std::fs::read_to_string(s3.object_path("bench-results", &format!("{NS}/probe/demo/termination-message.json")))
            .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&message).unwrap()["exitCode"], 0);

    // Every object carries the label contract and is owned by seictl-bench.
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let job = jobs.get(&format!("{CHAIN}-load")).await.unwrap();
    for meta in [
        snds.get(CHAIN).await.unwrap().metadata,
        snds.get(&format!("{CHAIN}-rpc")).await.unwrap().metadata,
        job.metadata,
    ] {
        let labels = meta.labels.unwrap();
        assert_eq!(labels["sei.io/chain-id"], CHAIN);
        assert_eq!(labels["sei.io/engineer"], "alice");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "seictl");
        assert!(meta.managed_fields.unwrap().iter().any(|f| f.manager.as_deref() == Some("seictl-bench")));
    }

    // The run that could not reach its chain: exit 2, verdict Error, the reason kept.
    let (code, stdout, stderr) = lost.await.unwrap();
    let lost: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert_eq!(lost["data"]["verdict"], json!({"phase": "Error", "reason": "WorkloadInfraFailure"}));
    assert_eq!(lost["data"]["load"]["exitCode"], 2);
    assert!(lost["data"]["load"]["message"].as_str().unwrap().contains("never answered"), "{lost}");

    // The stopped run: the rule's verdict, the workload ended long before its two minutes.
    let (code, stdout, stderr) = halt.await.unwrap();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let halt: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(halt["data"]["verdict"], json!({"phase": "Failed", "reason": "RuleStopOnFailure:never"}));
    assert_eq!(halt["data"]["load"]["phase"], "Stopped");
    assert_eq!(halt["data"]["rules"][0]["reason"], "ThresholdViolated");
    assert!(stderr.contains("\"phase\":\"Stopping\""), "{stderr}");
    let stopped = eventually_gone(&jobs, "bench-alice-halt-load").await;
    assert!(stopped, "the stopped workload's Job is still there");

    // Again with the same inputs: nothing changes; with another workload: refused, as the
    // Job cannot change, before anything is applied.
    let (code, stdout, _) = run(up(&["--name", "demo", "--validators", "4", "--rpc-nodes", "2", "--no-wait"])).await;
    assert_eq!(code, 0, "{stdout}");
    let again: Value = serde_json::from_str(&stdout).unwrap();
    let actions: Vec<&str> =
        again["data"]["manifests"].as_array().unwrap().iter().map(|m| m["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["unchanged", "unchanged", "unchanged"]);
    let (code, stdout, stderr) =
        run(up(&["--name", "demo", "--validators", "5", "--workload-command", "seictl workload probe --interval 3"]))
            .await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("bench down --name demo"), "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["error"]["category"], "job-immutable");
    assert_eq!(snds.get(CHAIN).await.unwrap().spec.replicas, 4, "applied despite the refusal");

    // bench list: both runs, sorted by chain ID, from labels alone.
    let (code, stdout, stderr) = run(seictl(&cp, &["bench", "list", "-o", "json"])).await;
    assert_eq!(code, 0, "{stderr}");
    let items = serde_json::from_str::<Value>(&stdout).unwrap()["data"]["items"].as_array().unwrap().clone();
    let chains: Vec<&str> = items.iter().map(|i| i["chainId"].as_str().unwrap()).collect();
    assert_eq!(chains, ["bench-alice-demo", "bench-alice-halt", "bench-alice-lost"]);
    assert_eq!(
        (items[0]["validatorsReady"].as_i64(), items[0]["rpcReady"].as_i64(), items[0]["loadJobPhase"].as_str()),
        (Some(4), Some(2), Some("Succeeded"))
    );
    assert_eq!(items[2]["loadJobPhase"], "Failed");
    assert!(items[1]["loadJobPhase"].is_null(), "the stopped run's Job is gone: {}", items[1]);
    let (_, table, _) = run(seictl(&cp, &["bench", "list"])).await;
    assert!(table.starts_with("CHAIN") && table.contains("bench-alice-demo") && table.contains("4/4"), "{table}");

    // Another fleet on the chain (made with nd, not by this run): down refuses and names it.
    let (code, _, stderr) = run(seictl(
        &cp,
        &["nd", "apply", "extra-rpc", "--preset", "rpc", "--chain-id", CHAIN, "--image", "sei:v1", "--replicas", "1"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(seictl(&cp, &["bench", "down", "--name", "demo", "--owner", "alice"])).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("SeiNodeDeployment/extra-rpc") && stderr.contains("--cascade"), "{stderr}");
    assert!(snds.get_opt(CHAIN).await.unwrap().is_some(), "deleted despite the refusal");
    let (code, stdout, stderr) =
        run(seictl(&cp, &["bench", "down", "--name", "demo", "--owner", "alice", "--cascade"])).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let down: Value = serde_json::from_str(&stdout).unwrap();
    assert!(down["data"]["deletedAt"].is_string(), "{down}");
    let left = with_chain_id(&client, CHAIN).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    // The other run is untouched; down by chain ID removes it too.
    assert!(!with_chain_id(&client, "bench-alice-lost").await.is_empty());
    let (code, _, stderr) = run(seictl(&cp, &["bench", "down", "--chain-id", "bench-alice-lost"])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(with_chain_id(&client, "bench-alice-lost").await.is_empty());
    let (code, _, stderr) = run(seictl(&cp, &["bench", "down", "--name", "halt", "--owner", "alice"])).await;
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = run(seictl(&cp, &["bench", "list", "-o", "json"])).await;
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["data"]["items"], json!([]));
    controller.abort();
    drop(runner);
    prom.stop(Duration::from_secs(5));
}
