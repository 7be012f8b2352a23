//! `seictl bench up`: apply the chain and the RPC fleet, wait for each, then run the
//! workload Job and report its verdict.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ApiResource, ListParams, Patch, PatchParams};
use kube::core::DynamicObject;
use serde_json::{Value, json};

use super::envelope::{self, Output, fail};
use super::plan::{self, BenchSpec, Endpoints};
use super::wait::{self, Step};
use super::{FIELD_MANAGER, Who, identity, parse_duration, show_duration};
use crate::cluster::api_error;
use crate::rules;

fn progress_stop(spec: &BenchSpec, rule: &str) {
    wait::progress(&json!({"primitive": "load", "name": spec.job_name(), "phase": "Stopping", "rule": rule}));
}

const KIND: &str = "BenchUpResult";

#[derive(Args, Debug)]
pub struct UpArgs {
    /// The run's name (1-40 lowercase letters, digits, '-'); also the workload's RUN_ID.
    #[arg(long)]
    pub name: String,
    /// The seid image of every node (a tag or a digest).
    #[arg(long)]
    pub image: String,
    /// The chain ID (default bench-<owner>-<name>).
    #[arg(long)]
    pub chain_id: Option<String>,
    /// s (4 validators, 1 RPC node), m (10, 2) or l (21, 4).
    #[arg(long, default_value = "s", value_parser = ["s", "m", "l"])]
    pub size: String,
    /// Validators, instead of the size's.
    #[arg(long)]
    pub validators: Option<i32>,
    /// RPC nodes, instead of the size's.
    #[arg(long)]
    pub rpc_nodes: Option<i32>,
    /// The workload's window: minutes, or with a unit (90s, 45m, 2h); 10s to 240m.
    #[arg(long, default_value = "30", value_parser = parse_duration)]
    pub duration: Duration,
    /// The workload's image (default: this seictl's image, running `seictl workload probe`).
    #[arg(long, value_name = "IMAGE")]
    pub workload_image: Option<String>,
    /// The workload's command, split on spaces (default: seictl workload probe).
    #[arg(long, value_name = "COMMAND")]
    pub workload_command: Option<String>,
    /// The workload's name in the results layout <bucket>/<namespace>/<workload>/<run>/
    /// (default: probe, or the workload image's repository name).
    #[arg(long, value_name = "NAME")]
    pub workload_name: Option<String>,
    /// An extra variable for the workload, NAME=VALUE (not one the contract reserves). Repeatable.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// The bucket the workload uploads its results to.
    #[arg(long, env = "SEICTL_RESULTS_BUCKET", default_value = "harbor-validation-results")]
    pub results_bucket: String,
    /// The ServiceAccount the workload runs as (its cloud identity for the upload).
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// Apply everything at once and return (the workload may start before the chain is ready).
    #[arg(long)]
    pub no_wait: bool,
    /// How long the chain may take to be ready.
    #[arg(long, default_value = "20m", value_parser = parse_duration)]
    pub chain_timeout: Duration,
    /// How long the RPC fleet may take to be ready after the chain.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub rpc_timeout: Duration,
    /// A rules file (see `seictl rules run --help`) evaluated while the workload runs; the
    /// verdict is the workload's exit code AND every rule. A stop-on-failure rule that
    /// fails ends the workload (its Job is deleted).
    #[arg(long, value_name = "FILE", conflicts_with = "no_wait")]
    pub rules: Option<std::path::PathBuf>,
    /// The Prometheus HTTP API the rules ask.
    #[arg(long, env = crate::rules::PROMETHEUS_ENV, default_value = crate::rules::PROMETHEUS_DEFAULT, value_name = "URL")]
    pub prometheus: String,
    /// Print what would be applied; touch no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// json (default), yaml or table.
    #[arg(short = 'o', long, value_enum, default_value = "json")]
    pub output: Output,
    #[command(flatten)]
    pub who: Who,
}

