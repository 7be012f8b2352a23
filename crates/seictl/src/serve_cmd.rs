//! `seictl serve`: the node sidecar.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use sei_sidecar::Settings;

#[derive(Args)]
pub struct ServeArgs {
    /// seid home directory (default $SEI_HOME, else /sei).
    #[arg(long)]
    home: Option<PathBuf>,
    /// HTTP port (default $SEI_SIDECAR_PORT, else 7777).
    #[arg(long)]
    port: Option<u16>,
    /// Serve the task API without authentication. Only for local experiments.
    #[arg(long)]
    insecure_no_auth: bool,
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let level = std::env::var("SEI_LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("SEI_LOG_FORMAT").as_deref() == Ok("text") {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    init_logging();
    let settings = Settings::from_env(|k| std::env::var(k).ok(), args.home, args.port, args.insecure_no_auth)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler installs");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            tracing::info!("shutting down");
        };
        sei_sidecar::serve(settings, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}
