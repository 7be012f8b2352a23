//! Finds (and on first use builds) the control-plane binaries through
//! `hack/control-plane.sh`, which caches them by version outside the repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Error;

/// Paths of every executable and data file the control plane needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    pub kube_scheduler: PathBuf,
    pub kubectl: PathBuf,
    pub kwok: PathBuf,
    /// kwok Stage manifests (pods, nodes, volumes).
    pub kwok_stages: PathBuf,
    /// The `kwok-volume` StorageClass served by those stages.
    pub kwok_storage_class: PathBuf,
}

impl Binaries {
    /// The repository's build script.
    pub fn script_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hack/control-plane.sh")
    }

    /// Locates the binaries, building whatever is missing. The result is computed once per
    /// process; a failure is reported as one line that says what to do.
    pub fn get() -> Result<&'static Binaries, Error> {
        static CACHE: OnceLock<Result<Binaries, String>> = OnceLock::new();
        CACHE.get_or_init(Self::locate).as_ref().map_err(|e| Error::Binaries(e.clone()))
    }

    fn locate() -> Result<Binaries, String> {
        let etcd = etcd_bin_vendored::etcd_bin_path()
            .map_err(|e| format!("no vendored etcd for this platform: {e}"))?
            .to_path_buf();
        let script = Self::script_path();
        let out = Command::new("bash")
            .arg(&script)
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            return Err(line.trim().to_string());
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dirs: Vec<PathBuf> = stdout.trim().split(':').map(PathBuf::from).collect();
        let [k8s, kwok] = dirs.as_slice() else {
            return Err(format!("{} printed an unexpected result: {stdout}", script.display()));
        };
        Ok(Binaries {
            etcd,
            kube_apiserver: k8s.join("kube-apiserver"),
            kube_controller_manager: k8s.join("kube-controller-manager"),
            kube_scheduler: k8s.join("kube-scheduler"),
            kubectl: k8s.join("kubectl"),
            kwok: kwok.join("kwok"),
            kwok_stages: kwok.join("stages.yaml"),
            kwok_storage_class: kwok.join("storage-class.yaml"),
        })
    }
}

/// Runs `hack/<script>` (which builds or installs a test server into the cache once) and
/// returns the path it prints; its last error line when it fails.
pub(crate) fn from_hack_script(script: &str) -> Result<PathBuf, Error> {
    hack(script, &[])
}

fn hack(script: &str, args: &[&str]) -> Result<PathBuf, Error> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hack").join(script);
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .output()
        .map_err(|e| Error::Setup(format!("{}: {e}", path.display())))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Binaries(stderr.lines().last().unwrap_or("failed").to_string()));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A tool the tests run (`helm`, `promtool`, `prometheus`), built from its Go module into
/// the cache on first use by `hack/tools.sh`.
pub fn tool(name: &str) -> Result<PathBuf, Error> {
    hack("tools.sh", &[name])
}

/// The CRD manifest of a kind the operator manages but does not own (`gateway-api`,
/// `prometheus-operator`), fetched from its Go module by `hack/crds.sh`.
pub fn foreign_crds(name: &str) -> Result<String, Error> {
    let path = hack("crds.sh", &[name])?;
    std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))
}
