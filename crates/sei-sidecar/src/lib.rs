//! The node sidecar, run as `seictl serve` beside each `seid`: an HTTP task server the
//! operator drives to place genesis, render config, manage keys and report readiness.
//!
//! Beyond the reference: task endpoints need a bearer token, task parameters are checked
//! at submission against the contract's types (`sei-tasks`), readiness survives restarts,
//! `DELETE` cancels a running task, and every error is JSON naming the problem.

mod api;
pub mod cosmos;
mod ec2;
mod engine;
mod http_server;
pub mod keys;
mod metrics;
mod s3;
mod seid;
mod settings;
mod store;
pub mod tasks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use api::{ApiDoc, MAX_BODY, openapi_json, router};
pub use engine::Engine;
pub use settings::{Settings, SettingsError};
pub use tokio_util::sync::CancellationToken;

/// Why the sidecar could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("preparing {path}: {source}")]
    Home { path: std::path::PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("binding {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

impl Engine {
    pub fn settings(&self) -> &Settings {
        self.settings_ref()
    }
}

/// Creates `<home>/config` and `<home>/data`, and a minimal `config.toml` if there is none
/// (a later `config-apply` replaces it; an existing file is never touched).
fn prepare_home(settings: &Settings) -> Result<(), ServeError> {
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| ServeError::Home { path, source }
    };
    for dir in ["config", "data"] {
        let path = settings.home.join(dir);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
    }
    // Leftovers of a process that was killed mid-write: temp files of atomic writes and
    // downloads. The targets themselves are never half-written; the tasks start over.
    for dir in [settings.home.clone(), settings.home.join("config"), settings.home.join("tmp")] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let leftover = (name.starts_with(".sei-sidecar-") || name.starts_with(".sei-config-"))
                && name.ends_with(".tmp")
                || dir.ends_with("tmp") && (name.starts_with("snapshot-") || name.starts_with("export-"));
            if leftover {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let config = settings.home.join("config/config.toml");
    if !config.exists() {
        let seed = "mode = \"full\"\n\n[p2p]\n  laddr = \"tcp://0.0.0.0:26656\"\n  persistent-peers = \"\"\n\n[statesync]\n  enable = false\n  trust-height = 0\n  trust-hash = \"\"\n  rpc-servers = \"\"\n\n[mempool]\n  size = 5000\n";
        tasks::write_atomic(&config, seed.as_bytes()).map_err(io(&config))?;
    }
    Ok(())
}

/// Prepares the home, opens the store, resumes interrupted tasks and builds the HTTP app.
/// `root` cancels every task.
pub async fn build(settings: Settings, root: CancellationToken) -> Result<(Arc<Engine>, axum::Router), ServeError> {
    let (settings, store) = tokio::task::spawn_blocking(move || {
        prepare_home(&settings)?;
        let store = store::Store::open(&settings.home.join("sidecar.db"))?;
        Ok::<_, ServeError>((settings, store))
    })
    .await
    .map_err(|e| ServeError::Serve(std::io::Error::other(e)))??;
    let engine = Engine::start(store, Arc::new(settings), root).await?;
    Ok((engine.clone(), router(engine)))
}

/// Runs the sidecar until `shutdown` resolves. Running tasks are left `running` in the
/// store on shutdown and resume at the next start.
pub async fn serve(settings: Settings, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    let root = CancellationToken::new();
    let (engine, app) = build(settings, root.clone()).await?;
    let settings = engine.settings().clone();
    let addr = format!("{}:{}", settings.bind, settings.port);
    let listener =
        tokio::net::TcpListener::bind(&addr).await.map_err(|source| ServeError::Bind { addr: addr.clone(), source })?;
    if settings.token.is_none() {
        tracing::warn!(
            "serving WITHOUT authentication (--insecure-no-auth): anyone who reaches {addr} can submit tasks"
        );
    }
    tracing::info!(%addr, home = %settings.home.display(), chain = %settings.chain_id, "sidecar listening");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(http_server::run(listener, app, async move {
        let _ = stop_rx.await;
    }));
    tokio::pin!(shutdown);
    let result = tokio::select! {
        r = &mut server => r.map_err(|e| ServeError::Serve(std::io::Error::other(e))),
        () = &mut shutdown => {
            let _ = stop_tx.send(());
            // Connections get 10 s to finish, as in the reference; then they are dropped.
            if tokio::time::timeout(Duration::from_secs(10), &mut server).await.is_err() {
                tracing::warn!("connections still open after 10 s; stopping without them");
                server.abort();
            }
            Ok(())
        }
    };
    root.cancel();
    engine.drain(Duration::from_secs(10)).await;
    result
}
