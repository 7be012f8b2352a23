//! Starting, using and stopping one local control plane.

use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::binaries::Binaries;
use crate::certs::{self, Pki};
use crate::manifests::apply_manifests;
use crate::process::{Process, free_port, pid_alive, tail};
use crate::{Error, kwok};

mod faults;
pub use faults::Component;

/// What to run besides etcd and kube-apiserver.
#[derive(Debug, Clone)]
pub struct Options {
    /// kube-controller-manager (garbage collection, StatefulSet, Job, PV binding, service
    /// accounts) and kube-scheduler.
    pub controllers: bool,
    /// kwok with its pod, node and volume stages, and this many fake nodes.
    pub kwok_nodes: Option<usize>,
    /// Serve the API on this port instead of a free one.
    pub apiserver_port: Option<u16>,
    /// Parent of the run directory; defaults to `$TMPDIR/sei-testenv`.
    pub root_dir: Option<PathBuf>,
    /// Keep the run directory (logs, etcd data) after teardown.
    pub keep_dir: bool,
    /// Extra kube-apiserver flags (e.g. audit logging).
    pub apiserver_args: Vec<String>,
    /// Extra labels of the fake nodes (e.g. a node-pool label workloads select).
    pub node_labels: Vec<(String, String)>,
    /// Record every request in an audit log (see [`ControlPlane::audit`]).
    pub audit: bool,
}

impl Options {
    /// etcd and kube-apiserver only: enough for CRD, validation and apply tests.
    pub fn api_only() -> Self {
        Options {
            controllers: false,
            kwok_nodes: None,
            apiserver_port: None,
            root_dir: None,
            keep_dir: std::env::var_os("SEI_TESTENV_KEEP").is_some(),
            apiserver_args: Vec::new(),
            node_labels: Vec::new(),
            audit: false,
        }
    }

    /// Everything: controllers, scheduler and kwok with one fake node.
    pub fn full() -> Self {
        Options { controllers: true, kwok_nodes: Some(1), ..Self::api_only() }
    }
}

/// A running control plane. Dropping it stops every process and removes its directory.
#[derive(Debug)]
pub struct ControlPlane {
    dir: PathBuf,
    keep_dir: bool,
    kubeconfig: PathBuf,
    server: String,
    pki: Pki,
    /// In start order; stopped in reverse. Behind a lock so that fault injection
    /// ([`ControlPlane::stop_component`]) works on a shared `&ControlPlane` while other
    /// tasks use it; never held across an await.
    slots: Mutex<Vec<Slot>>,
}

/// One component: how it was started (to start it again the same way), the port it
/// serves, and its process while it runs.
#[derive(Debug)]
struct Slot {
    name: String,
    program: OsString,
    args: Vec<OsString>,
    port: Option<u16>,
    process: Option<Process>,
}

impl Slot {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        cmd
    }

    fn running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.exited().is_none())
    }
}

const READY_TIMEOUT: Duration = Duration::from_secs(120);

fn default_root() -> PathBuf {
    std::env::temp_dir().join("sei-testenv")
}

/// Removes run directories left by processes that were killed before they could clean up.
fn remove_stale_dirs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-")).and_then(|n| n.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok_and(|pid| !pid_alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn check_port(component: &str, port: u16) -> Result<(), Error> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::PortInUse { component: component.into(), port }),
    }
}

/// The error for a process that is not (or no longer) running, naming a port clash when
/// that is what its log says.
fn exited_error(process: &mut Process, port: Option<u16>) -> Option<Error> {
    let status = process.exited()?;
    let log = process.log_tail(30);
    if let Some(port) = port
        && log.contains("address already in use")
    {
        return Some(Error::PortInUse { component: process.name().into(), port });
    }
    let last = log.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    Some(Error::NotReady {
        component: process.name().into(),
        reason: format!("exited with {status}: {}", last.chars().take(300).collect::<String>()),
        log: process.log_path().into(),
    })
}

