//! `seictl nd` against a real API server with our CRDs (one control plane for the file):
//! apply from presets (and a dry run that saves nothing), reads in every format, watch
//! until a phase, a failure or a timeout, delete; bad input gives one line naming what to
//! fix, exit 1, and creates nothing; usage errors exit 2; and the same binary answers as
//! `kubectl sei` through the built kubectl.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams, PostParams};
use sei_api::SeiNodeDeployment;
use sei_testenv::{ControlPlane, Options, apply_manifests};
use serde_json::{Value, json};

async fn cluster(ns: &str) -> &'static ControlPlane {
    let cp = sei_testenv::shared(Options::api_only()).await.expect("control plane starts");
    let client = cp.client().await.unwrap();
    let crds: String = sei_api::crd::all().iter().map(|(_, c)| sei_api::crd::to_yaml(c)).collect::<Vec<_>>().join("\n");
    apply_manifests(&client, &crds).await.unwrap();
    let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    let _ = Api::<k8s_openapi::api::core::v1::Namespace>::all(client).create(&PostParams::default(), &namespace).await;
    cp
}

fn seictl(cp: &ControlPlane, ns: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
    cmd.args(args).arg("--kubeconfig").arg(cp.kubeconfig_path()).args(["-n", ns]).env_remove("KUBECONFIG");
    cmd
}

fn out(cmd: &mut Command) -> (i32, String, String) {
    let o: Output = cmd.output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
}

async fn exists(cp: &ControlPlane, ns: &str, name: &str) -> bool {
    let api: Api<SeiNodeDeployment> = Api::namespaced(cp.client().await.unwrap(), ns);
    api.get_opt(name).await.unwrap().is_some()
}

async fn set_status(cp: &ControlPlane, ns: &str, name: &str, status: Value) {
    let api: Api<SeiNodeDeployment> = Api::namespaced(cp.client().await.unwrap(), ns);
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await.unwrap();
}

