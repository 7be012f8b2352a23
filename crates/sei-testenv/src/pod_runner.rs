//! The local pod runner: pods run no containers on the simulated cluster, so this runs the
//! sidecar of every pod that has one as a local `seictl serve` process, with the pod's
//! own command, arguments and environment, and publishes where each listens in the file
//! the operator's `SEI_SIDECAR_ADDRESSES` setting names. Each pod's seid is a `seid-sim`
//! process (a [`crate::SeidSimulator`] following the runner's live chain) that reports the
//! pod's own node ID, reachable from the other sidecars by the pod's DNS names through the
//! [`PeerNetwork`]; the sidecar finds it through a pid file and can stop it with SIGTERM.
//!
//! Job pods whose container runs `seictl workload ...` really run too (kwok completes
//! every other Job pod at once): the runner starts that command with the pod's
//! environment, reaching pods by DNS name through the same network, and writes the exit
//! code, phase and termination message back as a kubelet would.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client, ResourceExt};

use crate::Error;
use crate::peer_network::{PeerNetwork, pod_dns_names};
use crate::process::Process;
use crate::seid_sim::LiveChain;

const SIDECAR: &str = "sei-sidecar";
/// Where the pod mounts the data volume, standing for the local home.
const POD_HOME: &str = "/sei";

struct Running {
    _process: Process,
    _seid: Process,
    dns_names: Vec<String>,
    /// `namespace/node`.
    key: String,
    url: String,
}

/// Stops every sidecar when dropped.
pub struct PodRunner {
    shared: Arc<Shared>,
    pub address_file: PathBuf,
    /// The chain every simulated seid follows (it started with the runner).
    pub chain: LiveChain,
    task: tokio::task::JoinHandle<()>,
    running: Arc<Mutex<HashMap<String, Running>>>,
}

struct Shared {
    client: Client,
    seictl: PathBuf,
    /// `seid-sim`, built beside `seictl`.
    seid_sim: PathBuf,
    chain: LiveChain,
    /// How long a pod's seid takes to catch up with the chain (milliseconds).
    catch_up_ms: std::sync::atomic::AtomicU64,
    dir: PathBuf,
    extra_env: Vec<(String, String)>,
    address_file: PathBuf,
    running: Arc<Mutex<HashMap<String, Running>>>,
    network: PeerNetwork,
    /// Pods (by UID) being started: the watch and a retry may both start a pod, and two
    /// sidecars must never share a home.
    starting: Mutex<std::collections::HashSet<String>>,
    /// Workload pods (by UID) started, with the task that runs each.
    workloads: Mutex<HashMap<String, tokio::task::AbortHandle>>,
}

/// The `seictl` arguments of a Job pod's workload container, if it runs `seictl workload`.
fn workload_args(pod: &Pod) -> Option<Vec<String>> {
    let owned_by_job = pod.metadata.owner_references.iter().flatten().any(|o| o.kind == "Job");
    let container = pod.spec.as_ref()?.containers.first()?;
    let command = container.command.clone().unwrap_or_default();
    if !owned_by_job || command.get(1).map(String::as_str) != Some("workload") {
        return None;
    }
    Some(command.into_iter().skip(1).chain(container.args.clone().unwrap_or_default()).collect())
}

/// The value of `metadata.annotations['k']`, `metadata.name`, ... for a `fieldRef`.
fn field_ref(pod: &Pod, path: &str) -> Option<String> {
    if let Some(key) = path.strip_prefix("metadata.annotations['").and_then(|k| k.strip_suffix("']")) {
        return pod.annotations().get(key).cloned();
    }
    if let Some(key) = path.strip_prefix("metadata.labels['").and_then(|k| k.strip_suffix("']")) {
        return pod.labels().get(key).cloned();
    }
    match path {
        "metadata.name" => Some(pod.name_any()),
        "metadata.namespace" => pod.namespace(),
        "metadata.uid" => pod.uid(),
        _ => None,
    }
}

