//! `seictl bench down`: delete everything labelled with a run's chain ID, across kinds.
//! Objects with the chain ID that are not the run's own (another tool's RPC fleet, a
//! standalone node) make it refuse, listing them, unless `--cascade`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ApiResource, DeleteParams, ListParams};
use kube::core::DynamicObject;
use serde_json::{Value, json};

use super::envelope::{self, Output, fail};
use super::plan::{BENCH_NAME, CHAIN_ID, MANAGED_BY, SEICTL};
use super::{Who, identity, parse_duration};
use crate::cluster::api_error;

const KIND: &str = "BenchDownResult";

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("run").required(true).args(["name", "chain_id"]))]
pub struct DownArgs {
    /// The run's name (its chain ID is bench-<owner>-<name>).
    #[arg(long)]
    pub name: Option<String>,
    /// The chain ID, for a run made with --chain-id.
    #[arg(long)]
    pub chain_id: Option<String>,
    /// Also delete objects with the chain ID that the run did not make.
    #[arg(long)]
    pub cascade: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Return once the deletions are requested, without waiting for the objects to go.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for everything to be gone.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// json (default), yaml or table.
    #[arg(short = 'o', long, value_enum, default_value = "json")]
    pub output: Output,
    #[command(flatten)]
    pub who: Who,
}

/// The kinds a run's objects can be, in deletion order; whether a kind is deleted itself
/// (SeiNodes of a fleet and pods of a Job go with their owner).
fn kinds() -> Vec<ApiResource> {
    vec![
        ApiResource::erase::<sei_api::SeiNodeDeployment>(&()),
        ApiResource::erase::<sei_api::SeiNode>(&()),
        ApiResource::erase::<Job>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Pod>(&()),
    ]
}

fn summary(o: &DynamicObject, kind: &str, action: &str) -> Value {
    json!({"kind": kind, "name": o.metadata.name, "namespace": o.metadata.namespace, "action": action})
}

/// Everything labelled with the chain ID, as (kind, object).
async fn labelled(client: &kube::Client, ns: &str, chain: &str) -> anyhow::Result<Vec<(ApiResource, DynamicObject)>> {
    let params = ListParams::default().labels(&format!("{CHAIN_ID}={chain}"));
    let mut found = Vec::new();
    for r in kinds() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &r);
        match api.list(&params).await {
            Ok(list) => found.extend(list.items.into_iter().map(|o| (r.clone(), o))),
            // A cluster without the CRDs holds none of them.
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(api_error(e)),
        }
    }
    Ok(found)
}

fn table(d: &Value) -> String {
    let mut rows = vec![["KIND", "NAME", "ACTION"].map(String::from).to_vec()];
    for r in d["resources"].as_array().into_iter().flatten() {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        rows.push(vec![s("kind"), s("name"), s("action")]);
    }
    envelope::columns(&rows)
}

pub async fn run(a: DownArgs) -> anyhow::Result<ExitCode> {
    match down(&a).await {
        Ok(data) => {
            envelope::print(&envelope::data(KIND, data), a.output, table)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            envelope::print(&envelope::error(KIND, &e), a.output, table)?;
            Err(e)
        }
    }
}

async fn down(a: &DownArgs) -> anyhow::Result<Value> {
    let (chain, namespace) = match (&a.chain_id, &a.name) {
        (Some(c), _) => (c.clone(), identity::namespace(&a.who).await?),
        (None, Some(n)) => {
            let (owner, namespace) = identity::resolve(&a.who).await?;
            (format!("bench-{owner}-{n}"), namespace)
        }
        (None, None) => unreachable!("clap requires one"),
    };
    let cluster = a.who.cluster.connect().await?;
    let client = cluster.client;
    let found = labelled(&client, &namespace, &chain).await?;
    // A fleet's SeiNodes and a Job's pods go with their owner.
    let top: Vec<&(ApiResource, DynamicObject)> =
        found.iter().filter(|(_, o)| o.metadata.owner_references.as_ref().is_none_or(Vec::is_empty)).collect();
    let own = |o: &DynamicObject| {
        let labels = o.metadata.labels.clone().unwrap_or_default();
        labels.get(MANAGED_BY).map(String::as_str) == Some(SEICTL)
            && labels.get(BENCH_NAME).is_some_and(|b| a.name.as_ref().is_none_or(|n| n == b))
    };
    let others: Vec<String> = top
        .iter()
        .filter(|(_, o)| !own(o))
        .map(|(r, o)| format!("{}/{}", r.kind, o.metadata.name.clone().unwrap_or_default()))
        .collect();
    if !others.is_empty() && !a.cascade {
        return Err(fail(
            "referenced",
            format!(
                "other objects carry {CHAIN_ID}={chain}: {}; delete them first or pass --cascade",
                others.join(", ")
            ),
        ));
    }
    let mut resources = Vec::new();
    for (r, o) in &top {
        let name = o.metadata.name.clone().unwrap_or_default();
        if a.dry_run {
            resources.push(summary(o, &r.kind, "would-delete"));
            continue;
        }
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, r);
        let action = match api.delete(&name, &DeleteParams::foreground()).await {
            Ok(_) => "deleted",
            Err(kube::Error::Api(s)) if s.code == 404 => "not-found",
            Err(e) => {
                return Err(fail("delete-failed", format!("deleting {} {namespace}/{name}: {}", r.kind, api_error(e))));
            }
        };
        resources.push(summary(o, &r.kind, action));
    }
    let mut data =
        json!({"chainId": chain, "name": a.name, "namespace": namespace, "dryRun": a.dry_run, "resources": resources});
    if top.is_empty() {
        data["hint"] = json!(format!("nothing carries {CHAIN_ID}={chain} in namespace {namespace}"));
    }
    if a.dry_run || a.no_wait || top.is_empty() {
        return Ok(data);
    }
    // Until nothing with the chain ID is left, nodes and pods included.
    let deadline = tokio::time::Instant::now() + a.timeout;
    loop {
        let left = labelled(&client, &namespace, &chain).await?;
        if left.is_empty() {
            data["deletedAt"] = json!(k8s_openapi::jiff::Timestamp::now().to_string());
            return Ok(data);
        }
        if tokio::time::Instant::now() > deadline {
            let names: Vec<String> = left
                .iter()
                .map(|(r, o)| format!("{}/{}", r.kind, o.metadata.name.clone().unwrap_or_default()))
                .collect();
            return Err(fail(
                "still-terminating",
                format!(
                    "after {}: still there: {} (finalizers?)",
                    super::show_duration(a.timeout.as_secs()),
                    names.join(", ")
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