#[tokio::test]
async fn apply_from_a_preset_then_read_watch_and_delete() {
    const NS: &str = "nd-flow";
    let cp = cluster(NS).await;
    let apply = ["nd", "apply", "chain", "--preset", "genesis-chain", "--chain-id", "bench-1", "--image", "sei:v1"];

    // A dry run is validated by the API server and saves nothing.
    let (code, stdout, stderr) = out(seictl(cp, NS, &apply).arg("--dry-run"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("applying (dry run) SeiNodeDeployment {NS}/chain to 127.0.0.1")), "{stderr}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["spec"]["genesis"]["chainId"], "bench-1");
    assert!(!exists(cp, NS, "chain").await, "a dry run saved the object");

    let (code, stdout, stderr) =
        out(seictl(cp, NS, &apply).args(["--replicas", "2", "--set", "spec.genesis.accountBalance=5usei"]));
    assert_eq!(code, 0, "{stderr}");
    let applied: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(applied["spec"]["replicas"], 2);
    assert_eq!(applied["metadata"]["annotations"]["seictl.sei.io/preset"], "genesis-chain");
    assert!(applied["metadata"].get("managedFields").is_none());
    // Applying again is a no-op, and an rpc fleet of the chain peers with its validators.
    assert_eq!(
        out(seictl(cp, NS, &apply).args(["--replicas", "2", "--set", "spec.genesis.accountBalance=5usei"])).0,
        0
    );
    let rpc = ["nd", "apply", "rpc", "--preset", "rpc", "--chain-id", "bench-1", "--image", "sei:v1", "-o", "yaml"];
    let (code, stdout, stderr) = out(&mut seictl(cp, NS, &rpc));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("sei.io/role: validator"), "{stdout}");

    // Reads.
    let (code, stdout, _) = out(&mut seictl(cp, NS, &["nd", "get", "chain", "-o", "name"]));
    assert_eq!((code, stdout.as_str()), (0, "seinodedeployment.sei.io/chain\n"));
    let (_, stdout, _) = out(&mut seictl(cp, NS, &["nd", "get", "chain", "-o", "json"]));
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["spec"]["template"]["spec"]["chainId"], "bench-1");
    let (_, stdout, _) = out(&mut seictl(cp, NS, &["nd", "get", "chain"]));
    assert!(stdout.contains("kind: SeiNodeDeployment"), "{stdout}");
    let (_, stdout, _) = out(&mut seictl(cp, NS, &["nd", "get", "chain", "-o", "jsonpath={.spec.genesis.chainId}"]));
    assert_eq!(stdout, "bench-1");
    let each = "jsonpath={range .items[*]}{.metadata.name}:{.metadata.labels.sei\\.io/role}{\"\\n\"}{end}";
    let (_, stdout, _) = out(&mut seictl(cp, NS, &["nd", "list", "-o", each]));
    assert_eq!(stdout, "chain:validator\nrpc:fullNode\n");
    let (_, stdout, _) = out(&mut seictl(cp, NS, &["nd", "list", "-l", "sei.io/role=fullNode", "-o", "name"]));
    assert_eq!(stdout, "seinodedeployment.sei.io/rpc\n");
    let (_, stdout, _) = out(&mut seictl(cp, NS, &["nd", "list", "-A"]));
    let header = stdout.lines().next().unwrap();
    assert!(header.starts_with("NAMESPACE") && header.contains("PHASE") && header.contains("READY"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with(NS)).count(), 2, "{stdout}");

    // watch: one JSON line per change, exit 0 at the phase.
    set_status(cp, NS, "chain", json!({"phase": "Initializing"})).await;
    let watch = seictl(cp, NS, &["nd", "watch", "chain", "--until", "ready", "--timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    set_status(cp, NS, "chain", json!({"phase": "Ready", "readyReplicas": 2})).await;
    let done = watch.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    let lines: Vec<Value> =
        String::from_utf8(done.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "{lines:?}");
    assert_eq!(lines[0]["status"]["phase"], "Initializing");
    assert_eq!(lines.last().unwrap()["status"]["phase"], "Ready");

    // caught-up: Ready is not enough; every node's seid must have caught up.
    let replicas =
        Api::<SeiNodeDeployment>::namespaced(cp.client().await.unwrap(), NS).get("chain").await.unwrap().spec.replicas;
    set_status(cp, NS, "chain", json!({"phase": "Ready", "readyReplicas": replicas, "caughtUpReplicas": replicas - 1}))
        .await;
    let watch = seictl(cp, NS, &["nd", "watch", "chain", "--until", "caught-up", "--timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    set_status(cp, NS, "chain", json!({"phase": "Ready", "readyReplicas": replicas, "caughtUpReplicas": replicas}))
        .await;
    let done = watch.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    let stdout = String::from_utf8(done.stdout).unwrap();
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"]["caughtUpReplicas"], replicas - 1, "it went on past a Ready fleet not caught up");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"]["caughtUpReplicas"], replicas);

    // A timeout and a failure end the watch with exit 1 and say why.
    let (code, _, stderr) =
        out(&mut seictl(cp, NS, &["nd", "watch", "chain", "--until", "upgrading", "--timeout", "2s"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("timed out after 2s") && stderr.contains("phase: Ready"), "{stderr}");
    set_status(cp, NS, "rpc", json!({"phase": "Failed", "plan": {"phase": "Failed", "tasks": [],
        "failedTaskDetail": {"type": "await-nodes-running", "id": "x", "error": "rpc-1 never ran", "retryCount": 0, "maxRetries": 0}}}))
    .await;
    let (code, _, stderr) = out(&mut seictl(cp, NS, &["nd", "watch", "rpc", "--timeout", "30s"]));
    assert_eq!(code, 1);
    assert_eq!(stderr.trim(), format!("seictl: {NS}/rpc is Failed: rpc-1 never ran"));

    // delete.
    let (code, stdout, _) = out(&mut seictl(cp, NS, &["nd", "delete", "rpc", "--cascade", "background"]));
    assert_eq!((code, stdout.as_str()), (0, "seinodedeployment.sei.io/rpc deleted\n"));
    let (code, _, stderr) = out(&mut seictl(cp, NS, &["nd", "get", "rpc"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("not found") && stderr.lines().count() == 1, "{stderr}");
}

#[tokio::test]
async fn bad_input_names_what_to_fix_and_creates_nothing() {
    const NS: &str = "nd-bad";
    let cp = cluster(NS).await;
    let base = ["nd", "apply", "x", "--preset", "rpc", "--chain-id", "bench-1"];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // Caught before the cluster is asked.
        (base.to_vec(), 1, "spec.template.spec.image is required: pass --image"),
        ([&base[..], &["--image", "i", "--set", "spec.peers[0]=x"]].concat(), 1, "--set \"spec.peers[0]=x\""),
        ([&base[..], &["--image", "i", "--set", "spec.replicas.n=1"]].concat(), 1, "spec.replicas is not an object"),
        // Refused by the API server, which names the field.
        ([&base[..], &["--image", "i", "--set", "spec.replicas=many"]].concat(), 1, "spec.replicas"),
        // Usage errors (clap): exit 2.
        (vec!["nd", "apply", "x", "--preset", "archive"], 2, "invalid value 'archive' for '--preset"),
        (vec!["nd", "apply", "x", "--preset", "rpc", "--replicas=-1"], 2, "--replicas"),
        (vec!["nd", "delete", "x", "--cascade", "later"], 2, "--cascade"),
        (vec!["nd", "watch", "x", "--timeout", "soon"], 2, "--timeout"),
        (vec!["nd", "frobnicate"], 2, "unrecognized subcommand"),
        (vec!["nd", "get", "x", "-o", "jsonpath={.a"], 2, "-o jsonpath=\"{.a\": an unclosed {"),
        (vec!["nd", "get", "x", "-o", "wide"], 2, "jsonpath=TEMPLATE"),
    ];
    for (args, code, says) in cases {
        let (got, _, stderr) = out(&mut seictl(cp, NS, &args));
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        if code == 1 {
            // One line of error (after the "applying ... to <server>" notice, if it got that far).
            let error: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("seictl: applying")).collect();
            assert_eq!(error.len(), 1, "{args:?}: one line, got {stderr}");
        }
        assert!(!exists(cp, NS, "x").await, "{args:?} created the object");
    }
    // No cluster: says how to name one.
    let (code, _, stderr) =
        out(Command::new(env!("CARGO_BIN_EXE_seictl")).args(["nd", "list", "--kubeconfig", "/nonexistent/kubeconfig"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("--kubeconfig /nonexistent/kubeconfig"), "{stderr}");
}

#[tokio::test]
async fn kubectl_sei_is_the_same_binary_under_the_plugin_name() {
    const NS: &str = "nd-plugin";
    let cp = cluster(NS).await;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A copy, as a release install would place it; install-plugin links kubectl-sei to it.
    let copy = bin.join("seictl");
    std::fs::copy(env!("CARGO_BIN_EXE_seictl"), &copy).unwrap();
    let (code, stdout, stderr) = out(Command::new(&copy).args(["install-plugin", "--dir"]).arg(&bin));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("kubectl-sei"), "{stdout}");
    assert_eq!(std::fs::read_link(bin.join("kubectl-sei")).unwrap(), copy);
    // Twice is fine; over another file it refuses.
    assert_eq!(out(Command::new(&copy).args(["install-plugin", "--dir"]).arg(&bin)).0, 0);
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("kubectl-sei"), "#!/bin/sh\n").unwrap();
    let (code, _, stderr) = out(Command::new(&copy).args(["install-plugin", "--dir"]).arg(&other));
    assert_eq!(code, 1);
    assert!(stderr.contains("is not a link"), "{stderr}");

    let (code, _, stderr) =
        out(&mut seictl(cp, NS, &["nd", "apply", "p", "--preset", "rpc", "--chain-id", "c-1", "--image", "i"]));
    assert_eq!(code, 0, "{stderr}");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let kubectl = |args: &[&str]| {
        let mut cmd = Command::new(&sei_testenv::Binaries::get().unwrap().kubectl);
        cmd.args(args).env("PATH", &path).env_remove("KUBECONFIG");
        cmd
    };
    let (code, stdout, stderr) =
        out(kubectl(&["sei", "nd", "list", "-o", "name", "-n", NS, "--kubeconfig"]).arg(cp.kubeconfig_path()));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "seinodedeployment.sei.io/p\n");
    // bench too: a run applied without waiting (nothing runs it here) is listed by labels.
    let (code, stdout, stderr) =
        out(&mut seictl(cp, NS, &["bench", "up", "--name", "p", "--owner", "bob", "--image", "sei:v1", "--no-wait"]));
    assert_eq!(code, 0, "{stderr}");
    let applied: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(applied["data"]["manifests"].as_array().unwrap().len(), 3, "{applied}");
    let (code, stdout, stderr) =
        out(kubectl(&["sei", "bench", "list", "-o", "json", "-n", NS, "--kubeconfig"]).arg(cp.kubeconfig_path()));
    assert_eq!(code, 0, "{stderr}");
    let items = &serde_json::from_str::<Value>(&stdout).unwrap()["data"]["items"];
    assert_eq!(
        (items[0]["chainId"].as_str(), items[0]["owner"].as_str()),
        (Some("bench-bob-p"), Some("bob")),
        "{items}"
    );
    let (code, stdout, _) = out(&mut kubectl(&["sei", "--help"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage: kubectl sei"), "{stdout}");
    let (_, stdout, _) = out(&mut kubectl(&["plugin", "list"]));
    assert!(stdout.contains(&bin.join("kubectl-sei").display().to_string()), "{stdout}");
}

/// Every bench object in `ns`: SeiNodeDeployments and Jobs.
async fn bench_objects(cp: &ControlPlane, ns: &str) -> usize {
    let client = cp.client().await.unwrap();
    let snds: Api<SeiNodeDeployment> = Api::namespaced(client.clone(), ns);
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client, ns);
    let params = kube::api::ListParams::default();
    snds.list(&params).await.unwrap().items.len() + jobs.list(&params).await.unwrap().items.len()
}

#[tokio::test]
async fn bench_refuses_bad_input_with_the_flag_to_fix_and_creates_nothing() {
    const NS: &str = "bench-bad";
    let cp = cluster(NS).await;
    let base = ["bench", "up", "--owner", "alice", "--image", "sei:v1"];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        ([&base[..], &["--name", "Demo"]].concat(), 1, "--name \"Demo\""),
        ([&base[..], &["--name", "d", "--env", "RESULT_DIR=/tmp"]].concat(), 1, "--env RESULT_DIR: reserved"),
        ([&base[..], &["--name", "d", "--env", "NOVALUE"]].concat(), 1, "--env \"NOVALUE\": expected NAME=VALUE"),
        ([&base[..], &["--name", "d", "--duration", "5s"]].concat(), 1, "--duration 5s"),
        ([&base[..], &["--name", "d", "--rpc-nodes", "0"]].concat(), 1, "--rpc-nodes 0"),
        (vec!["bench", "up", "--owner", "alice", "--image", "sei", "--name", "d"], 1, "--image \"sei\""),
        (vec!["bench", "up", "--owner", "9lives", "--image", "sei:v1", "--name", "d"], 1, "--owner \"9lives\""),
        // Usage errors (clap): exit 2.
        (vec!["bench", "up", "--owner", "alice", "--name", "d"], 2, "--image"),
        ([&base[..], &["--name", "d", "--size", "xl"]].concat(), 2, "--size"),
        ([&base[..], &["--name", "d", "--duration", "soon"]].concat(), 2, "--duration"),
        (vec!["bench", "down", "--owner", "alice"], 2, "--name"),
        ([&base[..], &["--name", "d", "--rules", "r.yaml", "--no-wait"]].concat(), 2, "--no-wait"),
        (
            [&base[..], &["--name", "d", "--rules", "/nonexistent/rules.yaml"]].concat(),
            1,
            "--rules /nonexistent/rules.yaml",
        ),
        (vec!["bench", "list", "-o", "wide"], 2, "--output"),
    ];
    for (args, code, says) in cases {
        let (got, stdout, stderr) = out(&mut seictl(cp, NS, &args));
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        if code == 1 {
            assert_eq!(stderr.lines().count(), 1, "{args:?}: one line, got {stderr}");
            // Automation gets the same as an error envelope on stdout.
            let envelope: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(
                (envelope["error"]["category"].as_str(), envelope["kind"].as_str()),
                (Some("validation"), Some("BenchUpResult"))
            );
        }
        assert_eq!(bench_objects(cp, NS).await, 0, "{args:?} created something");
    }
    // A namespace that does not exist: said, nothing created anywhere.
    let (code, stdout, stderr) = out(Command::new(env!("CARGO_BIN_EXE_seictl"))
        .args([
            "bench",
            "up",
            "--name",
            "d",
            "--owner",
            "alice",
            "--image",
            "sei:v1",
            "-n",
            "eng-nobody",
            "--kubeconfig",
        ])
        .arg(cp.kubeconfig_path())
        .env_remove("KUBECONFIG"));
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("namespace eng-nobody does not exist"), "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["error"]["category"], "namespace-missing");
    // A dry run shows the objects and touches nothing.
    let (code, stdout, stderr) =
        out(&mut seictl(cp, NS, &[&base[..], &["--name", "d", "--dry-run", "-o", "yaml"]].concat()));
    assert_eq!(code, 0, "{stderr}");
    let shown: Value = serde_norway::from_str(&stdout).unwrap();
    let kinds: Vec<&str> =
        shown["data"]["objects"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["SeiNodeDeployment", "SeiNodeDeployment", "Job"]);
    assert_eq!(bench_objects(cp, NS).await, 0, "a dry run created something");
    // bench down of nothing: fine, and says so.
    let (code, stdout, _) = out(&mut seictl(cp, NS, &["bench", "down", "--chain-id", "bench-none"]));
    assert_eq!(code, 0);
    assert!(
        serde_json::from_str::<Value>(&stdout).unwrap()["data"]["hint"].as_str().unwrap().contains("nothing carries")
    );
}

#[tokio::test]
async fn bench_on_aws_takes_the_owner_from_sts_and_pins_ecr_tags_to_their_digest() {
    let cp = cluster("eng-alice").await;
    let aws = sei_testenv::Ec2Server::start().expect("moto (hack/ec2-server.sh)");
    let (account, digest) = aws.push_ecr_image("us-east-2", "sei/seid", "v6.3.0").unwrap();
    let env = aws.assumed_role_env("engineer", "alice").unwrap();
    let registry = format!("{account}.dkr.ecr.us-east-2.amazonaws.com");
    let image = format!("{registry}/sei/seid:v6.3.0");
    let bench = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
        cmd.arg("bench").args(args).arg("--kubeconfig").arg(cp.kubeconfig_path());
        cmd.env_remove("KUBECONFIG").env("AWS_REGION", "us-east-2").envs(env.iter().cloned());
        cmd
    };
    // No -n and no --owner: both from the caller's role session.
    let (code, stdout, stderr) = out(&mut bench(&["up", "--aws", "--name", "demo", "--image", &image, "--no-wait"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let d = serde_json::from_str::<Value>(&stdout).unwrap()["data"].clone();
    assert_eq!(
        (d["owner"].as_str(), d["namespace"].as_str(), d["chainId"].as_str()),
        (Some("alice"), Some("eng-alice"), Some("bench-alice-demo"))
    );
    assert_eq!((d["imageRef"].as_str(), d["imageDigest"].as_str()), (Some(image.as_str()), Some(digest.as_str())));
    let snd: Api<SeiNodeDeployment> = Api::namespaced(cp.client().await.unwrap(), "eng-alice");
    let applied = snd.get("bench-alice-demo").await.unwrap();
    assert_eq!(applied.spec.template.spec.image, format!("{registry}/sei/seid@{digest}"), "pinned to the digest");
    let (code, stdout, _) = out(&mut bench(&["list", "--aws", "-o", "json"]));
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["data"]["items"][0]["chainId"], "bench-alice-demo");

    // A tag ECR does not have: refused before anything is applied, naming --image.
    let missing = format!("{registry}/sei/seid:v9");
    let (code, stdout, stderr) = out(&mut bench(&["up", "--aws", "--name", "other", "--image", &missing, "--dry-run"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains(&format!("--image {missing}")) && stderr.lines().count() == 1, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["error"]["category"], "image-resolution");
    // No AWS credentials at all: said, with what to do.
    let (code, stdout, stderr) = out(Command::new(env!("CARGO_BIN_EXE_seictl"))
        .args(["bench", "up", "--aws", "--name", "x", "--image", "sei:v1", "--dry-run"])
        .env_clear()
        .env("AWS_ENDPOINT_URL_STS", aws.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", "/nonexistent"));
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("drop --aws and pass --owner"), "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["error"]["category"], "aws-unavailable");
}