fn spec(a: &UpArgs, owner: String, namespace: String) -> anyhow::Result<BenchSpec> {
    let (mut validators, mut rpc_nodes) = plan::size(&a.size).expect("clap checked the size");
    validators = a.validators.unwrap_or(validators);
    rpc_nodes = a.rpc_nodes.unwrap_or(rpc_nodes);
    let workload_image =
        a.workload_image.clone().unwrap_or_else(|| format!("ghcr.io/sei-k8s/seictl:{}", env!("CARGO_PKG_VERSION")));
    let workload_name = a.workload_name.clone().unwrap_or_else(|| match &a.workload_image {
        None => "probe".into(),
        Some(image) => {
            let repo = image.split('@').next().unwrap_or(image);
            let last = repo.rsplit('/').next().unwrap_or(repo);
            last.split(':').next().unwrap_or(last).to_string()
        }
    });
    let workload_command = match &a.workload_command {
        Some(c) => c.split_whitespace().map(String::from).collect(),
        None => vec!["seictl".into(), "workload".into(), "probe".into()],
    };
    if workload_command.is_empty() {
        return Err(fail("validation", "--workload-command is empty"));
    }
    let mut workload_env = Vec::new();
    for e in &a.env {
        workload_env.push(plan::parse_env(e).map_err(|e| fail("validation", e.to_string()))?);
    }
    let spec = BenchSpec {
        chain_id: a.chain_id.clone().unwrap_or_else(|| format!("bench-{owner}-{}", a.name)),
        name: a.name.clone(),
        owner,
        namespace,
        image: a.image.clone(),
        validators,
        rpc_nodes,
        duration_seconds: a.duration.as_secs(),
        workload_image,
        workload_name,
        workload_command,
        workload_env,
        results_bucket: a.results_bucket.clone(),
        workload_service_account: a.service_account.clone(),
    };
    plan::validate(&spec).map_err(|e| fail("validation", e.to_string()))?;
    Ok(spec)
}

fn resource_of(obj: &Value) -> ApiResource {
    match obj["kind"].as_str() {
        Some("Job") => ApiResource::erase::<Job>(&()),
        _ => ApiResource::erase::<sei_api::SeiNodeDeployment>(&()),
    }
}

fn summary(obj: &Value, action: &str) -> Value {
    json!({"kind": obj["kind"], "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "action": action})
}

/// Server-side apply without force: someone else owning a field is a conflict to resolve,
/// not to overwrite. Returns `create`, `update` or `unchanged`.
async fn apply(client: &kube::Client, obj: &Value) -> anyhow::Result<&'static str> {
    let (name, ns) =
        (obj["metadata"]["name"].as_str().unwrap_or(""), obj["metadata"]["namespace"].as_str().unwrap_or(""));
    let kind = obj["kind"].as_str().unwrap_or("object");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource_of(obj));
    let missing_kind = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound" && s.message.contains("the server could not find the requested resource"));
    let before = match api.get_opt(name).await {
        Ok(b) => b,
        Err(e) if missing_kind(&e) => {
            return Err(fail(
                "apply-failed",
                format!("{kind} is not installed in this cluster: install the operator's CRDs (docs/install.md)"),
            ));
        }
        Err(e) => return Err(fail("apply-failed", format!("reading {kind} {ns}/{name}: {}", api_error(e)))),
    };
    let after = api
        .patch(name, &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(obj))
        .await
        .map_err(|e| fail("apply-failed", format!("applying {kind} {ns}/{name}: {}", api_error(e))))?;
    Ok(match before {
        None => "create",
        Some(b) if b.metadata.generation == after.metadata.generation => "unchanged",
        Some(_) => "update",
    })
}

/// A Job's pod template cannot change: refuse before applying anything when the run's
/// Job exists with another workload, image or window.
async fn check_job(client: &kube::Client, job: &Value) -> anyhow::Result<()> {
    let ns = job["metadata"]["namespace"].as_str().unwrap_or("");
    let name = job["metadata"]["name"].as_str().unwrap_or("");
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    let Ok(Some(existing)) = jobs.get_opt(name).await else { return Ok(()) };
    let existing = serde_json::to_value(existing)?;
    let container = |j: &Value| j.pointer("/spec/template/spec/containers/0").cloned().unwrap_or_default();
    let (old, new) = (container(&existing), container(job));
    let same = old["image"] == new["image"]
        && old["command"] == new["command"]
        && existing["spec"]["activeDeadlineSeconds"] == job["spec"]["activeDeadlineSeconds"];
    if same {
        return Ok(());
    }
    let run = job["metadata"]["labels"][plan::BENCH_NAME].as_str().unwrap_or(name);
    Err(fail(
        "job-immutable",
        format!(
            "the workload Job {ns}/{name} exists with another image, command or duration: run `seictl bench down --name {run}` first"
        ),
    ))
}