/// Waits until `process` accepts connections on `port`, and is still running then: a
/// child that could not bind (the port was taken meanwhile) exits, and whatever else
/// listens there must not be mistaken for it.
async fn wait_listening(process: &mut Process, port: u16) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let gone = |p: &mut Process| {
        p.exited().map(|status| {
            Error::Setup(format!("{} exited ({status}) before it listened on port {port}: {}", p.name(), p.log_tail(3)))
        })
    };
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Some(e) = gone(process) {
            return Err(e);
        }
        if tokio::time::Instant::now() > deadline {
            let log = process.log_path().display().to_string();
            return Err(Error::Setup(format!("{} did not listen on port {port}; see {log}", process.name())));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    gone(process).map_or(Ok(()), Err)
}

/// How long one attempt to start a pod's sidecar may take before it is retried.
const START_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

impl Shared {
    fn publish(&self) {
        let map: BTreeMap<String, String> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|r| (r.key.clone(), r.url.clone()))
            .collect();
        let tmp = self.address_file.with_extension("tmp");
        if std::fs::write(&tmp, serde_json::to_vec(&map).expect("JSON")).is_ok() {
            let _ = std::fs::rename(&tmp, &self.address_file);
        }
    }

    async fn start(&self, pod: &Pod) -> Result<(), Error> {
        let uid = pod.uid().unwrap_or_default();
        if self.running.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&uid) {
            return Ok(());
        }
        // Whoever is starting it already retries on failure.
        if !self.starting.lock().unwrap_or_else(|p| p.into_inner()).insert(uid.clone()) {
            return Ok(());
        }
        // Bounded: a request sent while etcd is down can hang for minutes, and while it
        // does, every retry of this pod sees it "being started" and gives up (seen in CI: a
        // pod whose sidecar started 5.5 min after an etcd outage). A start cut short is
        // safe to repeat (its processes die with it).
        let started = tokio::time::timeout(START_LIMIT, self.start_once(pod, uid.clone()))
            .await
            .unwrap_or_else(|_| Err(Error::Setup(format!("starting the sidecar took over {START_LIMIT:?}"))));
        self.starting.lock().unwrap_or_else(|p| p.into_inner()).remove(&uid);
        started
    }

    /// Starts the pod's sidecar, trying again every 2 s (as a kubelet would, rather than
    /// only when the pod changes: a Secret it mounts may not exist yet) while that very pod
    /// is still there. An API server that cannot answer (an outage) is no answer: the
    /// watch has delivered this pod's event already, so giving up then would leave it
    /// without a sidecar for good.
    async fn start_retrying(self: Arc<Self>, pod: Pod) {
        let Err(e) = self.start(&pod).await else { return };
        tracing::warn!(pod = %pod.name_any(), error = %e, "cannot start the sidecar; retrying");
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        for _ in 0..150 {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let current = match pods.get_opt(&pod.name_any()).await {
                Ok(current) => current,
                Err(_) => continue,
            };
            let same =
                current.as_ref().is_some_and(|p| p.uid() == pod.uid() && p.metadata.deletion_timestamp.is_none());
            if !same || self.start(&pod).await.is_ok() {
                break;
            }
        }
    }

    async fn start_once(&self, pod: &Pod, uid: String) -> Result<(), Error> {
        let spec = pod.spec.clone().unwrap_or_default();
        let Some(sidecar) = spec.init_containers.iter().flatten().find(|c| c.name == SIDECAR) else { return Ok(()) };
        let ns = pod.namespace().unwrap_or_default();
        let node = pod.labels().get("sei.io/node").cloned().unwrap_or_else(|| pod.name_any());
        // The home lives as long as the data volume does, like the PVC it stands for.
        let claim = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == "data")
            .and_then(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.clone())
            .unwrap_or_else(|| node.clone());
        let home = self.dir.join(&ns).join(format!("pvc-{claim}"));
        let pod_dir = self.dir.join(&ns).join(format!("pod-{uid}"));
        self.fresh_volume(&ns, &claim, &home).await?;
        std::fs::create_dir_all(&home).map_err(|e| Error::io(&home, e))?;
        std::fs::create_dir_all(&pod_dir).map_err(|e| Error::io(&pod_dir, e))?;
        // The bearer token from the pod's token Secret volume.
        let token_secret = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == "sidecar-token")
            .and_then(|v| v.secret.as_ref())
            .and_then(|s| s.secret_name.clone());
        let token_file = pod_dir.join("token");
        if let Some(name) = token_secret {
            let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
            let secret = secrets.get(&name).await?;
            let token = secret.data.and_then(|d| d.get("token").cloned()).map(|b| b.0).unwrap_or_default();
            std::fs::write(&token_file, token).map_err(|e| Error::io(&token_file, e))?;
        }
        self.place_secret_mounts(pod, &home).await?;
        let seid_port = crate::process::free_port()?;
        let pid_file = pod_dir.join("seid.pid");
        let _ = std::fs::remove_file(&pid_file);
        let mut seid_cmd = Command::new(&self.seid_sim);
        seid_cmd
            .arg("--home")
            .arg(&home)
            .args(["--port", &seid_port.to_string(), "--chain-epoch-ms", &self.chain.epoch_ms.to_string()])
            .args(["--catch-up-ms", &self.catch_up_ms.load(std::sync::atomic::Ordering::SeqCst).to_string()])
            .arg("--pid-file")
            .arg(&pid_file);
        let mut seid = Process::spawn(&format!("seid-{node}"), seid_cmd, &pod_dir.join("seid.log"))?;
        wait_listening(&mut seid, seid_port).await?;
        let hostname = spec.hostname.clone().unwrap_or_else(|| pod.name_any());
        let dns_names = pod_dns_names(&hostname, spec.subdomain.as_deref().unwrap_or(&node), &ns);
        let port = crate::process::free_port()?;
        let args: Vec<String> =
            sidecar.command.iter().flatten().skip(1).chain(sidecar.args.iter().flatten()).cloned().collect();
        let mut cmd = Command::new(&self.seictl);
        cmd.args(&args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for e in sidecar.env.iter().flatten() {
            cmd.env(&e.name, e.value.clone().unwrap_or_default());
        }
        cmd.env("SEI_HOME", &home)
            .env("SEI_SIDECAR_PORT", port.to_string())
            .env("SEI_SIDECAR_BIND", "127.0.0.1")
            .env("SEI_SIDECAR_TOKEN_FILE", &token_file)
            .env("SEI_LOG_FORMAT", "text")
            .env("SEI_NODE_RPC", format!("http://127.0.0.1:{seid_port}"))
            .env("SEI_SEID_PID_FILE", &pid_file)
            .env("HTTP_PROXY", self.network.url())
            .env("NO_PROXY", "127.0.0.1,localhost");
        cmd.envs(self.extra_env.iter().cloned());
        let mut process = Process::spawn(&format!("sidecar-{node}"), cmd, &pod_dir.join("sidecar.log"))?;
        wait_listening(&mut process, port).await?;
        self.network.add(&dns_names, seid_port);
        let key = format!("{ns}/{node}");
        let url = format!("http://127.0.0.1:{port}");
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uid, Running { _process: process, _seid: seid, dns_names, key, url });
        self.publish();
        Ok(())
    }

    /// A claim deleted and created again under the same name is a new, empty volume: the
    /// home of the earlier claim is wiped (it is recognised by the claim's UID).
    async fn fresh_volume(&self, ns: &str, claim: &str, home: &Path) -> Result<(), Error> {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), ns);
        let Some(uid) = pvcs.get_opt(claim).await?.and_then(|p| p.uid()) else { return Ok(()) };
        let parent = home.parent().unwrap_or(home);
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let marker = parent.join(format!("pvc-{claim}.uid"));
        let known = std::fs::read_to_string(&marker).ok();
        if known.as_deref() != Some(uid.as_str()) {
            if known.is_some() {
                std::fs::remove_dir_all(home).or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(Error::io(home, e)),
                })?;
            }
            std::fs::write(&marker, &uid).map_err(|e| Error::io(&marker, e))?;
        }
        Ok(())
    }

    /// Secret files the pod mounts into seid's home (a validator's keys) are copied into
    /// the local home, where seid would see them.
    async fn place_secret_mounts(&self, pod: &Pod, home: &Path) -> Result<(), Error> {
        let spec = pod.spec.as_ref().expect("a pod has a spec");
        let ns = pod.namespace().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
        for mount in spec.containers.iter().flat_map(|c| c.volume_mounts.iter().flatten()) {
            let Some(relative) = mount.mount_path.strip_prefix(&format!("{POD_HOME}/")) else { continue };
            let Some(key) = &mount.sub_path else { continue };
            let volume = spec.volumes.iter().flatten().find(|v| v.name == mount.name);
            let Some(name) = volume.and_then(|v| v.secret.as_ref()).and_then(|s| s.secret_name.clone()) else {
                continue;
            };
            let data = secrets.get(&name).await?.data.unwrap_or_default();
            let Some(bytes) = data.get(key) else { continue };
            let path = home.join(relative);
            std::fs::create_dir_all(path.parent().unwrap_or(home)).map_err(|e| Error::io(&path, e))?;
            std::fs::write(&path, &bytes.0).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    /// Runs a workload pod's command to its end and records the outcome in the pod's
    /// status. Its emptyDir mounts are directories of the pod's own.
    async fn run_workload(self: &Arc<Self>, pod: &Pod, args: Vec<String>) -> Result<(), Error> {
        let uid = pod.uid().unwrap_or_default();
        let mut workloads = self.workloads.lock().unwrap_or_else(|p| p.into_inner());
        if workloads.contains_key(&uid) {
            return Ok(());
        }
        let ns = pod.namespace().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let container = spec.containers[0].clone();
        let pod_dir = self.dir.join(&ns).join(format!("pod-{uid}"));
        let empty_dirs: Vec<&str> =
            spec.volumes.iter().flatten().filter(|v| v.empty_dir.is_some()).map(|v| v.name.as_str()).collect();
        let mut mounts = Vec::new();
        for m in container.volume_mounts.iter().flatten().filter(|m| empty_dirs.contains(&m.name.as_str())) {
            let local = pod_dir.join("volumes").join(&m.name);
            std::fs::create_dir_all(&local).map_err(|e| Error::io(&local, e))?;
            mounts.push((m.mount_path.clone(), local));
        }
        let mut cmd = tokio::process::Command::new(&self.seictl);
        cmd.args(&args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for e in container.env.iter().flatten() {
            let value = match (&e.value, e.value_from.as_ref().and_then(|v| v.field_ref.as_ref())) {
                (Some(v), _) => v.clone(),
                (None, Some(f)) => field_ref(pod, &f.field_path).unwrap_or_default(),
                (None, None) => String::new(),
            };
            // A path inside a mount is the same path in the mount's local directory.
            let value = mounts
                .iter()
                .find_map(|(path, local)| {
                    value.strip_prefix(path.as_str()).map(|rest| format!("{}{rest}", local.display()))
                })
                .unwrap_or(value);
            cmd.env(&e.name, value);
        }
        cmd.env("HTTP_PROXY", self.network.url()).env("NO_PROXY", "127.0.0.1,localhost");
        cmd.envs(self.extra_env.iter().cloned());
        let log_path = pod_dir.join("workload.log");
        let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
        let err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
        cmd.stdout(log).stderr(err).kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| Error::io(&self.seictl, e))?;
        let started = k8s_openapi::jiff::Timestamp::now();
        let (shared, pod) = (self.clone(), pod.clone());
        let task = tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => status.code().unwrap_or(137),
                Err(_) => 137,
            };
            // FallbackToLogsOnError: a failed container's message is the end of its log.
            let message = if code == 0 {
                String::new()
            } else {
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                text[text.len().saturating_sub(2048)..].to_string()
            };
            let status = serde_json::json!({"status": {
                "phase": if code == 0 { "Succeeded" } else { "Failed" },
                "containerStatuses": [{
                    "name": container.name, "image": container.image, "imageID": "", "ready": false,
                    "restartCount": 0, "started": false,
                    "state": {"terminated": {
                        "exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                        "message": message, "startedAt": started.to_string(),
                        "finishedAt": k8s_openapi::jiff::Timestamp::now().to_string(),
                    }},
                }],
            }});
            let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &pod.namespace().unwrap_or_default());
            for _ in 0..30 {
                let patch = kube::api::Patch::Merge(&status);
                if pods.patch_status(&pod.name_any(), &kube::api::PatchParams::default(), &patch).await.is_ok() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        workloads.insert(uid, task.abort_handle());
        Ok(())
    }

    fn stop(&self, pod: &Pod) {
        let uid = pod.uid().unwrap_or_default();
        if let Some(task) = self.workloads.lock().unwrap_or_else(|p| p.into_inner()).remove(&uid) {
            task.abort();
        }
        let removed = self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&uid);
        if let Some(removed) = removed {
            self.network.remove(&removed.dns_names);
            self.publish();
        }
    }
}

