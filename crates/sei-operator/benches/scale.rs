//! Fleet figures of the release operator, run as its own process on the simulated cluster
//! (real etcd, kube-apiserver, controllers, kwok), with the API server's audit log on.
//!
//! ```text
//! cargo bench -p sei-operator --bench scale [-- --nodes N]
//! cargo bench -p sei-operator --bench scale -- --unreachable-sidecars [--nodes N] [--duration S]
//! cargo bench -p sei-operator --bench scale -- --failover [--nodes N]
//! cargo bench -p sei-operator --bench scale -- --fleets D [--nodes N]
//! ```
//!
//! - Normal (default, N = 100): every pod's sidecar runs as a real `seictl serve` by the
//!   local pod runner. Creates N full nodes at once and prints: wall time until all are
//!   Running, the operator's peak resident memory, OS threads and CPU seconds, the API
//!   requests it sent per node by verb (from the audit log), and what it sends in the
//!   following 30 s of steady state.
//! - `--unreachable-sidecars` (N = 1000, `--duration` 180 s): no pod runner and no sidecar
//!   address file, so the operator calls the pods' cluster DNS names
//!   (`<node>-0.<node>.<ns>.svc.cluster.local`), which do not resolve here: what a real
//!   cluster looks like while pods start. Creates N full nodes at once, runs for the
//!   duration at the operator's default log level (info), and prints: OS threads (peak
//!   of samples every 0.5 s, and at the end), peak and final resident memory, CPU
//!   seconds, API requests per node by verb, the 409s it was answered, the lines it
//!   logged (per node, by level, the most frequent messages), and the time until all N
//!   StatefulSets exist.
//! - `--failover` (N = 100): two replicas (`op-a`, `op-b`, leader election on, sidecars
//!   as in normal mode). Once the leader has brought the N nodes to Running, it is
//!   killed with SIGKILL and every node's image is patched at once. Prints the time from
//!   the SIGKILL to the other replica holding the Lease, to its first write (from the
//!   audit log, by its user agent `sei-operator/… (op-x)`), to its first write that is
//!   not the Lease, to the first and to the last StatefulSet carrying the new image, and
//!   to every node reporting the new image in `status.currentImage` and Running.
//! - `--fleets D` (N = 10): D SeiNodeDeployments of N full nodes each, created at once
//!   (sidecars as in normal mode). Prints the wall time until every fleet is `Ready` with
//!   N ready replicas, the operator's peak RSS and CPU seconds, API requests per node by
//!   verb, and the following 30 s of steady state.
//!
//! Requests are counted by the API server (audit log), not by the operator.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
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

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// What /proc says about a process.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    /// Peak resident memory, KiB.
    hwm_kib: u64,
    /// Resident memory now, KiB.
    rss_kib: u64,
    threads: u64,
    cpu_s: f64,
}

fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // Linux reports these in USER_HZ, which is 100 on every architecture it runs on.
    Usage {
        hwm_kib: field("VmHWM:"),
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        cpu_s: ticks as f64 / 100.0,
    }
}

