//! Task handlers. Each is idempotent: a crash can make the engine run it again.

mod ceremony;
mod config;
mod files;
mod genesis;
mod identity;
mod peers;
mod ready;
mod results;
mod snapshot;
pub(crate) mod wait;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use sei_tasks::Task;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::settings::Settings;

/// Why a task failed. Rendered as `<task>: <operation>: <message>[ [hint: <hint>]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    pub task: String,
    pub operation: String,
    pub message: String,
    pub hint: Option<String>,
    pub retryable: bool,
}

impl TaskError {
    pub fn new(task: &str, operation: &str, message: impl Into<String>) -> Self {
        TaskError {
            task: task.into(),
            operation: operation.into(),
            message: message.into(),
            hint: None,
            retryable: false,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.task, self.operation, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " [hint: {h}]")?;
        }
        Ok(())
    }
}

/// What a handler may use.
#[derive(Clone)]
pub struct TaskContext {
    pub task: &'static str,
    pub settings: Arc<Settings>,
    pub http: reqwest::Client,
    /// Cancelled on shutdown or when the task is deleted.
    pub cancel: CancellationToken,
}

impl TaskContext {
    pub fn home(&self) -> &Path {
        &self.settings.home
    }

    pub fn config_dir(&self) -> PathBuf {
        self.settings.home.join("config")
    }

    pub fn err(&self, operation: &str, message: impl Into<String>) -> TaskError {
        TaskError::new(self.task, operation, message)
    }

    /// Whether a marker file exists at the home root.
    pub fn marker_done(&self, name: &str) -> bool {
        self.home().join(name).exists()
    }

    /// A file in `<home>/tmp` that is removed when dropped, also when the task is cancelled.
    pub fn temp_file(&self, prefix: &str, suffix: &str) -> Result<tempfile::TempPath, TaskError> {
        let dir = self.home().join("tmp");
        std::fs::create_dir_all(&dir).map_err(|e| self.err("temp file", e.to_string()))?;
        let file = tempfile::Builder::new().prefix(prefix).suffix(suffix).tempfile_in(&dir);
        Ok(file.map_err(|e| self.err("temp file", e.to_string()))?.into_temp_path())
    }

    pub async fn write_marker(&self, name: &str) -> Result<(), TaskError> {
        write_file(&self.home().join(name), Vec::new()).await.map_err(|e| self.err("marker", e.to_string()))
    }
}

pub type TaskFuture = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;

/// Runs a task. The match is over the contract's task types, so every type has a handler
/// and each handler receives its own typed parameters.
pub fn run(ctx: TaskContext, task: Task) -> TaskFuture {
    match task {
        Task::MarkReady(_) => Box::pin(ready::mark_ready(ctx)),
        Task::ConfigApply(p) => Box::pin(config::apply(ctx, p)),
        Task::ConfigPatch(p) => Box::pin(config::patch(ctx, p)),
        Task::ConfigValidate(_) => Box::pin(config::validate(ctx)),
        Task::ConfigReload(p) => Box::pin(config::reload(ctx, p)),
        Task::ConfigureGenesis(_) => Box::pin(genesis::configure(ctx)),
        Task::UploadGenesisArtifacts(p) => Box::pin(genesis::upload_artifacts(ctx, p)),
        Task::SetGenesisPeers(_) => Box::pin(genesis::set_peers(ctx)),
        Task::GenerateGentx(p) => Box::pin(ceremony::generate_gentx(ctx, p)),
        Task::AssembleAndUploadGenesis(p) => Box::pin(ceremony::assemble(ctx, p)),
        Task::AssembleGenesisFork(p) => Box::pin(ceremony::assemble_fork(ctx, p)),
        Task::DiscoverPeers(p) => Box::pin(peers::discover(ctx, p)),
        Task::ConfigureStateSync(p) => Box::pin(peers::configure_state_sync(ctx, p)),
        Task::SnapshotRestore(p) => Box::pin(snapshot::restore(ctx, p)),
        Task::SnapshotUpload(_) => Box::pin(snapshot::upload(ctx)),
        Task::UploadFile(p) => Box::pin(files::upload_file(ctx, p)),
        Task::ResultExport(p) => Box::pin(results::export(ctx, p)),
        Task::ExportState(p) => Box::pin(files::export_state(ctx, p)),
        Task::GenerateIdentity(p) => Box::pin(identity::generate(ctx, p)),
        Task::AwaitCondition(p) => Box::pin(wait::await_condition(ctx, p)),
    }
}

