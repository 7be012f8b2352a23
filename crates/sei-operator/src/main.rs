//! `sei-operator`: runs the SeiNode controller with leader election, a metrics endpoint and
//! health probes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::Parser;
use sei_operator::context::Context;
use sei_planner::Platform;

#[derive(Parser)]
#[command(name = "sei-operator", version, about = "Kubernetes operator for Sei nodes")]
struct Args {
    /// Address of the Prometheus /metrics endpoint ("0" disables it).
    #[arg(long, default_value = "0.0.0.0:8080")]
    metrics_bind_address: String,
    /// Address of the /healthz and /readyz endpoints.
    #[arg(long, default_value = "0.0.0.0:8081")]
    health_probe_bind_address: String,
    /// Run only while holding the leader Lease, so two replicas never both write.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Namespace of the leader Lease (default: $POD_NAMESPACE, else "default").
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    leader_election_namespace: String,
    /// Log level: error, warn, info, debug or trace (or a tracing filter).
    #[arg(long, env = "SEI_LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// Development setting: a JSON file mapping "namespace/name" to a sidecar base URL,
    /// used instead of the pod's DNS name (the local pod runner of the tests writes it).
    #[arg(long, env = "SEI_SIDECAR_ADDRESSES")]
    sidecar_addresses: Option<PathBuf>,
}

async fn serve_health(addr: String) -> Result<()> {
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr}"))?;
    axum::serve(listener, app).await.context("health server")
}

async fn run(args: Args) -> Result<()> {
    let platform = Platform::from_env(|k| std::env::var(k).ok())?;
    let config = kube::Config::infer().await.context("finding the Kubernetes API (in-cluster or KUBECONFIG)")?;
    let replica = std::env::var("POD_NAME").ok();
    let client =
        sei_operator::context::client(config, replica.as_deref()).context("connecting to the Kubernetes API")?;
    let ctx = Arc::new(Context::new(client.clone(), platform, args.sidecar_addresses)?);
    tokio::spawn(async move {
        if let Err(e) = serve_health(args.health_probe_bind_address).await {
            tracing::error!(error = %e, "health endpoint stopped");
        }
    });
    if args.metrics_bind_address != "0" {
        let addr: SocketAddr = args.metrics_bind_address.parse().context("--metrics-bind-address")?;
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let metrics_ctx = ctx.clone();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let ctx = metrics_ctx.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        ctx.metrics.encode(),
                    )
                }
            }),
        );
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics endpoint stopped");
            }
        });
    }
    if !args.leader_elect {
        sei_operator::run_controllers(ctx).await;
        return Ok(());
    }
    let identity = replica.unwrap_or_else(|| format!("sei-operator-{}", uuid::Uuid::new_v4()));
    let lease = kube_lease_manager::LeaseManagerBuilder::new(client, "sei-operator-leader")
        .with_namespace(&args.leader_election_namespace)
        .with_identity(identity)
        .with_duration(15)
        .with_grace(5)
        .build()
        .await?;
    let (mut leading, task) = lease.watch().await;
    // Wait to lead, then run until the controller stops or the lease is lost. A replica
    // that loses the lease exits so that it can never write as a stale leader.
    while !*leading.borrow_and_update() {
        if leading.changed().await.is_err() {
            return Ok(());
        }
    }
    tracing::info!("leading: starting the controllers");
    tokio::select! {
        () = sei_operator::run_controllers(ctx.clone()) => {}
        _ = async { while *leading.borrow() { if leading.changed().await.is_err() { break } } } => {
            tracing::warn!("lost the leader lease; exiting");
            std::process::exit(1);
        }
    }
    drop(leading);
    let _ = task.await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).json().flatten_event(true).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sei-operator: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sei-operator: {e:#}");
            ExitCode::FAILURE
        }
    }
}
