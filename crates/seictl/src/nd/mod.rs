//! `seictl nodedeployment` (alias `nd`): SeiNodeDeployments from embedded presets, and
//! kubectl-like reads, deletion and watching.

pub mod render;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use futures::StreamExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PropagationPolicy};
use kube::core::DynamicObject;
use kube::runtime::watcher;
use serde_json::Value;

use crate::cluster::{ClusterArgs, api_error};
use crate::output::{self, Format};

/// The field manager of `nd apply` (server-side apply, taking ownership of what it sets).
const FIELD_MANAGER: &str = "seictl";

#[derive(Subcommand, Debug)]
pub enum NdCommand {
    /// Create or update a SeiNodeDeployment from a preset (server-side apply).
    ///
    /// Precedence, lowest first: the preset, --image, --replicas, --chain-id, then each
    /// --set in order. The name and namespace always come from the command line.
    #[command(after_help = "Examples:\n  \
        seictl nd apply bench --preset genesis-chain --chain-id bench-1 --image ghcr.io/sei-protocol/sei:v6.3.0\n  \
        seictl nd apply bench-rpc --preset rpc --chain-id bench-1 --image ghcr.io/sei-protocol/sei:v6.3.0 --replicas 3\n  \
        seictl nd apply bench --preset genesis-chain --chain-id bench-1 --image sei:v2 --dry-run -o yaml")]
    Apply(ApplyArgs),
    /// Print one SeiNodeDeployment.
    Get(GetArgs),
    /// List SeiNodeDeployments.
    List(ListArgs),
    /// Delete a SeiNodeDeployment (its spec.deletionPolicy still decides what its nodes leave behind).
    Delete(DeleteArgs),
    /// Print the SeiNodeDeployment as one JSON line per change until it reaches a phase.
    ///
    /// Exits 0 at the phase, 1 if the deployment fails or the timeout passes.
    #[command(after_help = "Example:\n  seictl nd watch bench --until ready --timeout 20m | jq -r .status.phase")]
    Watch(WatchArgs),
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The SeiNodeDeployment's name.
    pub name: String,
    /// genesis-chain (validators holding a genesis ceremony) or rpc (full nodes peering
    /// with a chain's validators).
    #[arg(long, value_parser = render::names())]
    pub preset: String,
    /// The chain ID (for genesis-chain also the new chain's genesis).
    #[arg(long)]
    pub chain_id: Option<String>,
    /// The seid image of the nodes.
    #[arg(long)]
    pub image: Option<String>,
    /// Number of nodes.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    pub replicas: Option<i32>,
    /// Set a field: a dotted path, then = and a value (true/false, an integer, else a
    /// string), e.g. --set spec.template.spec.overrides.evm.http_port=8545. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Let the API server validate and show the result without saving it.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: json, yaml, name, table or jsonpath=TEMPLATE.
    #[arg(short = 'o', long, value_parser = output::parse_format, default_value = "json")]
    pub output: Format,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The SeiNodeDeployment's name.
    pub name: String,
    /// Output format: yaml, json, name, table or jsonpath=TEMPLATE (as kubectl's).
    #[arg(short = 'o', long, value_parser = output::parse_format, default_value = "yaml")]
    pub output: Format,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector, e.g. -l sei.io/chain-id=bench-1.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format: table, yaml, json (a SeiNodeDeploymentList), name or jsonpath=TEMPLATE.
    #[arg(short = 'o', long, value_parser = output::parse_format, default_value = "table")]
    pub output: Format,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Cascade {
    Foreground,
    Background,
    Orphan,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The SeiNodeDeployment's name.
    pub name: String,
    /// How dependents go: foreground (wait for them), background, or orphan.
    #[arg(long, value_enum, default_value = "foreground")]
    pub cascade: Cascade,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The SeiNodeDeployment's name.
    pub name: String,
    /// What to wait for: a phase (Ready, Initializing, Upgrading, Degraded, Pending; any
    /// case), or caught-up: Ready with every node's seid caught up with the chain.
    /// Failed always ends the watch with exit code 1.
    #[arg(long, default_value = "Ready", ignore_case = true, value_parser = ["Ready", "Initializing", "Upgrading", "Degraded", "Pending", "caught-up"])]
    pub until: String,
    /// Give up after this long (e.g. 90s, 15m, 1h).
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration like 90s, 15m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?} is not a duration like 90s, 15m or 1h")),
    };
    Ok(Duration::from_secs(secs))
}

fn api(client: kube::Client, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource::erase::<sei_api::SeiNodeDeployment>(&());
    match namespace {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    }
}

fn to_value(o: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(o).expect("serialises");
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    v
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).context("writing to stdout")
}

pub fn run(cmd: NdCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async {
        match cmd {
            NdCommand::Apply(a) => apply(a).await,
            NdCommand::Get(a) => get(a).await,
            NdCommand::List(a) => list(a).await,
            NdCommand::Delete(a) => delete(a).await,
            NdCommand::Watch(a) => watch(a).await,
        }
    })
}