impl PodRunner {
    /// Watches pods in `namespace` and runs their sidecars with `seictl` (the binary built
    /// from this workspace), each beside its own `seid-sim` process (built beside `seictl`).
    /// `extra_env` is added to
    /// every sidecar last, so it may override what the runner sets. State lives under `dir`.
    pub async fn start(
        client: Client,
        namespace: &str,
        seictl: PathBuf,
        dir: &Path,
        extra_env: Vec<(String, String)>,
    ) -> Result<PodRunner, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let address_file = dir.join("sidecar-addresses.json");
        std::fs::write(&address_file, "{}").map_err(|e| Error::io(&address_file, e))?;
        let running = Arc::new(Mutex::new(HashMap::new()));
        let network = PeerNetwork::start().await.map_err(|e| Error::io(dir, e))?;
        let seid_sim = seictl.with_file_name("seid-sim");
        if !seid_sim.exists() {
            return Err(Error::Setup(format!(
                "{} not found: build it beside seictl (cargo build -p sei-testenv --bin seid-sim)",
                seid_sim.display()
            )));
        }
        let chain = LiveChain::starting_now();
        let shared = Arc::new(Shared {
            client: client.clone(),
            seictl,
            seid_sim,
            chain,
            catch_up_ms: (crate::seid_sim::CATCH_UP.as_millis() as u64).into(),
            dir: dir.to_path_buf(),
            extra_env,
            address_file: address_file.clone(),
            running: running.clone(),
            network,
            starting: Mutex::default(),
            workloads: Mutex::default(),
        });
        let shared_handle = shared.clone();
        let pods: Api<Pod> = Api::namespaced(client, namespace);
        let task = tokio::spawn(async move {
            let mut events = watcher(pods, watcher::Config::default()).default_backoff().boxed();
            while let Some(event) = events.next().await {
                match event {
                    Ok(Event::Apply(pod) | Event::InitApply(pod)) => {
                        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                        let workload = workload_args(&pod);
                        if pod.metadata.deletion_timestamp.is_some() {
                            shared.stop(&pod);
                        } else if let (true, Some(args)) = (running, workload) {
                            if let Err(e) = shared.run_workload(&pod, args).await {
                                tracing::warn!(pod = %pod.name_any(), error = %e, "cannot run the workload");
                            }
                        } else if running {
                            // Off the watch loop: one pod's slow start holds up no other.
                            tokio::spawn(shared.clone().start_retrying(pod));
                        }
                    }
                    Ok(Event::Delete(pod)) => shared.stop(&pod),
                    _ => {}
                }
            }
        });
        Ok(PodRunner { shared: shared_handle, address_file, chain, task, running })
    }

    /// How long the seid of a pod started from now on takes to catch up with the chain.
    pub fn set_catch_up(&self, catch_up: std::time::Duration) {
        self.shared.catch_up_ms.store(catch_up.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }

    /// Node keys (`namespace/name`) with a running sidecar.
    pub fn sidecars(&self) -> Vec<String> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).values().map(|r| r.key.clone()).collect()
    }
}

impl Drop for PodRunner {
    fn drop(&mut self) {
        self.task.abort();
        self.running.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
