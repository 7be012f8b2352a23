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
mod wait;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
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

    /// Decodes `params` into `T`: unknown fields are ignored, missing ones take defaults,
    /// a type mismatch fails with `parsing params: ...`.
    pub fn params<T: DeserializeOwned + Default>(&self, params: &Value) -> Result<T, TaskError> {
        if params.is_null() {
            return Ok(T::default());
        }
        serde_json::from_value(params.clone()).map_err(|e| self.err("parsing params", e.to_string()))
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

    pub fn write_marker(&self, name: &str) -> Result<(), TaskError> {
        write_atomic(&self.home().join(name), b"").map_err(|e| self.err("marker", e.to_string()))
    }
}

pub type TaskFuture = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;
pub type Handler = Arc<dyn Fn(TaskContext, Value) -> TaskFuture + Send + Sync>;

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(TaskContext, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), TaskError>> + Send + 'static,
{
    Arc::new(move |ctx, params| Box::pin(f(ctx, params)))
}

/// Every task type this sidecar runs, by wire name.
pub fn registry() -> HashMap<&'static str, Handler> {
    HashMap::from([
        ("mark-ready", handler(ready::mark_ready)),
        ("config-apply", handler(config::apply)),
        ("config-patch", handler(config::patch)),
        ("config-validate", handler(config::validate)),
        ("config-reload", handler(config::reload)),
        ("configure-genesis", handler(genesis::configure)),
        ("upload-genesis-artifacts", handler(genesis::upload_artifacts)),
        ("set-genesis-peers", handler(genesis::set_peers)),
        ("generate-gentx", handler(ceremony::generate_gentx)),
        ("assemble-and-upload-genesis", handler(ceremony::assemble)),
        ("assemble-genesis-fork", handler(ceremony::assemble_fork)),
        ("discover-peers", handler(peers::discover)),
        ("configure-state-sync", handler(peers::configure_state_sync)),
        ("snapshot-restore", handler(snapshot::restore)),
        ("snapshot-upload", handler(snapshot::upload)),
        ("upload-file", handler(files::upload_file)),
        ("result-export", handler(results::export)),
        ("export-state", handler(files::export_state)),
        ("generate-identity", handler(identity::generate)),
        ("await-condition", handler(wait::await_condition)),
    ])
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

/// Merge-patches `config.toml` with `patch` (seid's own key names), keeping comments and
/// every other key.
pub fn patch_config_toml(ctx: &TaskContext, patch: &serde_json::Map<String, Value>) -> Result<(), TaskError> {
    let path = ctx.config_dir().join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ctx.err("read", format!("config.toml: {e}"))),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| ctx.err("parse", format!("config.toml: {e}")))?;
    config::merge(doc.as_table_mut(), patch).map_err(|e| ctx.err("merge", format!("config.toml: {e}")))?;
    write_atomic(&path, doc.to_string().as_bytes()).map_err(|e| ctx.err("write", format!("config.toml: {e}")))
}

/// Writes `[p2p] persistent-peers`.
pub fn set_persistent_peers(ctx: &TaskContext, peers: &str) -> Result<(), TaskError> {
    let patch = serde_json::json!({"p2p": {"persistent-peers": peers}});
    patch_config_toml(ctx, patch.as_object().expect("an object"))
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
