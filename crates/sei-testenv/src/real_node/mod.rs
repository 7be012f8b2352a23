//! A real node beside the fake ones: containerd, kubelet and kube-proxy in a network
//! namespace of their own, pods on a bridge network, cluster DNS from CoreDNS, and images
//! built from the workspace's binaries (no registry). It registers as a Node tainted and
//! labelled with its own node pool, so only workloads that choose it land on it.
//!
//! One real node per control plane: kube-proxy programs every Service of the cluster.
//! Several test binaries run nodes side by side, each in its own slot (addresses, names,
//! cgroups); a slot a killed run left behind is cleaned before it is reused.

mod agent;
mod config;
mod host;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

use crate::images::{Image, parse_dockerfile};
use crate::process::{Process, tail};
use crate::{ControlPlane, Error, apply_manifests};

pub use agent::PROVISIONER;
use config::Layout;
use host::{Host, Slot};

/// The real node's pool: its `karpenter.sh/nodepool` label and its taint's value.
pub const REAL_NODE_POOL: &str = "real";
/// The key of the real node's taint (`sei.io/node-pool=real:NoSchedule`).
pub const REAL_NODE_TAINT_KEY: &str = "sei.io/node-pool";
/// The StorageClass whose claims become `local` volumes on the real node.
pub const REAL_STORAGE_CLASS: &str = "sei-real-local";
/// The pod sandbox image (the workspace's `pod-pause`).
pub const PAUSE_IMAGE: &str = "sei-testenv.local/pause:1";
/// Names the stand-in seid image is imported under unless told otherwise: the images the
/// tests and the demo's samples name.
pub const SEID_IMAGES: &[&str] = &["sei:v1", "sei:v2", "ghcr.io/sei-protocol/sei:v6.3.0"];

/// The operator's platform settings (its `SEI_*` environment) for workloads on the real
/// node: the simulated platform's, with the real node's pool, taint and StorageClass, and
/// requests small enough for a 2-core machine to hold a genesis ceremony.
pub fn real_platform() -> Vec<(&'static str, &'static str)> {
    crate::SIMULATED_PLATFORM
        .iter()
        .map(|&(key, value)| {
            let real = match key {
                "SEI_NODEPOOL_NAME" | "SEI_NODEPOOL_ARCHIVE" => REAL_NODE_POOL,
                "SEI_TOLERATION_KEY" => REAL_NODE_TAINT_KEY,
                k if k.starts_with("SEI_STORAGE_CLASS_") => REAL_STORAGE_CLASS,
                k if k.starts_with("SEI_RESOURCE_CPU_") => "10m",
                k if k.starts_with("SEI_RESOURCE_MEM_") => "32Mi",
                _ => value,
            };
            (key, real)
        })
        .collect()
}

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const READY: Duration = Duration::from_secs(180);

/// The programs a real node runs, installed or built by the `hack/` scripts.
#[derive(Debug, Clone)]
pub struct RealNodeTools {
    pub containerd: PathBuf,
    pub ctr: PathBuf,
    pub runc: PathBuf,
    pub cni_bin: PathBuf,
    pub bash: PathBuf,
    pub busybox: PathBuf,
    pub kubelet: PathBuf,
    pub kube_proxy: PathBuf,
    pub coredns: PathBuf,
    pub crictl: PathBuf,
}

impl RealNodeTools {
    /// Installs (Debian packages) and builds (Go modules) what is missing; fails with the
    /// reason a machine cannot run a real node (not Linux, not root, no cgroups).
    pub fn get() -> Result<RealNodeTools, Error> {
        let hack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hack");
        let out = Command::new("bash")
            .arg(hack.join("real-node.sh"))
            .output()
            .map_err(|e| Error::Setup(format!("hack/real-node.sh: {e}")))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Binaries(err.lines().last().unwrap_or("hack/real-node.sh failed").to_string()));
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let get = |k: &str| -> Result<PathBuf, Error> {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(PathBuf::from)
                .ok_or_else(|| Error::Setup(format!("hack/real-node.sh printed no {k}= line")))
        };
        let k8s = crate::Binaries::get()?.kubectl.parent().expect("kubectl has a directory").to_path_buf();
        Ok(RealNodeTools {
            containerd: get("containerd")?,
            ctr: get("ctr")?,
            runc: get("runc")?,
            cni_bin: get("cni")?,
            bash: get("bash")?,
            busybox: get("busybox")?,
            kubelet: k8s.join("kubelet"),
            kube_proxy: k8s.join("kube-proxy"),
            coredns: crate::tool("coredns")?,
            crictl: crate::tool("crictl")?,
        })
    }
}