impl ControlPlane {
    /// Starts a control plane. With automatically chosen ports a start that loses a port
    /// race is retried.
    pub async fn start(options: Options) -> Result<ControlPlane, Error> {
        let binaries = Binaries::get()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&options, binaries).await {
                Err(Error::PortInUse { .. }) if options.apiserver_port.is_none() && attempt < 3 => {
                    continue;
                }
                result => return result,
            }
        }
    }

    async fn start_once(options: &Options, bin: &Binaries) -> Result<ControlPlane, Error> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let root = options.root_dir.clone().unwrap_or_else(default_root);
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        remove_stale_dirs(&root);
        let dir = root.join(format!("run-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["pki", "logs", "etcd"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| Error::io(&dir, e))?;
        }
        if let Some(port) = options.apiserver_port {
            check_port("kube-apiserver", port)?;
        }
        let pki = certs::generate(&dir.join("pki"))?;
        let apiserver_port = match options.apiserver_port {
            Some(p) => p,
            None => free_port()?,
        };
        let server = format!("https://127.0.0.1:{apiserver_port}");
        let kubeconfig = dir.join("kubeconfig");
        write_kubeconfig(&kubeconfig, &server, &pki)?;

        // From here on, dropping `cp` cleans up whatever was started.
        let mut cp =
            ControlPlane { dir, keep_dir: options.keep_dir, kubeconfig, server, pki, slots: Mutex::new(Vec::new()) };

        let (etcd_port, peer_port) = (free_port()?, free_port()?);
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut etcd = Command::new(&bin.etcd);
        etcd.arg("--name=default")
            .arg(format!("--data-dir={}", cp.dir.join("etcd").display()))
            .arg(format!("--listen-client-urls={etcd_url}"))
            .arg(format!("--advertise-client-urls={etcd_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=default={peer_url}"))
            .arg("--unsafe-no-fsync")
            .arg("--log-level=warn");
        cp.spawn("etcd", etcd, Some(etcd_port))?;
        cp.wait_etcd().await?;

        let mut apiserver = Command::new(&bin.kube_apiserver);
        let pki = &cp.pki;
        apiserver
            .arg(format!("--etcd-servers={etcd_url}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            .arg(format!("--secure-port={apiserver_port}"))
            .arg(format!("--cert-dir={}", cp.dir.join("pki").display()))
            .arg(format!("--tls-cert-file={}", pki.server_cert.display()))
            .arg(format!("--tls-private-key-file={}", pki.server_key.display()))
            .arg(format!("--client-ca-file={}", pki.ca_cert.display()))
            .arg(format!("--service-account-key-file={}", pki.service_account_pub.display()))
            .arg(format!("--service-account-signing-key-file={}", pki.service_account_key.display()))
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            .arg("--service-cluster-ip-range=10.0.0.0/16")
            .arg("--authorization-mode=RBAC")
            .arg("--allow-privileged=true")
            .arg("--enable-priority-and-fairness=false")
            .arg("--profiling=false")
            // A real node's kubelet is reached (logs, exec) at its InternalIP; its
            // hostname is not in any DNS here.
            .arg("--kubelet-preferred-address-types=InternalIP")
            .arg("--v=1")
            .args(&options.apiserver_args);
        if options.audit {
            let policy = cp.dir.join("audit-policy.yaml");
            std::fs::write(&policy, crate::audit::POLICY).map_err(|e| Error::io(&policy, e))?;
            apiserver
                .arg(format!("--audit-policy-file={}", policy.display()))
                .arg(format!("--audit-log-path={}", cp.audit_log().display()))
                .arg("--audit-log-format=json")
                .arg("--audit-log-mode=blocking")
                // The default rotates at 100 MB, and readers expect one file.
                .arg("--audit-log-maxsize=1000000");
        }
        cp.spawn("kube-apiserver", apiserver, Some(apiserver_port))?;
        cp.wait_apiserver().await?;

        if options.controllers {
            let kubeconfig = cp.kubeconfig.display().to_string();
            let pki = &cp.pki;
            let mut kcm = Command::new(&bin.kube_controller_manager);
            kcm.arg(format!("--kubeconfig={kubeconfig}"))
                .arg("--secure-port=0")
                .arg("--leader-elect=false")
                .arg("--use-service-account-credentials=false")
                .arg(format!("--service-account-private-key-file={}", pki.service_account_key.display()))
                .arg(format!("--root-ca-file={}", pki.ca_cert.display()))
                .arg(format!("--cluster-signing-cert-file={}", pki.ca_cert.display()))
                .arg(format!("--cluster-signing-key-file={}", pki.ca_key.display()))
                .arg("--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller")
                .arg("--concurrent-gc-syncs=5")
                // kwok renews its fake nodes' leases slowly after an API-server outage; a
                // 20 s outage made every node NotReady (and its pods unschedulable) with
                // the default 50 s. Kubelets renew within seconds; this stands for that.
                .arg("--node-monitor-grace-period=2m")
                .arg("--v=1");
            cp.spawn("kube-controller-manager", kcm, None)?;
            let mut scheduler = Command::new(&bin.kube_scheduler);
            scheduler
                .arg(format!("--kubeconfig={kubeconfig}"))
                .arg(format!("--authentication-kubeconfig={kubeconfig}"))
                .arg(format!("--authorization-kubeconfig={kubeconfig}"))
                .arg("--secure-port=0")
                .arg("--leader-elect=false")
                .arg("--v=1");
            cp.spawn("kube-scheduler", scheduler, None)?;
        }

        if let Some(nodes) = options.kwok_nodes {
            let client = cp.client().await?;
            let storage_class =
                std::fs::read_to_string(&bin.kwok_storage_class).map_err(|e| Error::io(&bin.kwok_storage_class, e))?;
            apply_manifests(&client, &storage_class).await?;
            let stages_text = std::fs::read_to_string(&bin.kwok_stages).map_err(|e| Error::io(&bin.kwok_stages, e))?;
            let stages = cp.dir.join("kwok-stages.yaml");
            std::fs::write(&stages, kwok::stages(&stages_text)?).map_err(|e| Error::io(&stages, e))?;
            let mut kwok = Command::new(&bin.kwok);
            kwok.arg(format!("--kubeconfig={}", cp.kubeconfig.display()))
                .arg(format!("--config={}", stages.display()))
                .arg("--manage-all-nodes=false")
                .arg(format!(
                    "--manage-nodes-with-annotation-selector={}={}",
                    kwok::FAKE_NODE_ANNOTATION.0,
                    kwok::FAKE_NODE_ANNOTATION.1
                ))
                .arg("--cidr=10.244.0.0/16")
                .arg("--node-ip=127.0.0.1")
                .arg("--node-lease-duration-seconds=40");
            cp.spawn("kwok", kwok, None)?;
            kwok::create_fake_nodes(&client, nodes, &options.node_labels, READY_TIMEOUT)
                .await
                .map_err(|e| cp.annotate("kwok", e))?;
        }

        if options.controllers {
            cp.wait_default_service_account().await?;
        }
        Ok(cp)
    }

    fn spawn(&mut self, name: &str, cmd: Command, port: Option<u16>) -> Result<(), Error> {
        let mut slot = Slot {
            name: name.to_string(),
            program: cmd.get_program().to_os_string(),
            args: cmd.get_args().map(|a| a.to_os_string()).collect(),
            port,
            process: None,
        };
        slot.process = Some(Process::spawn(name, cmd, &self.log_path(name))?);
        self.slots.get_mut().unwrap_or_else(|p| p.into_inner()).push(slot);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The exit error of `component` if it is not running.
    fn check_exited(&self, component: &str, port: Option<u16>) -> Option<Error> {
        let mut slots = self.lock();
        let slot = slots.iter_mut().find(|s| s.name == component)?;
        exited_error(slot.process.as_mut()?, port)
    }

    /// Adds the log tail of `component` to a readiness error, or reports its exit.
    fn annotate(&self, component: &str, err: Error) -> Error {
        if let Some(exited) = self.check_exited(component, None) {
            return exited;
        }
        if self.lock().iter().any(|s| s.name == component) {
            return Error::NotReady {
                component: component.into(),
                reason: err.to_string(),
                log: self.log_path(component),
            };
        }
        err
    }

    fn port_of(&self, component: Component) -> Option<u16> {
        self.lock().iter().find(|s| s.name == component.name()).and_then(|s| s.port)
    }

    async fn wait_etcd(&self) -> Result<(), Error> {
        let name = Component::Etcd.name();
        let port = self.port_of(Component::Etcd).expect("etcd has a port");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(e) = self.check_exited(name, Some(port)) {
                return Err(e);
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::NotReady {
                    component: name.into(),
                    reason: format!("port {port} not open after {READY_TIMEOUT:?}"),
                    log: self.log_path(name),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the API server answers `/readyz` with OK (which includes its etcd check).
    async fn wait_apiserver(&self) -> Result<(), Error> {
        let name = Component::ApiServer.name();
        let port = self.port_of(Component::ApiServer);
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        let mut last;
        loop {
            if let Some(e) = self.check_exited(name, port) {
                return Err(e);
            }
            match tokio::time::timeout(Duration::from_secs(5), self.readyz()).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "no answer within 5 s".into(),
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::NotReady {
                    component: name.into(),
                    reason: format!("/readyz not OK after {READY_TIMEOUT:?}: {last}"),
                    log: self.log_path(name),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn readyz(&self) -> Result<(), Error> {
        let client = self.client().await?;
        let req = http::Request::get("/readyz").body(Vec::new()).map_err(|e| Error::Setup(e.to_string()))?;
        client.request_text(req).await?;
        Ok(())
    }

    /// The service-account controller creates `default` in every namespace; pods cannot be
    /// admitted before it exists, so it marks the controllers as working.
    async fn wait_default_service_account(&self) -> Result<(), Error> {
        let client = self.client().await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, "default");
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(e) = self.check_exited("kube-controller-manager", None) {
                return Err(e);
            }
            if accounts.get_opt("default").await?.is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(self.annotate(
                    "kube-controller-manager",
                    Error::Setup("the default ServiceAccount was never created".into()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Path of an admin kubeconfig for this control plane.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The cluster CA's certificate (what signs the API server's and the admin's).
    pub fn ca_cert_path(&self) -> &Path {
        &self.pki.ca_cert
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The run directory (certificates, logs, etcd data).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PIDs of the running components, by name (a stopped component is left out).
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.lock().iter().filter_map(|s| Some((s.name.clone(), s.process.as_ref()?.pid()))).collect()
    }

    /// Log file of a component (`etcd`, `kube-apiserver`, `kwok`, ...).
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{component}.log"))
    }

    /// The last lines of every component's log, for failure reports.
    pub fn log_tails(&self, lines: usize) -> String {
        self.lock().iter().map(|s| format!("==> {} <==\n{}\n", s.name, tail(&self.log_path(&s.name), lines))).collect()
    }

    /// A new admin client. Build one per async runtime: a client is tied to the runtime
    /// that created it.
    pub async fn client(&self) -> Result<Client, Error> {
        Ok(Client::try_from(self.config().await?)?)
    }

    /// The admin client configuration, to build a client of one's own (e.g. with its own
    /// user agent, to tell its requests apart in the audit log).
    pub async fn config(&self) -> Result<Config, Error> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| Error::Setup(format!("reading {}: {e}", self.kubeconfig.display())))?;
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| Error::Setup(format!("kubeconfig {}: {e}", self.kubeconfig.display())))
    }

    /// Where the audit log is written when [`Options::audit`] is set.
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// Every request the API server has answered so far, once each, in order (needs
    /// [`Options::audit`]).
    pub fn audit(&self) -> Result<Vec<crate::AuditRecord>, Error> {
        crate::audit::read(&self.audit_log())
    }

    /// A `kubectl` command already pointed at this control plane.
    pub fn kubectl(&self) -> Result<Command, Error> {
        let mut cmd = Command::new(&Binaries::get()?.kubectl);
        cmd.env("KUBECONFIG", &self.kubeconfig);
        Ok(cmd)
    }

    /// Stops every process and removes the run directory (unless asked to keep it).
    pub fn stop(self) {
        drop(self)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("control plane logs ({}):\n{}", self.dir.display(), self.log_tails(20));
        }
        // Nothing here outlives the run, so there is no state worth a graceful shutdown.
        let slots = self.slots.get_mut().unwrap_or_else(|p| p.into_inner());
        while let Some(slot) = slots.pop() {
            if let Some(mut p) = slot.process {
                p.stop(Duration::ZERO);
            }
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn write_kubeconfig(path: &Path, server: &str, pki: &Pki) -> Result<(), Error> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sei-testenv\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: admin\n  user:\n    client-certificate: {cert}\n    client-key: {key}\ncontexts:\n- name: sei-testenv\n  context:\n    cluster: sei-testenv\n    user: admin\n    namespace: default\ncurrent-context: sei-testenv\n",
        ca = pki.ca_cert.display(),
        cert = pki.admin_cert.display(),
        key = pki.admin_key.display(),
    );
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// One control plane per test process, started on first use with `options` and torn
/// down (processes killed, directory removed) when the process exits. Tests share it and
/// isolate themselves with their own namespaces; each builds its own [`Client`].
pub async fn shared(options: Options) -> Result<&'static ControlPlane, Error> {
    let cp = SHARED.get_or_try_init(|| ControlPlane::start(options)).await?;
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| register_exit_hook(cleanup_shared));
    Ok(cp)
}

static SHARED: tokio::sync::OnceCell<ControlPlane> = tokio::sync::OnceCell::const_new();

extern "C" fn cleanup_shared() {
    if let Some(cp) = SHARED.get() {
        // A lock held by a thread at exit is never released; the parent-death signal
        // still ends the processes then.
        if let Ok(slots) = cp.slots.try_lock() {
            for p in slots.iter().rev().filter_map(|s| s.process.as_ref()) {
                crate::process::kill_group_now(p.pid());
            }
        }
        if !cp.keep_dir {
            let _ = std::fs::remove_dir_all(&cp.dir);
        }
    }
}

#[allow(unsafe_code)]
fn register_exit_hook(hook: extern "C" fn()) {
    // SAFETY: registering a plain function with the C runtime; it runs once at exit.
    unsafe {
        libc::atexit(hook);
    }
}