/// The RPC fleet's node names, from its SeiNodes (by ordinal), else as the controller names them.
async fn rpc_nodes(client: &kube::Client, spec: &BenchSpec) -> Vec<String> {
    let nodes: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &spec.namespace, &ApiResource::erase::<sei_api::SeiNode>(&()));
    let params = ListParams::default().labels(&format!("sei.io/nodedeployment={}", spec.rpc_name()));
    let mut named: Vec<(i64, String)> = match nodes.list(&params).await {
        Ok(list) => list
            .items
            .iter()
            .map(|n| {
                let ordinal = n.metadata.labels.as_ref().and_then(|l| l.get("sei.io/nodedeployment-ordinal"));
                (ordinal.and_then(|o| o.parse().ok()).unwrap_or(i64::MAX), n.metadata.name.clone().unwrap_or_default())
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    named.sort();
    if named.is_empty() {
        return planned_rpc_nodes(spec);
    }
    named.into_iter().map(|(_, n)| n).collect()
}

fn planned_rpc_nodes(spec: &BenchSpec) -> Vec<String> {
    (0..spec.rpc_nodes).map(|i| format!("{}-{i}", spec.rpc_name())).collect()
}

/// The workload's outcome from its pod: exit code and termination message. A Job that
/// failed without a container exit (deadline, eviction) could not test: exit 2.
async fn outcome(client: &kube::Client, spec: &BenchSpec, job: &Value) -> (i64, String) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &spec.namespace);
    let params = ListParams::default().labels(&format!("batch.kubernetes.io/job-name={}", spec.job_name()));
    let terminated = pods.list(&params).await.ok().and_then(|list| {
        list.items.into_iter().find_map(|p| {
            let statuses = p.status?.container_statuses?;
            let t = statuses.into_iter().find(|s| s.name == "workload")?.state?.terminated?;
            Some((i64::from(t.exit_code), t.message.unwrap_or_default()))
        })
    });
    match terminated {
        Some(t) => t,
        None => {
            let reason = job
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Failed"))
                .map(|c| format!("{}: {}", c["reason"].as_str().unwrap_or(""), c["message"].as_str().unwrap_or("")))
                .unwrap_or_else(|| "the workload's pod is gone".into());
            (2, format!("no exit code from the workload ({reason}); counted as could not test"))
        }
    }
}

fn table(d: &Value) -> String {
    let s = |p: &str| d.pointer(p).map(|v| v.as_str().map(String::from).unwrap_or(v.to_string())).unwrap_or("-".into());
    let rows = vec![
        ["CHAIN", "NAMESPACE", "VALIDATORS", "RPC", "LOAD", "EXIT", "VERDICT"].map(String::from).to_vec(),
        vec![
            s("/chainId"),
            s("/namespace"),
            s("/validators"),
            s("/rpcNodes"),
            s("/load/phase"),
            s("/load/exitCode"),
            s("/verdict/phase"),
        ],
    ];
    let mut out = envelope::columns(&rows);
    for (kind, url) in [("tendermintRpc", "/endpoints/tendermintRpc/0"), ("evmJsonRpc", "/endpoints/evmJsonRpc/0")] {
        out += &format!("{kind}: {}\n", s(url));
    }
    out
}

pub async fn run(a: UpArgs) -> anyhow::Result<ExitCode> {
    let output = a.output;
    match up(a).await {
        Ok((data, code)) => {
            envelope::print(&envelope::data(KIND, data), output, table)?;
            Ok(ExitCode::from(code))
        }
        Err(e) => {
            envelope::print(&envelope::error(KIND, &e), output, table)?;
            Err(e)
        }
    }
}