/// What to run on the node.
#[derive(Debug, Clone)]
pub struct RealNodeOptions {
    /// Where the workspace's binaries are (`target/debug`): `seictl`, `seid-sim`,
    /// `pod-pause`.
    pub bin_dir: PathBuf,
    /// Names the stand-in seid image is imported under.
    pub seid_images: Vec<String>,
}

impl RealNodeOptions {
    pub fn new(bin_dir: impl Into<PathBuf>) -> Self {
        RealNodeOptions { bin_dir: bin_dir.into(), seid_images: SEID_IMAGES.iter().map(|s| s.to_string()).collect() }
    }
}

/// A running real node. Dropping it stops its pods and programs and removes its
/// namespace, cgroups, mounts and directory.
pub struct RealNode {
    name: String,
    host: Host,
    dir: PathBuf,
    tools: RealNodeTools,
    address_file: PathBuf,
    /// Stopped in reverse order.
    processes: Vec<Process>,
    agent: Option<agent::Agent>,
    _slot: Slot,
}

impl std::fmt::Debug for RealNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealNode").field("name", &self.name).field("dir", &self.dir).finish()
    }
}

/// A short image name as containerd's CRI looks it up (`sei:v1` is
/// `docker.io/library/sei:v1`).
pub fn normalized_image(name: &str) -> String {
    let first = name.split('/').next().unwrap_or("");
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let named = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    if named.rsplit('/').next().is_some_and(|last| last.contains(':') || last.contains('@')) {
        named
    } else {
        format!("{named}:latest")
    }
}

/// The images a real node runs, built from the workspace's binaries: the pod sandbox, the
/// sidecar (from `images/seictl.Dockerfile`, so the two cannot drift) and a stand-in seid
/// (`seid-sim` as `seid`, with the shells and tools the operator's scripts call).
pub fn workspace_images(tools: &RealNodeTools, options: &RealNodeOptions) -> Result<Vec<Image>, Error> {
    let bin = &options.bin_dir;
    let mut pause = Image::new(&[PAUSE_IMAGE]).binary(bin.join("pod-pause"), "/pause")?;
    pause.entrypoint = vec!["/pause".into()];
    pause.user = Some("65535:65535".into());

    let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../images/seictl.Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).map_err(|e| Error::io(&dockerfile, e))?;
    let sidecar_name = format!("ghcr.io/sei-k8s/seictl:{}", env!("CARGO_PKG_VERSION"));
    let sidecar = Image::from_dockerfile(&[&sidecar_name], &parse_dockerfile(&text)?, bin)?;

    let mut seid = Image::new(&[])
        .binary(bin.join("seid-sim"), "/usr/bin/seid")?
        .binary(&tools.bash, "/bin/bash")?
        .binary(&tools.busybox, "/bin/busybox")?;
    for applet in [
        "sh", "[", "test", "cat", "cp", "echo", "env", "grep", "head", "id", "kill", "ls", "mkdir", "mv", "ps", "rm",
        "sleep", "tail", "tar", "true", "false", "wget", "nc", "wc", "sed", "awk", "chmod", "touch", "hostname",
    ] {
        seid = seid.link(&format!("/bin/{applet}"), "busybox");
    }
    // One image per name, told apart by its configuration: a runtime reports an image by
    // its ID, so `sei:v1` and `sei:v2` must not be the same image.
    let mut images = vec![pause, sidecar];
    for name in &options.seid_images {
        let mut image = seid.clone();
        image.names = vec![normalized_image(name)];
        image.env.push(format!("SEI_STAND_IN_IMAGE={name}"));
        images.push(image);
    }
    Ok(images)
}