/// The highest thread count of `pid`, sampled every 0.5 s until the task is aborted.
fn sample_threads(pid: u32) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn({
        let peak = peak.clone();
        async move {
            loop {
                peak.fetch_max(usage(pid).threads, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    (peak, task)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
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

/// Requests per node by verb, totals by verb and resource, and what was not a 2xx.
fn print_requests(mine: &[&AuditRecord], count: usize) {
    println!("  API requests per node      {:.1} in all", mine.len() as f64 / count as f64);
    let verbs = sei_testenv::by_verb(mine.iter().copied());
    for (verb, n) in &verbs {
        println!("    {verb:<8} {:>7.2}", *n as f64 / count as f64);
    }
    println!("  by verb and resource (total):");
    for ((verb, resource), n) in by_verb_and_resource(mine) {
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
}

fn node(i: usize) -> SeiNode {
    common::full_node(NS, &format!("node-{i:03}"), "sei:v1")
}

async fn create_nodes(nodes: &Api<SeiNode>, count: usize) {
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| {
            let nodes = nodes.clone();
            async move {
                nodes.create(&PostParams::default(), &node(i)).await.expect("create");
            }
        })
        .await;
}

async fn phases(nodes: &Api<SeiNode>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for n in nodes.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
        let phase = n.status.and_then(|s| s.phase).map(|p| p.as_str().to_string()).unwrap_or("Pending".into());
        *out.entry(phase).or_default() += 1;
    }
    out
}

/// Waits until all `count` nodes are Running, printing the phases as they change; fails
/// if a node fails or an operator exits.
async fn wait_all_running(nodes: &Api<SeiNode>, count: usize, start: Instant, operators: &mut [&mut Process]) {
    let mut last = BTreeMap::new();
    loop {
        let now = phases(nodes).await;
        if now != last {
            eprintln!("{:>6.1} s  {now:?}", start.elapsed().as_secs_f64());
            last = now.clone();
        }
        if now.get("Running") == Some(&count) {
            return;
        }
        assert!(!now.contains_key("Failed"), "a node failed; see the operator log");
        assert!(start.elapsed() < Duration::from_secs(1200), "not all Running after 20 min");
        for operator in operators.iter_mut() {
            if let Some(status) = operator.exited() {
                panic!("{} exited ({status}):\n{}", operator.name(), operator.log_tail(30));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn operator_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sei-operator"))
}

/// The operator's requests so far and its usage now; then the 30 s of rest that follow:
/// what it sent meanwhile and its usage at the end.
struct Rested {
    log: Vec<AuditRecord>,
    used: Usage,
    steady: Vec<AuditRecord>,
    after: Usage,
}

async fn rest(cp: &sei_testenv::ControlPlane, pid: u32, sampler: tokio::task::JoinHandle<()>) -> Rested {
    let used = usage(pid);
    let agent = sei_operator::context::USER_AGENT;
    let all = cp.audit().unwrap();
    let seen = all.len();
    let log = all.into_iter().filter(|r| r.user_agent.starts_with(agent)).collect();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let after = usage(pid);
    sampler.abort();
    let steady = cp.audit().unwrap().split_off(seen).into_iter().filter(|r| r.user_agent.starts_with(agent)).collect();
    Rested { log, used, steady, after }
}

/// The simulated cluster of the end-to-end tests (audit log on), the pod runner and the
/// release operator as its own process, logging warnings only.
async fn cluster_and_operator(dir: &Path) -> (sei_testenv::ControlPlane, Client, PodRunner, Process) {
    // The pods' sidecars are not what is measured: the debug seictl the tests use serves
    // (building it in release from here would rebuild the graph with other features).
    let seictl = common::seictl();
    let (cp, client) = common::cluster(NS).await;
    let runner =
        PodRunner::start(client.clone(), NS, seictl, &dir.join("pods"), vec![("SEI_LOG_LEVEL".into(), "warn".into())])
            .await
            .unwrap();
    let mut cmd = operator_command(operator_bin(), cp.kubeconfig_path(), &runner.address_file);
    cmd.env("SEI_LOG_LEVEL", "warn");
    let operator = Process::spawn("sei-operator", cmd, &dir.join("operator.log")).unwrap();
    (cp, client, runner, operator)
}

async fn bench(count: usize, dir: &Path) {
    let (cp, client, runner, mut operator) = cluster_and_operator(dir).await;
    let pid = operator.pid();
    let (peak_threads, sampler) = sample_threads(pid);
    let load_before = loadavg();

    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);
    let start = Instant::now();
    create_nodes(&nodes, count).await;
    let created = start.elapsed();
    wait_all_running(&nodes, count, start, &mut [&mut operator]).await;
    let wall = start.elapsed();
    let Rested { log, used, steady, after } = rest(&cp, pid, sampler).await;
    let mine: Vec<&AuditRecord> = log.iter().collect();

    println!();
    println!("{count} SeiNodes (full nodes) to Running on the simulated cluster");
    println!("  created in                 {:.1} s", created.as_secs_f64());
    println!("  wall time to all Running   {:.1} s", wall.as_secs_f64());
    println!("  operator peak RSS          {:.1} MiB", used.hwm_kib as f64 / 1024.0);
    println!("  operator CPU               {:.2} s", used.cpu_s);
    println!("  operator OS threads        {} peak (0.5 s samples)", peak_threads.load(Ordering::Relaxed));
    print_requests(&mine, count);
    let writes = steady.iter().filter(|r| r.is_write()).count();
    let renewals = steady.iter().filter(|r| r.is_write() && r.resource == "leases").count();
    println!(
        "  steady state, next 30 s    {} requests, {writes} writes ({renewals} leader-lease renewals), {:.2} CPU s, peak RSS {:.1} MiB",
        steady.len(),
        after.cpu_s - used.cpu_s,
        after.hwm_kib as f64 / 1024.0
    );
    println!("  load average               {load_before} before, {} after", loadavg());
    operator.stop(Duration::from_secs(5));
    drop(runner);
}

/// `fleets` SeiNodeDeployments of `size` full nodes each, to Ready.
async fn fleets(fleets: usize, size: usize, dir: &Path) {
    let (cp, client, runner, mut operator) = cluster_and_operator(dir).await;
    let pid = operator.pid();
    let (peak_threads, sampler) = sample_threads(pid);
    let api: Api<sei_api::SeiNodeDeployment> = Api::namespaced(client.clone(), NS);
    let start = Instant::now();
    for f in 0..fleets {
        let d: sei_api::SeiNodeDeployment = serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": format!("fleet-{f:02}"), "namespace": NS},
            "spec": {"replicas": size, "updateStrategy": {"type": "InPlace"},
                     "template": {"spec": {"chainId": "pacific-1", "image": "sei:v1", "fullNode": {}}}}
        }))
        .unwrap();
        api.create(&PostParams::default(), &d).await.expect("create");
    }
    let mut last = String::new();
    loop {
        let list = api.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
        let ready = list
            .iter()
            .filter(|d| d.status.as_ref().is_some_and(|s| s.ready_replicas == Some(size as i32)))
            .filter(|d| d.status.as_ref().and_then(|s| s.phase).map(|p| format!("{p:?}")).as_deref() == Some("Ready"))
            .count();
        let line = format!("{ready}/{fleets} fleets Ready");
        if line != last {
            eprintln!("{:>6.1} s  {line}", start.elapsed().as_secs_f64());
            last = line;
        }
        if ready == fleets {
            break;
        }
        if let Some(status) = operator.exited() {
            panic!("the operator exited ({status}):\n{}", operator.log_tail(30));
        }
        assert!(start.elapsed() < Duration::from_secs(1200), "not all Ready after 20 min");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wall = start.elapsed();
    let Rested { log, used, steady, after } = rest(&cp, pid, sampler).await;
    let mine: Vec<&AuditRecord> = log.iter().collect();
    let count = fleets * size;
    println!();
    println!("{fleets} SeiNodeDeployments x {size} full nodes to Ready on the simulated cluster");
    println!("  wall time to all Ready     {:.1} s", wall.as_secs_f64());
    println!("  operator peak RSS          {:.1} MiB", used.hwm_kib as f64 / 1024.0);
    println!("  operator CPU               {:.2} s", used.cpu_s);
    println!("  operator OS threads        {} peak (0.5 s samples)", peak_threads.load(Ordering::Relaxed));
    print_requests(&mine, count);
    let writes = steady.iter().filter(|r| r.is_write()).count();
    let lease = steady.iter().filter(|r| r.resource == "leases").count();
    println!(
        "  steady state, next 30 s    {} requests ({lease} on the leader Lease), {writes} writes, {:.2} CPU s",
        steady.len(),
        after.cpu_s - used.cpu_s
    );
    operator.stop(Duration::from_secs(5));
    drop(runner);
}

/// When each of `count` StatefulSets first appeared, as a watch saw it.
fn watch_statefulsets(client: Client) -> (Arc<Mutex<BTreeMap<String, Instant>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let task = tokio::spawn({
        let seen = seen.clone();
        async move {
            let api: Api<PartialObjectMeta<StatefulSet>> = Api::namespaced(client, NS);
            watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .for_each(|m| {
                    if let Ok(m) = m {
                        seen.lock().unwrap().entry(m.name_any()).or_insert_with(Instant::now);
                    }
                    async {}
                })
                .await;
        }
    });
    (seen, task)
}

/// Log lines of a JSON-logging operator: in all, by level, and the most frequent messages.
fn log_summary(path: &Path) -> (usize, BTreeMap<String, usize>, Vec<(usize, String)>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut levels = BTreeMap::new();
    let mut messages: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = 0;
    for line in text.lines() {
        lines += 1;
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let level = v["level"].as_str().unwrap_or("(not JSON)").to_string();
        let message = v["message"].as_str().unwrap_or(line).chars().take(100).collect::<String>();
        *levels.entry(level.clone()).or_default() += 1;
        *messages.entry(format!("{level} {message}")).or_default() += 1;
    }
    let mut top: Vec<(usize, String)> = messages.into_iter().map(|(m, n)| (n, m)).collect();
    top.sort_by(|a, b| b.cmp(a));
    top.truncate(6);
    (lines, levels, top)
}

async fn unreachable(count: usize, duration: Duration, dir: &Path) {
    let (cp, client) = common::cluster(NS).await;
    // No address file: the operator falls back to the pods' cluster DNS names.
    let mut cmd = operator_command(operator_bin(), cp.kubeconfig_path(), Path::new("/nonexistent"));
    cmd.env_remove("SEI_SIDECAR_ADDRESSES").env("SEI_LOG_LEVEL", "info");
    let log_path = dir.join("operator.log");
    let mut operator = Process::spawn("sei-operator", cmd, &log_path).unwrap();
    let pid = operator.pid();
    let (peak_threads, sampler) = sample_threads(pid);
    let (statefulsets, watch) = watch_statefulsets(client.clone());
    // Idle figures once it leads and its controllers have started.
    let since = Instant::now();
    while !std::fs::read_to_string(&log_path).unwrap_or_default().contains("starting the controllers")
        && since.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = usage(pid);
    let load_before = loadavg();

    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);
    let start = Instant::now();
    create_nodes(&nodes, count).await;
    let created = start.elapsed();
    let mut next_report = Duration::ZERO;
    while start.elapsed() < duration {
        if let Some(status) = operator.exited() {
            panic!("the operator exited ({status}):\n{}", operator.log_tail(30));
        }
        if start.elapsed() >= next_report {
            let u = usage(pid);
            eprintln!(
                "{:>6.1} s  {} StatefulSets, operator: {} threads, {:.1} MiB, {:.1} CPU s; load {}",
                start.elapsed().as_secs_f64(),
                statefulsets.lock().unwrap().len(),
                u.threads,
                u.rss_kib as f64 / 1024.0,
                u.cpu_s,
                loadavg()
            );
            next_report = start.elapsed() + Duration::from_secs(15);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let end = usage(pid);
    sampler.abort();
    watch.abort();
    let phases = phases(&nodes).await;
    let sts_times: Vec<Instant> = statefulsets.lock().unwrap().values().copied().collect();

    let agent = sei_operator::context::USER_AGENT;
    let log = cp.audit().unwrap();
    let mine: Vec<&AuditRecord> = log.iter().filter(|r| r.user_agent.starts_with(agent)).collect();
    let conflicts = mine.iter().filter(|r| r.code == 409).count();
    let (lines, levels, top) = log_summary(&log_path);

    println!();
    println!(
        "{count} SeiNodes (full nodes), sidecars unreachable (cluster DNS names that do not resolve), {:.0} s",
        duration.as_secs_f64()
    );
    println!("  created in                 {:.1} s", created.as_secs_f64());
    match sts_times.iter().max() {
        Some(last) if sts_times.len() == count => {
            println!("  all StatefulSets exist     {:.1} s after the first create", (*last - start).as_secs_f64())
        }
        _ => println!("  StatefulSets               only {} of {count} within the run", sts_times.len()),
    }
    println!("  node phases at the end     {phases:?}");
    println!(
        "  operator OS threads        {} peak (0.5 s samples), {} at the end, {} idle before the nodes",
        peak_threads.load(Ordering::Relaxed).max(end.threads),
        end.threads,
        idle.threads
    );
    println!(
        "  operator memory            {:.1} MiB peak RSS, {:.1} MiB at the end, {:.1} MiB idle",
        end.hwm_kib as f64 / 1024.0,
        end.rss_kib as f64 / 1024.0,
        idle.rss_kib as f64 / 1024.0
    );
    println!("  operator CPU               {:.2} s", end.cpu_s);
    print_requests(&mine, count);
    println!("  refused with 409 Conflict  {conflicts}");
    println!(
        "  operator log lines         {lines} ({:.1} per node) at level info; by level {levels:?}",
        lines as f64 / count as f64
    );
    println!("  most frequent:");
    for (n, message) in top {
        println!("    {n:>7}  {message}");
    }
    println!("  load average               {load_before} before, {} after", loadavg());
    operator.stop(Duration::from_secs(5));
}

/// The replica (`POD_NAME`) holding the leader Lease, if any: identities are
/// `<POD_NAME>_<random suffix>`.
async fn holder(leases: &Api<Lease>) -> Option<String> {
    let identity = leases.get_opt(sei_operator::leader::LEASE_NAME).await.ok()??.spec?.holder_identity?;
    Some(identity.rsplit_once('_').map_or(identity.clone(), |(pod, _)| pod.to_string()))
}

fn secs_since(t0: SystemTime, t: SystemTime) -> String {
    match t.duration_since(t0) {
        Ok(d) => format!("{:.1} s", d.as_secs_f64()),
        Err(_) => "before the kill".into(),
    }
}

async fn failover(count: usize, dir: &Path) {
    let seictl = common::seictl();
    let (cp, client) = common::cluster(NS).await;
    let runner =
        PodRunner::start(client.clone(), NS, seictl, &dir.join("pods"), vec![("SEI_LOG_LEVEL".into(), "warn".into())])
            .await
            .unwrap();
    let replica = |name: &str| {
        let mut cmd = operator_command(operator_bin(), cp.kubeconfig_path(), &runner.address_file);
        cmd.env("POD_NAME", name).env("POD_NAMESPACE", NS).env("SEI_LOG_LEVEL", "warn");
        cmd.args(["--leader-elect", "true"]);
        Process::spawn(name, cmd, &dir.join(format!("{name}.log"))).unwrap()
    };
    let mut replicas = BTreeMap::from([("op-a", replica("op-a")), ("op-b", replica("op-b"))]);
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let leader = common::eventually("a leader", 60, || holder(&leases)).await;
    let follower = if leader == "op-a" { "op-b" } else { "op-a" };
    let load_before = loadavg();

    let nodes: Api<SeiNode> = Api::namespaced(client.clone(), NS);
    let start = Instant::now();
    create_nodes(&nodes, count).await;
    {
        let mut procs: Vec<&mut Process> = replicas.values_mut().collect();
        wait_all_running(&nodes, count, start, &mut procs).await;
    }
    let running = start.elapsed();

    // The leader dies without a goodbye; the change waits for the other replica.
    let killed_at = SystemTime::now();
    let killed = Instant::now();
    replicas.get_mut(leader.as_str()).expect("the leader is a replica").kill();
    let names: Vec<String> = (0..count).map(|i| node(i).name_any()).collect();
    futures::stream::iter(names.clone())
        .for_each_concurrent(16, |name| {
            let nodes = nodes.clone();
            async move {
                let patch = json!({"spec": {"image": "sei:v2"}});
                nodes.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch image");
            }
        })
        .await;
    let patched = killed.elapsed();

    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let new_image = |s: &StatefulSet| {
        s.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .is_some_and(|p| p.containers.iter().any(|c| c.image.as_deref() == Some("sei:v2")))
    };
    let (mut took_lease, mut first_sts, mut all_sts, mut all_done) = (None, None, None, None);
    while all_done.is_none() && killed.elapsed() < Duration::from_secs(600) {
        if took_lease.is_none() && holder(&leases).await.as_deref() == Some(follower) {
            took_lease = Some(killed.elapsed());
        }
        if all_sts.is_none() {
            let list = statefulsets.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
            let updated = list.iter().filter(|s| new_image(s)).count();
            if updated > 0 && first_sts.is_none() {
                first_sts = Some(killed.elapsed());
            }
            if updated == count {
                all_sts = Some(killed.elapsed());
            }
        } else {
            let list = nodes.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
            let done = list
                .iter()
                .filter(|n| {
                    n.status.as_ref().is_some_and(|s| s.current_image.as_deref() == Some("sei:v2"))
                        && common::phase(n) == Some("Running")
                })
                .count();
            if done == count {
                all_done = Some(killed.elapsed());
            }
        }
        if let Some(status) = replicas.get_mut(follower).expect("a replica").exited() {
            panic!("{follower} exited ({status})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let agent = format!("{} ({follower})", sei_operator::context::USER_AGENT);
    let log = cp.audit().unwrap();
    let after_kill: Vec<&AuditRecord> =
        log.iter().filter(|r| r.user_agent == agent && r.received.is_some_and(|t| t >= killed_at)).collect();
    let first = |pick: &dyn Fn(&AuditRecord) -> bool| {
        after_kill.iter().filter(|r| pick(r)).filter_map(|r| r.received).min().map(|t| secs_since(killed_at, t))
    };
    let first_write = first(&|r| r.is_write());
    let first_other_write = first(&|r| r.is_write() && r.resource != "leases");
    let first_sts_write = first(&|r| r.is_write() && r.resource == "statefulsets");
    let earlier_writes = log
        .iter()
        .filter(|r| r.user_agent == agent && r.is_write() && r.resource != "leases")
        .filter(|r| r.received.is_some_and(|t| t < killed_at))
        .count();
    let show = |d: Option<Duration>| d.map_or("not within 600 s".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
    let show_s = |d: Option<String>| d.unwrap_or_else(|| "none".into());

    println!();
    println!("leader failover: {count} full nodes Running under {leader} (two replicas, 15 s Lease)");
    println!("  nodes Running after        {:.1} s", running.as_secs_f64());
    println!(
        "  then {leader} killed with SIGKILL and every node's image patched (sei:v1 -> sei:v2, took {:.1} s)",
        patched.as_secs_f64()
    );
    println!(
        "  from the SIGKILL to (audit: when the API server received it; polled: seen by 0.1 s polls, later under load)"
    );
    let rows = [
        (format!("{follower} holding the Lease (polled)"), show(took_lease)),
        (format!("{follower}'s first write (audit)"), show_s(first_write)),
        ("its first write not on the Lease (audit)".to_string(), show_s(first_other_write)),
        ("its first StatefulSet write (audit)".to_string(), show_s(first_sts_write)),
        ("first StatefulSet on sei:v2 (polled)".to_string(), show(first_sts)),
        (format!("all {count} StatefulSets on sei:v2 (polled)"), show(all_sts)),
        ("all nodes report sei:v2 and Running (polled)".to_string(), show(all_done)),
    ];
    for (what, when) in rows {
        println!("    {what:<46} {when}");
    }
    println!("  writes by {follower} other than the Lease before the kill: {earlier_writes}");
    println!("  load average               {load_before} before, {} after", loadavg());
    for (_, mut p) in replicas {
        p.stop(Duration::from_secs(5));
    }
    drop(runner);
    drop(cp);
}

fn main() {
    let unreachable_mode = flag("--unreachable-sidecars");
    let failover_mode = flag("--failover");
    let fleet_count: Option<usize> = arg("--fleets").map(|n| n.parse().expect("--fleets D"));
    let modes = [unreachable_mode, failover_mode, fleet_count.is_some()].iter().filter(|m| **m).count();
    assert!(modes <= 1, "choose one of --unreachable-sidecars, --failover and --fleets");
    let default_nodes = if unreachable_mode {
        1000
    } else if fleet_count.is_some() {
        10
    } else {
        100
    };
    let count: usize = arg("--nodes").map(|n| n.parse().expect("--nodes N")).unwrap_or(default_nodes);
    let duration =
        Duration::from_secs(arg("--duration").map(|s| s.parse().expect("--duration SECONDS")).unwrap_or(180));
    let mut dir = tempfile::tempdir().unwrap();
    // Like the control plane's own directory: kept for reading the logs afterwards.
    if std::env::var_os("SEI_TESTENV_KEEP").is_some() {
        dir.disable_cleanup(true);
        eprintln!("keeping {}", dir.path().display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if unreachable_mode {
        runtime.block_on(unreachable(count, duration, dir.path()));
    } else if failover_mode {
        runtime.block_on(failover(count, dir.path()));
    } else if let Some(d) = fleet_count {
        runtime.block_on(fleets(d, count, dir.path()));
    } else {
        runtime.block_on(bench(count, dir.path()));
    }
}