async fn up(a: UpArgs) -> anyhow::Result<(Value, u8)> {
    let (owner, namespace) = identity::resolve(&a.who).await?;
    let mut spec = spec(&a, owner, namespace)?;
    let rules = match &a.rules {
        Some(path) => Some(rules::model::load(path).map_err(|e| fail("validation", e))?),
        None => None,
    };
    // The AWS path pins an ECR tag to its digest (in a dry run too, as the reference did).
    let mut digest = spec.image.split_once('@').map(|(_, d)| d.to_string());
    if a.who.aws
        && let Some(ecr) = super::aws::ecr_image(&spec.image)
    {
        let d = super::aws::ecr_digest(&ecr).await?;
        spec.image = format!("{}/{}@{d}", ecr.host, ecr.repository);
        digest = Some(d);
    }
    let planned = Endpoints::of(&planned_rpc_nodes(&spec), &spec.namespace);
    let (chain, rpc) = (spec.chain(), spec.rpc());
    let mut data = json!({
        "chainId": spec.chain_id, "name": spec.name, "owner": spec.owner, "namespace": spec.namespace,
        "imageRef": a.image,
        "imageDigest": digest,
        "size": a.size, "validators": spec.validators, "rpcNodes": spec.rpc_nodes,
        "duration": show_duration(spec.duration_seconds),
        "resultsS3Uri": spec.results_prefix(),
        "reportS3Uri": format!("{}report.log", spec.results_prefix()),
        "dryRun": a.dry_run,
        "endpoints": planned,
    });
    if a.dry_run {
        let job = spec.job(&planned);
        data["manifests"] = json!([summary(&chain, "create"), summary(&rpc, "create"), summary(&job, "create")]);
        data["objects"] = json!([chain, rpc, job]);
        return Ok((data, 0));
    }
    let cluster = a.who.cluster.connect().await?;
    let client = cluster.client;
    match Api::<Namespace>::all(client.clone()).get_opt(&spec.namespace).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(fail(
                "namespace-missing",
                format!(
                    "namespace {} does not exist: create it (kubectl create namespace {0}) or pass -n",
                    spec.namespace
                ),
            ));
        }
        // Not allowed to read namespaces: the apply below says whether it exists.
        Err(_) => {}
    }
    check_job(&client, &spec.job(&planned)).await?;
    let mut manifests = Vec::new();
    for obj in [&chain, &rpc] {
        let action = apply(&client, obj).await?;
        manifests.push(summary(obj, action));
    }
    data["appliedAt"] = json!(k8s_openapi::jiff::Timestamp::now().to_string());
    if a.no_wait {
        let job = spec.job(&planned);
        let action = apply(&client, &job).await?;
        manifests.push(summary(&job, action));
        data["manifests"] = json!(manifests);
        return Ok((data, 0));
    }
    let fleets = ApiResource::erase::<sei_api::SeiNodeDeployment>(&());
    let snds: Api<DynamicObject> = Api::namespaced_with(client.clone(), &spec.namespace, &fleets);
    wait::until(snds.clone(), &spec.chain_id, a.chain_timeout, "chain", |o| wait::fleet_step("chain", o)).await?;
    wait::until(snds, &spec.rpc_name(), a.rpc_timeout, "rpc", |o| wait::fleet_step("rpc", o)).await?;
    let endpoints = Endpoints::of(&rpc_nodes(&client, &spec).await, &spec.namespace);
    data["endpoints"] = json!(endpoints);
    let job = spec.job(&endpoints);
    let action = apply(&client, &job).await?;
    manifests.push(summary(&job, action));
    data["manifests"] = json!(manifests);
    let jobs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &spec.namespace, &ApiResource::erase::<Job>(&()));
    let load_timeout = Duration::from_secs(spec.duration_seconds + 300);
    let job_name = spec.job_name();
    let job_done = wait::until(jobs.clone(), &job_name, load_timeout, "load", wait::job_step);
    let (done, run) = match &rules {
        None => (Some(job_done.await?), None),
        Some(rules) => {
            let prom = rules::eval::Prometheus::new(&a.prometheus);
            let (finished, finished_rx) = tokio::sync::oneshot::channel::<()>();
            let evaluation = rules::eval::run(&prom, rules, load_timeout, async {
                let _ = finished_rx.await;
            });
            tokio::pin!(job_done, evaluation);
            tokio::select! {
                done = &mut job_done => {
                    let done = done?;
                    let _ = finished.send(());
                    (Some(done), Some(evaluation.await))
                }
                run = &mut evaluation => match run.stopped_by.clone() {
                    // Stop-on-failure: the workload's work so far stands; it runs no longer.
                    Some(rule) => {
                        progress_stop(&spec, &rule);
                        let _ = jobs.delete(&spec.job_name(), &kube::api::DeleteParams::background()).await;
                        (None, Some(run))
                    }
                    None => (Some(job_done.await?), Some(run)),
                },
            }
        }
    };
    let exit = match &done {
        Some(done) => {
            let (exit, message) = outcome(&client, &spec, done).await;
            let job_phase =
                if let Step::Done(e) = wait::job_step(done) { e["phase"].clone() } else { json!("Unknown") };
            data["load"] = json!({"job": spec.job_name(), "phase": job_phase, "exitCode": exit, "message": message});
            Some(exit)
        }
        None => {
            let rule = run.as_ref().and_then(|r| r.stopped_by.clone()).unwrap_or_default();
            data["load"] =
                json!({"job": spec.job_name(), "phase": "Stopped", "message": format!("stopped: rule {rule} failed")});
            None
        }
    };
    let (phase, reason, code) = rules::eval::overall(run.as_ref(), exit);
    if let Some(run) = &run {
        data["rules"] = json!(run.rules);
    }
    data["verdict"] = json!({"phase": phase, "reason": reason});
    Ok((data, code))
}