fn root_dir() -> PathBuf {
    std::env::temp_dir().join("sei-real-nodes")
}

impl RealNode {
    /// Starts a node of `cp` (which must run the controllers) and waits until it is Ready.
    pub async fn start(cp: &ControlPlane, options: RealNodeOptions) -> Result<RealNode, Error> {
        let tools = RealNodeTools::get()?;
        let images = workspace_images(&tools, &options)?;
        let slot = host::claim_slot()?;
        let host = Host::of(slot.k);
        let dir = root_dir().join(format!("node-{}", slot.k));
        let name = format!("real-node-{}", slot.k);
        clean(&host, &dir);
        for sub in ["containerd", "cni/net.d", "kubelet", "pod-logs", "volumes", "logs"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        let mut node = RealNode {
            name,
            host,
            dir,
            tools,
            address_file: PathBuf::new(),
            processes: Vec::new(),
            agent: None,
            _slot: slot,
        };
        node.address_file = node.dir.join("sidecar-addresses.json");
        std::fs::write(&node.address_file, "{}").map_err(|e| Error::io(&node.address_file, e))?;
        node.host.create()?;
        node.host.create_cgroups()?;
        node.boot(cp, &images).await.map_err(|e| node.annotate(e))?;
        Ok(node)
    }

    async fn boot(&mut self, cp: &ControlPlane, images: &[Image]) -> Result<(), Error> {
        let kubeconfig = cp.kubeconfig_path().to_path_buf();
        let ca = cp.ca_cert_path().to_path_buf();
        let layout =
            Layout { dir: &self.dir, host: &self.host, node_name: &self.name, kubeconfig: &kubeconfig, ca_cert: &ca };
        let files = [
            ("containerd/config.toml", layout.containerd(PAUSE_IMAGE, &self.tools.runc, &self.tools.cni_bin)),
            ("cni/net.d/10-sei.conflist", layout.cni()),
            ("kubelet.yaml", layout.kubelet((REAL_NODE_TAINT_KEY, REAL_NODE_POOL))),
            ("kube-proxy.yaml", layout.kube_proxy()),
            ("Corefile", layout.corefile(&kubeconfig)),
            ("resolv.conf", layout.resolv_conf()),
        ];
        for (file, text) in files {
            let path = self.dir.join(file);
            std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        }
        let client = cp.client().await?;
        apply_manifests(
            &client,
            &format!(
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {REAL_STORAGE_CLASS}\nprovisioner: {PROVISIONER}\nreclaimPolicy: Delete\nvolumeBindingMode: Immediate\n"
            ),
        )
        .await?;

        // The node's programs reach the API server at the address in the kubeconfig,
        // 127.0.0.1:<port>, which inside the namespace is this listener.
        let api_server: std::net::SocketAddr = cp
            .server_url()
            .trim_start_matches("https://")
            .parse()
            .map_err(|e| Error::Setup(format!("API server address {}: {e}", cp.server_url())))?;
        let api_listener = self.host.listen(api_server)?;
        self.agent = Some(agent::Agent::start(agent::AgentConfig {
            kubeconfig: kubeconfig.clone(),
            api_listener,
            api_server,
            node_name: self.name.clone(),
            storage_class: REAL_STORAGE_CLASS.into(),
            volumes_dir: self.dir.join("volumes"),
            address_file: self.address_file.clone(),
        })?);

        let mut coredns = Command::new(&self.tools.coredns);
        coredns.arg("-conf").arg(self.dir.join("Corefile"));
        self.spawn("coredns", coredns, false)?;

        let mut containerd = Command::new(&self.tools.containerd);
        containerd.arg("--config").arg(self.dir.join("containerd/config.toml"));
        self.spawn("containerd", containerd, true)?;
        self.wait_containerd()?;
        for image in images {
            self.import(image)?;
        }

        let mut kubelet = Command::new(&self.tools.kubelet);
        kubelet
            .arg(format!("--config={}", self.dir.join("kubelet.yaml").display()))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg(format!("--root-dir={}", self.dir.join("kubelet").display()))
            .arg(format!("--cert-dir={}", self.dir.join("kubelet/pki").display()))
            .arg(format!("--hostname-override={}", self.name))
            .arg(format!("--node-ip={}", self.host.node_ip))
            .arg(format!("--node-labels=karpenter.sh/nodepool={REAL_NODE_POOL},sei.io/real-node=true"))
            .arg("--v=2");
        self.spawn("kubelet", kubelet, true)?;
        let mut proxy = Command::new(&self.tools.kube_proxy);
        proxy.arg(format!("--config={}", self.dir.join("kube-proxy.yaml").display())).arg("--v=2");
        self.spawn("kube-proxy", proxy, true)?;
        self.wait_ready(&client).await
    }

    fn spawn(&mut self, name: &str, mut cmd: Command, inside: bool) -> Result<(), Error> {
        cmd.env("PATH", PATH);
        if inside {
            self.host.inside(&mut cmd)?;
        }
        let log = self.dir.join("logs").join(format!("{name}.log"));
        self.processes.push(Process::spawn(name, cmd, &log)?);
        Ok(())
    }

    fn wait_containerd(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.ctr(&["version"]).is_err() {
            let log = self.log_path("containerd");
            if let Some(p) = self.processes.iter_mut().find(|p| p.name() == "containerd")
                && let Some(status) = p.exited()
            {
                let reason = format!("exited with {status}: {}", p.log_tail(3));
                return Err(Error::NotReady { component: "containerd".into(), reason, log });
            }
            if Instant::now() > deadline {
                let reason = "not answering after 60 s".into();
                return Err(Error::NotReady { component: "containerd".into(), reason, log });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    async fn wait_ready(&mut self, client: &kube::Client) -> Result<(), Error> {
        let nodes: Api<Node> = Api::all(client.clone());
        let deadline = Instant::now() + READY;
        loop {
            for p in &mut self.processes {
                if let Some(status) = p.exited() {
                    return Err(Error::NotReady {
                        component: p.name().into(),
                        reason: format!("exited with {status}: {}", p.log_tail(3)),
                        log: p.log_path().into(),
                    });
                }
            }
            let node = nodes.get_opt(&self.name).await.ok().flatten();
            let ready = node
                .as_ref()
                .and_then(|n| n.status.as_ref()?.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                let why = node
                    .and_then(|n| n.status?.conditions)
                    .and_then(|c| c.into_iter().find(|c| c.type_ == "Ready"))
                    .map(|c| format!("{}: {}", c.reason.unwrap_or_default(), c.message.unwrap_or_default()))
                    .unwrap_or_else(|| "the node never registered".into());
                return Err(Error::NotReady {
                    component: "kubelet".into(),
                    reason: why,
                    log: self.log_path("kubelet"),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Adds the last lines of every program's log to a start failure.
    fn annotate(&self, e: Error) -> Error {
        Error::Setup(format!("{e}\nreal node logs ({}):\n{}", self.dir.display(), self.log_tails(15)))
    }

    /// The Node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator's `SEI_SIDECAR_ADDRESSES` file for the sidecars on this node.
    pub fn address_file(&self) -> &Path {
        &self.address_file
    }

    /// The node's directory (logs, volumes, containerd and kubelet state).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The address of the machine as the node's pods reach it (where CoreDNS listens; a
    /// server on the machine that pods use binds here).
    pub fn host_ip(&self) -> std::net::Ipv4Addr {
        self.host.host_ip
    }

    pub fn log_path(&self, program: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{program}.log"))
    }

    pub fn log_tails(&self, lines: usize) -> String {
        self.processes.iter().map(|p| format!("==> {} <==\n{}\n", p.name(), tail(p.log_path(), lines))).collect()
    }

    /// `crictl` pointed at this node's containerd, e.g. `crictl(&["ps", "-a"])`.
    pub fn crictl(&self, args: &[&str]) -> Result<String, Error> {
        let endpoint = format!("unix://{}", self.dir.join("containerd/containerd.sock").display());
        output(Command::new(&self.tools.crictl).args(["--runtime-endpoint", &endpoint, "--timeout", "20s"]).args(args))
    }

    /// `ctr` on this node's containerd, in the CRI's `k8s.io` namespace.
    pub fn ctr(&self, args: &[&str]) -> Result<String, Error> {
        let sock = self.dir.join("containerd/containerd.sock");
        output(Command::new(&self.tools.ctr).arg("--address").arg(sock).args(["-n", "k8s.io"]).args(args))
    }

    /// Imports an image (as `kind load` does: into the CRI's namespace, unpacked).
    pub fn import(&self, image: &Image) -> Result<(), Error> {
        let archive = self.dir.join(format!("image-{}.tar", image.names[0].replace(['/', ':'], "_")));
        image.write_oci_archive(&archive)?;
        let path = archive.display().to_string();
        self.ctr(&["images", "import", "--digests", "--snapshotter", "overlayfs", &path])?;
        let _ = std::fs::remove_file(&archive);
        Ok(())
    }
}

fn output(cmd: &mut Command) -> Result<String, Error> {
    let out = cmd.output().map_err(|e| Error::Setup(format!("{:?}: {e}", cmd.get_program())))?;
    if !out.status.success() {
        return Err(Error::Setup(format!(
            "{:?} {:?} failed: {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes whatever a node in this slot left behind: pods, shims, mounts, cgroups, the
/// namespace and the directory.
fn clean(host: &Host, dir: &Path) {
    host.kill_and_remove_cgroups();
    let needle = format!("{}/", dir.display());
    for pid in host::pids_mentioning(&needle) {
        crate::process::send_signal(pid, libc::SIGKILL);
    }
    host::unmount_under(dir);
    host.delete_network();
    let _ = std::fs::remove_dir_all(dir);
}

impl Drop for RealNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("real node logs ({}):\n{}", self.dir.display(), self.log_tails(20));
        }
        // The kubelet first, so that it restarts nothing; then the pods through the
        // runtime (which also frees their network namespaces and mounts).
        while let Some(mut p) = self.processes.pop() {
            if p.name() == "containerd" {
                let _ = self.crictl(&["rmp", "-a", "-f"]);
                self.host.kill_and_remove_cgroups();
            }
            p.stop(Duration::from_secs(2));
        }
        self.agent.take();
        if std::env::var_os("SEI_TESTENV_KEEP").is_some() {
            eprintln!("real node {} kept its directory {}", self.name, self.dir.display());
            host::unmount_under(&self.dir);
            self.host.delete_network();
            return;
        }
        clean(&self.host, &self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_normalized_as_the_cri_looks_them_up() {
        assert_eq!(normalized_image("sei:v1"), "docker.io/library/sei:v1");
        assert_eq!(normalized_image("sei-protocol/sei:v1"), "docker.io/sei-protocol/sei:v1");
        assert_eq!(normalized_image("ghcr.io/sei-protocol/sei:v6.3.0"), "ghcr.io/sei-protocol/sei:v6.3.0");
        assert_eq!(normalized_image("localhost:5000/sei"), "localhost:5000/sei:latest");
        assert_eq!(normalized_image("busybox"), "docker.io/library/busybox:latest");
    }

    #[test]
    fn real_platform_workloads_choose_the_real_pool() {
        let platform = real_platform();
        let get = |k: &str| platform.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        assert_eq!(get("SEI_NODEPOOL_NAME"), Some(REAL_NODE_POOL));
        assert_eq!(get("SEI_TOLERATION_KEY"), Some(REAL_NODE_TAINT_KEY));
        assert_eq!(get("SEI_STORAGE_CLASS_DEFAULT"), Some(REAL_STORAGE_CLASS));
        assert_eq!(get("SEI_STORAGE_CLASS_ARCHIVE"), Some(REAL_STORAGE_CLASS));
        assert_eq!(get("SEI_RESOURCE_CPU_DEFAULT"), Some("10m"));
        assert_eq!(get("SEI_GENESIS_BUCKET"), Some("genesis"), "the rest as on the simulated platform");
    }
}
