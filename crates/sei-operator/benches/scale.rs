//! Fleet figures: `cargo bench -p sei-operator --bench scale [-- --nodes N]` (default 100).
//!
//! On the simulated cluster (real etcd, kube-apiserver, controllers, kwok) with every pod's
//! sidecar run as a real `seictl serve` by the local pod runner, the release operator runs
//! as its own process. The bench creates N full nodes at once and prints: wall time until
//! all are Running, the operator's peak resident memory and CPU seconds, the API requests
//! it sent per node by verb (from the API server's audit log), and what it sends in the
//! following 30 s of steady state.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ListParams, PostParams};
use sei_api::SeiNode;
use sei_testenv::{AuditRecord, PodRunner, Process, operator_command};
use serde_json::json;

#[path = "../tests/common/mod.rs"]
mod common;

const NS: &str = "bench";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// (peak resident KiB, CPU seconds) of a process.
fn usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // Linux reports these in USER_HZ, which is 100 on every architecture it runs on.
    (hwm, ticks as f64 / 100.0)
}

fn by_verb_and_resource(records: &[&AuditRecord]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for r in records {
        let resource =
            if r.subresource.is_empty() { r.resource.clone() } else { format!("{}/{}", r.resource, r.subresource) };
        *out.entry((r.verb.clone(), resource)).or_default() += 1;
    }
    out
}

fn node(i: usize) -> SeiNode {
    serde_json::from_value(json!({
        "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
        "metadata": {"name": format!("node-{i:03}"), "namespace": NS},
        "spec": {"chainId": "pacific-1", "image": "sei:v1", "fullNode": {}}
    }))
    .expect("a SeiNode")
}

async fn phases(nodes: &Api<SeiNode>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for n in nodes.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
        let phase = n.status.and_then(|s| s.phase).map(|p| p.as_str().to_string()).unwrap_or("Pending".into());
        *out.entry(phase).or_default() += 1;
    }
    out
}

async fn bench(count: usize, dir: &Path) {
    // The pods' sidecars are not what is measured: the debug seictl the tests use serves
    // (building it in release from here would rebuild the graph with other features).
    let seictl = common::seictl();
    // The same simulated cluster as the end-to-end tests (audit log on).
    let (cp, client) = common::cluster(NS).await;
    let runner =
        PodRunner::start(client.clone(), NS, seictl, &dir.join("pods"), vec![("SEI_LOG_LEVEL".into(), "warn".into())])
            .await
            .unwrap();
    let mut cmd =
        operator_command(Path::new(env!("CARGO_BIN_EXE_sei-operator")), cp.kubeconfig_path(), &runner.address_file);
    cmd.env("SEI_LOG_LEVEL", "warn");
    let mut operator = Process::spawn("sei-operator", cmd, &dir.join("operator.log")).unwrap();
    let pid = operator.pid();

    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);
    let start = Instant::now();
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| {
            let nodes = nodes.clone();
            async move {
                nodes.create(&PostParams::default(), &node(i)).await.expect("create");
            }
        })
        .await;
    let created = start.elapsed();
    let mut last = BTreeMap::new();
    loop {
        let now = phases(&nodes).await;
        if now != last {
            eprintln!("{:>6.1} s  {now:?}", start.elapsed().as_secs_f64());
            last = now.clone();
        }
        if now.get("Running") == Some(&count) {
            break;
        }
        assert!(!now.contains_key("Failed"), "a node failed; see {}", dir.join("operator.log").display());
        assert!(start.elapsed() < Duration::from_secs(1200), "not all Running after 20 min");
        if let Some(status) = operator.exited() {
            panic!("the operator exited ({status}):\n{}", operator.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wall = start.elapsed();
    let (hwm, cpu) = usage(pid);

    let agent = sei_operator::context::USER_AGENT;
    let log = cp.audit().unwrap();
    let mine: Vec<&AuditRecord> = log.iter().filter(|r| r.user_agent.starts_with(agent)).collect();
    let seen = log.len();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (hwm_after, cpu_after) = usage(pid);
    let steady: Vec<AuditRecord> =
        cp.audit().unwrap().split_off(seen).into_iter().filter(|r| r.user_agent.starts_with(agent)).collect();

    println!();
    println!("{count} SeiNodes (full nodes) to Running on the simulated cluster");
    println!("  created in                 {:.1} s", created.as_secs_f64());
    println!("  wall time to all Running   {:.1} s", wall.as_secs_f64());
    println!("  operator peak RSS          {:.1} MiB", hwm as f64 / 1024.0);
    println!("  operator CPU               {cpu:.2} s");
    println!("  API requests per node      {:.1} in all", mine.len() as f64 / count as f64);
    let verbs = sei_testenv::by_verb(mine.iter().copied());
    for (verb, n) in &verbs {
        println!("    {verb:<8} {:>7.2}", *n as f64 / count as f64);
    }
    println!("  by verb and resource (total):");
    for ((verb, resource), n) in by_verb_and_resource(&mine) {
        println!("    {verb:<8} {resource:<28} {n:>6}");
    }
    let refused: Vec<&AuditRecord> = mine.iter().copied().filter(|r| !(200..300).contains(&r.code)).collect();
    println!("  answered other than 2xx:   {} requests", refused.len());
    let mut by_code: BTreeMap<(String, String, u16), usize> = BTreeMap::new();
    for r in &refused {
        *by_code.entry((r.verb.clone(), r.resource.clone(), r.code)).or_default() += 1;
    }
    for ((verb, resource, code), n) in by_code {
        println!("    {verb:<8} {resource:<28} {code} {n:>6}");
    }
    let writes = steady.iter().filter(|r| r.is_write()).count();
    let renewals = steady.iter().filter(|r| r.is_write() && r.resource == "leases").count();
    println!(
        "  steady state, next 30 s    {} requests, {writes} writes ({renewals} leader-lease renewals), {:.2} CPU s, peak RSS {:.1} MiB",
        steady.len(),
        cpu_after - cpu,
        hwm_after as f64 / 1024.0
    );
    operator.stop(Duration::from_secs(5));
    drop(runner);
}

fn main() {
    let count: usize = arg("--nodes").map(|n| n.parse().expect("--nodes N")).unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(bench(count, dir.path()));
}
