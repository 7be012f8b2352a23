//! `seictl bench list`: runs found by their labels, one per chain ID, sorted.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ApiResource, ListParams};
use kube::core::DynamicObject;
use serde_json::{Value, json};

use super::envelope::{self, Output};
use super::plan::{BENCH_NAME, CHAIN_ID, ENGINEER, MANAGED_BY, ROLE, SEICTL};
use super::wait::{Step, job_step};
use super::{Who, identity};
use crate::cluster::api_error;

const KIND: &str = "BenchListResult";

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Runs in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// table (default), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: Output,
    #[command(flatten)]
    pub who: Who,
}

fn label<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str)
}

fn age(o: &Value) -> i64 {
    let created = o.pointer("/metadata/creationTimestamp").and_then(Value::as_str);
    let Some(ts) = created.and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok()) else { return 0 };
    k8s_openapi::jiff::Timestamp::now().duration_since(ts).as_secs().max(0)
}

/// One summary per chain ID from the run's fleets and Job (§3.7 of the validation spec).
pub fn summarize(objects: &[Value]) -> Vec<Value> {
    let mut groups: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for o in objects {
        let Some(chain) = label(o, CHAIN_ID) else { continue };
        let ns = o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string();
        groups.entry((chain.to_string(), ns)).or_default().push(o);
    }
    groups
        .into_iter()
        .map(|((chain, ns), members)| {
            let find = |kind: &str, role: Option<&str>| {
                members.iter().find(|o| o["kind"] == kind && role.is_none_or(|r| label(o, ROLE) == Some(r))).copied()
            };
            let validators = find("SeiNodeDeployment", Some("validator"));
            let rpc = find("SeiNodeDeployment", Some("fullNode"));
            let job = find("Job", None);
            let primary = validators.or(rpc).or(job).expect("a group has a member");
            let n = |o: Option<&Value>, p: &str| o.and_then(|o| o.pointer(p)).and_then(Value::as_i64).unwrap_or(0);
            let load = job.map(|j| match job_step(j) {
                Step::Done(e) | Step::Waiting(e) => e["phase"].clone(),
                Step::Failed(_) => json!("Failed"),
            });
            json!({
                "chainId": chain,
                "namespace": ns,
                "name": label(primary, BENCH_NAME),
                "owner": label(primary, ENGINEER),
                "image": validators.and_then(|v| v.pointer("/spec/template/spec/image")),
                "ageSeconds": age(primary),
                "phase": validators.and_then(|v| v.pointer("/status/phase")).cloned().unwrap_or(json!("Pending")),
                "validatorsDesired": n(validators, "/spec/replicas"),
                "validatorsReady": n(validators, "/status/readyReplicas"),
                "rpcDesired": n(rpc, "/spec/replicas"),
                "rpcReady": n(rpc, "/status/readyReplicas"),
                "loadJobPhase": load,
            })
        })
        .collect()
}

fn table(d: &Value) -> String {
    let items = d["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return String::new();
    }
    let mut rows = vec![
        ["CHAIN", "NAME", "OWNER", "NAMESPACE", "PHASE", "VALIDATORS", "RPC", "LOAD", "AGE"].map(String::from).to_vec(),
    ];
    for i in &items {
        let s = |k: &str| i[k].as_str().unwrap_or("-").to_string();
        let n = |k: &str| i[k].as_i64().unwrap_or(0);
        rows.push(vec![
            s("chainId"),
            s("name"),
            s("owner"),
            s("namespace"),
            s("phase"),
            format!("{}/{}", n("validatorsReady"), n("validatorsDesired")),
            format!("{}/{}", n("rpcReady"), n("rpcDesired")),
            s("loadJobPhase"),
            format!("{}s", n("ageSeconds")),
        ]);
    }
    envelope::columns(&rows)
}

pub async fn run(a: ListArgs) -> anyhow::Result<ExitCode> {
    match list(&a).await {
        Ok(data) => {
            if a.output == Output::Table && data["items"].as_array().is_some_and(Vec::is_empty) {
                eprintln!("No bench runs found.");
            }
            envelope::print(&envelope::data(KIND, data), a.output, table)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            envelope::print(&envelope::error(KIND, &e), a.output, table)?;
            Err(e)
        }
    }
}

async fn list(a: &ListArgs) -> anyhow::Result<Value> {
    let namespace = if a.all_namespaces { None } else { Some(identity::namespace(&a.who).await?) };
    let cluster = a.who.cluster.connect().await?;
    let mut selector = format!("{MANAGED_BY}={SEICTL},{BENCH_NAME}");
    if let Some(owner) = &a.who.owner {
        selector += &format!(",{ENGINEER}={owner}");
    }
    let params = ListParams::default().labels(&selector);
    let mut objects = Vec::new();
    for resource in [ApiResource::erase::<sei_api::SeiNodeDeployment>(&()), ApiResource::erase::<Job>(&())] {
        let api: Api<DynamicObject> = match &namespace {
            Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &resource),
            None => Api::all_with(cluster.client.clone(), &resource),
        };
        for o in api.list(&params).await.map_err(api_error)?.items {
            let mut v = serde_json::to_value(o)?;
            v["kind"] = json!(resource.kind);
            objects.push(v);
        }
    }
    Ok(json!({"items": summarize(&objects)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_grouped_by_chain_and_sorted() {
        let labels =
            |chain: &str, role: &str| json!({CHAIN_ID: chain, ROLE: role, BENCH_NAME: "demo", ENGINEER: "alice"});
        let objects = vec![
            json!({"kind": "SeiNodeDeployment", "metadata": {"namespace": "n", "labels": labels("b", "fullNode")},
                   "spec": {"replicas": 2}, "status": {"readyReplicas": 1}}),
            json!({"kind": "SeiNodeDeployment", "metadata": {"namespace": "n", "labels": labels("b", "validator")},
                   "spec": {"replicas": 4, "template": {"spec": {"image": "sei:v1"}}}, "status": {"phase": "Ready", "readyReplicas": 4}}),
            json!({"kind": "Job", "metadata": {"namespace": "n", "labels": labels("b", "")},
                   "status": {"conditions": [{"type": "Complete", "status": "True"}]}}),
            json!({"kind": "Job", "metadata": {"namespace": "n", "labels": labels("a", "")}, "status": {"active": 1}}),
        ];
        let items = summarize(&objects);
        assert_eq!(items.len(), 2);
        assert_eq!((items[0]["chainId"].as_str(), items[0]["loadJobPhase"].as_str()), (Some("a"), Some("Running")));
        let b = &items[1];
        assert_eq!((b["phase"].as_str(), b["image"].as_str()), (Some("Ready"), Some("sei:v1")));
        assert_eq!(
            (b["validatorsReady"].as_i64(), b["rpcDesired"].as_i64(), b["rpcReady"].as_i64()),
            (Some(4), Some(2), Some(1))
        );
        assert_eq!(b["loadJobPhase"], "Succeeded");
        assert!(table(&json!({"items": items})).starts_with("CHAIN"));
    }
}