/// Merges a JSON patch into a TOML document the way `config-patch` does (objects merge,
/// `null` deletes, anything else replaces) and returns the new text.
pub fn merge_patch(toml: &str, patch: &serde_json::Map<String, Value>) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = toml.parse().map_err(|e| format!("parse: {e}"))?;
    config::merge(doc.as_table_mut(), patch)?;
    Ok(doc.to_string())
}

/// This node's CometBFT ID, from `config/node_key.json`.
pub fn node_id(ctx: &TaskContext) -> Result<String, TaskError> {
    let path = ctx.config_dir().join("node_key.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ctx.err("node key", format!("{}: {e}; run generate-identity first", path.display())))?;
    let key =
        crate::keys::parse_key_file(&text).map_err(|e| ctx.err("node key", format!("{}: {e}", path.display())))?;
    Ok(crate::keys::node_id(&key))
}

/// Merge-patches the TOML file at `path` (missing: empty) with `patch`, keeping comments
/// and every other key; `(operation, message)` on failure. Blocking: reads and fsyncs.
fn patch_toml_file(path: &Path, patch: &serde_json::Map<String, Value>) -> Result<(), (&'static str, String)> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(("read", format!("{name}: {e}"))),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| ("parse", format!("{name}: {e}")))?;
    config::merge(doc.as_table_mut(), patch).map_err(|e| ("merge", format!("{name}: {e}")))?;
    write_atomic(path, doc.to_string().as_bytes()).map_err(|e| ("write", format!("{name}: {e}")))
}

/// [`patch_toml_file`] off the runtime's threads.
pub async fn patch_file(
    ctx: &TaskContext,
    path: PathBuf,
    patch: serde_json::Map<String, Value>,
) -> Result<(), TaskError> {
    let result = off_runtime(move || Ok(patch_toml_file(&path, &patch))).await;
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err((operation, message))) => Err(ctx.err(operation, message)),
        Err(e) => Err(ctx.err("write", e.to_string())),
    }
}

/// Merge-patches `config.toml` with `patch` (seid's own key names).
pub async fn patch_config_toml(ctx: &TaskContext, patch: serde_json::Map<String, Value>) -> Result<(), TaskError> {
    patch_file(ctx, ctx.config_dir().join("config.toml"), patch).await
}

/// Writes `[p2p] persistent-peers`.
pub async fn set_persistent_peers(ctx: &TaskContext, peers: &str) -> Result<(), TaskError> {
    let patch = serde_json::json!({"p2p": {"persistent-peers": peers}});
    let Value::Object(patch) = patch else { unreachable!("an object literal") };
    patch_config_toml(ctx, patch).await
}

/// Runs blocking file work (fsync, large reads) on the blocking pool, so that it never
/// holds up a runtime thread serving requests. A panic in `f` resumes in the caller.
pub async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// [`write_atomic`] off the runtime's threads.
pub async fn write_file(path: &Path, bytes: impl Into<Vec<u8>>) -> std::io::Result<()> {
    let (path, bytes) = (path.to_path_buf(), bytes.into());
    off_runtime(move || write_atomic(&path, &bytes)).await
}

/// [`write_secret`] off the runtime's threads.
pub async fn write_secret_file(path: &Path, bytes: impl Into<Vec<u8>>) -> std::io::Result<()> {
    let (path, bytes) = (path.to_path_buf(), bytes.into());
    off_runtime(move || write_secret(&path, &bytes)).await
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, mode
/// 0644, rename. A crash leaves either the old file or the new one, never half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] for secrets: the file is 0600 from its first byte.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // The temp file is created 0600; it only becomes readable when it is complete.
    let mut tmp = tempfile::Builder::new().prefix(".sei-sidecar-").suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename itself must survive a power loss too.
    std::fs::File::open(dir)?.sync_all()
}
