//! `sei-operator`: runs the SeiNode controller with leader election, a metrics endpoint and
//! health probes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::Parser;
use sei_operator::context::Context;
use sei_operator::leader::{Elector, Leadership, Timings};
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
    /// Write only while holding the leader Lease, so two replicas never both write.
    /// Every replica keeps its caches warm.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// How long the leader Lease lasts without renewal, in seconds.
    #[arg(long, default_value_t = 15)]
    leader_election_lease_duration: u64,
    /// The leader renews the Lease once fewer than this many seconds are left.
    #[arg(long, default_value_t = 6)]
    leader_election_renew_before: u64,
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
    let leadership = if args.leader_elect { Leadership::follower() } else { Leadership::always() };
    let ctx = Arc::new(Context::with_leadership(client.clone(), platform, args.sidecar_addresses, leadership.clone())?);
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
    // Unique per process, like controller-runtime's `<hostname>_<uuid>`: a pod restarted
    // under the same name is a new holder that must wait for the old one's Lease.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let identity = format!("{}_{}", replica.as_deref().unwrap_or("sei-operator"), &suffix[..8]);
    let timings = Timings {
        lease: std::time::Duration::from_secs(args.leader_election_lease_duration),
        renew_before: std::time::Duration::from_secs(args.leader_election_renew_before),
        ..Timings::default()
    };
    anyhow::ensure!(
        timings.renew_before > timings.margin && timings.renew_before < timings.lease,
        "--leader-election-renew-before must be between {} and --leader-election-lease-duration",
        timings.margin.as_secs()
    );
    let leases = kube::Api::namespaced(client, &args.leader_election_namespace);
    let elector = Elector::new(leases, sei_operator::leader::LEASE_NAME, &identity, timings, leadership);
    // The controllers run from the start on every replica (warm caches); they write only
    // while this replica leads.
    tokio::select! {
        () = sei_operator::run_controllers(ctx) => {
            // Signalled: hand the Lease over at once instead of letting it run out.
            elector.release().await;
        }
        lost = elector.run() => {
            tracing::warn!(reason = %lost, "lost the leader Lease; exiting");
            std::process::exit(1);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).json().flatten_event(true).with_writer(std::io::stderr).init();
    // A few threads are plenty: reconciles wait on the network, and nothing blocks (names
    // are resolved asynchronously), so the blocking pool stays small too.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(4)
        .enable_all()
        .build()
    {
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