async fn apply(a: ApplyArgs) -> anyhow::Result<ExitCode> {
    // Render before connecting: a bad request never needs a cluster.
    let namespace_hint = a.cluster.namespace.clone().unwrap_or_default();
    let mut request = render::Request {
        name: a.name.clone(),
        namespace: namespace_hint,
        preset: a.preset.clone(),
        chain_id: a.chain_id.clone(),
        image: a.image.clone(),
        replicas: a.replicas,
        sets: a.sets.clone(),
    };
    render::render(&request, env!("CARGO_PKG_VERSION"))?;
    let cluster = a.cluster.connect().await?;
    request.namespace = cluster.namespace.clone();
    let object = render::render(&request, env!("CARGO_PKG_VERSION"))?;
    eprintln!(
        "seictl: applying{} SeiNodeDeployment {}/{} to {}",
        if a.dry_run { " (dry run)" } else { "" },
        cluster.namespace,
        a.name,
        cluster.host
    );
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = a.dry_run;
    let applied = api(cluster.client, Some(&cluster.namespace))
        .patch(&a.name, &params, &Patch::Apply(&object))
        .await
        .map_err(api_error)?;
    print(&output::one(&to_value(&applied), &a.output))?;
    Ok(ExitCode::SUCCESS)
}

async fn get(a: GetArgs) -> anyhow::Result<ExitCode> {
    let cluster = a.cluster.connect().await?;
    let obj = api(cluster.client, Some(&cluster.namespace)).get(&a.name).await.map_err(api_error)?;
    print(&output::one(&to_value(&obj), &a.output))?;
    Ok(ExitCode::SUCCESS)
}

async fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let cluster = a.cluster.connect().await?;
    let ns = (!a.all_namespaces).then_some(cluster.namespace.as_str());
    let mut params = ListParams::default();
    if let Some(s) = &a.selector {
        params = params.labels(s);
    }
    let items = api(cluster.client.clone(), ns).list(&params).await.map_err(api_error)?;
    let values: Vec<Value> = items.items.iter().map(to_value).collect();
    if values.is_empty() && matches!(a.output, Format::Table) {
        let where_ =
            if a.all_namespaces { "any namespace".to_string() } else { format!("namespace {}", cluster.namespace) };
        eprintln!("No SeiNodeDeployments found in {where_}.");
    }
    print(&output::list(values, &a.output, a.all_namespaces))?;
    Ok(ExitCode::SUCCESS)
}

async fn delete(a: DeleteArgs) -> anyhow::Result<ExitCode> {
    let cluster = a.cluster.connect().await?;
    let policy = match a.cascade {
        Cascade::Foreground => PropagationPolicy::Foreground,
        Cascade::Background => PropagationPolicy::Background,
        Cascade::Orphan => PropagationPolicy::Orphan,
    };
    let params = DeleteParams { propagation_policy: Some(policy), ..Default::default() };
    api(cluster.client, Some(&cluster.namespace)).delete(&a.name, &params).await.map_err(api_error)?;
    print(&format!("seinodedeployment.sei.io/{} deleted\n", a.name))?;
    Ok(ExitCode::SUCCESS)
}

async fn watch(a: WatchArgs) -> anyhow::Result<ExitCode> {
    let cluster = a.cluster.connect().await?;
    let api = api(cluster.client, Some(&cluster.namespace));
    let config = watcher::Config::default().fields(&format!("metadata.name={}", a.name));
    let mut stream = watcher(api, config).boxed();
    let mut last_phase = String::from("none yet");
    let wait = async {
        while let Some(event) = stream.next().await {
            let event = event.map_err(|e| anyhow::anyhow!("watching {}/{}: {e}", cluster.namespace, a.name))?;
            let objects = match event {
                watcher::Event::Apply(o) | watcher::Event::InitApply(o) => vec![o],
                _ => Vec::new(),
            };
            for o in objects {
                let v = to_value(&o);
                print(&(serde_json::to_string(&v).expect("JSON") + "\n"))?;
                let phase = v.pointer("/status/phase").and_then(Value::as_str).unwrap_or("").to_string();
                if a.until.eq_ignore_ascii_case("caught-up") {
                    let n = |p: &str| v.pointer(p).and_then(Value::as_i64).unwrap_or(0);
                    if phase == "Ready" && n("/status/caughtUpReplicas") >= n("/spec/replicas") {
                        return Ok(ExitCode::SUCCESS);
                    }
                } else if phase.eq_ignore_ascii_case(&a.until) {
                    return Ok(ExitCode::SUCCESS);
                }
                if phase == "Failed" {
                    let why = v
                        .pointer("/status/plan/failedTaskDetail/error")
                        .and_then(Value::as_str)
                        .unwrap_or("no failed task recorded; see its conditions");
                    bail!("{}/{} is Failed: {why}", cluster.namespace, a.name);
                }
                if !phase.is_empty() {
                    last_phase = phase;
                }
            }
        }
        bail!("the watch of {}/{} ended", cluster.namespace, a.name)
    };
    let result = tokio::time::timeout(a.timeout, wait).await;
    match result {
        Ok(result) => result,
        Err(_) => bail!(
            "timed out after {:?} waiting for {}/{} to be {} (phase: {last_phase})",
            a.timeout,
            cluster.namespace,
            a.name,
            a.until
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err() && parse_duration("5d").is_err());
    }
}
