//! `sei-devcluster`: a simulated Kubernetes cluster on this machine, in the background,
//! for the demo and for trying the operator by hand.
//!
//!   sei-devcluster up      start it (if not running), install the CRDs, print how to use it
//!   sei-devcluster down    stop it and remove its files
//!   sei-devcluster status  say whether it runs
//!
//! `up` starts `sei-devcluster serve` as a detached supervisor that owns the control-plane
//! processes; they die with it, so `down` only has to stop the supervisor.
//!
//! With `--operator BIN --seictl BIN` the supervisor also runs the operator against the
//! cluster and the local pod runner (each pod's sidecar as a `seictl serve` process beside
//! a seid RPC simulator, peers reachable by their DNS names) and an S3 server for the
//! genesis and snapshot buckets, so a SeiNode goes all the way to Running and a validator
//! fleet can hold its genesis ceremony.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use sei_testenv::{ControlPlane, Options, PodRunner, Process, S3Server, apply_manifests, pid_alive, send_signal};

#[derive(Parser)]
#[command(about = "A simulated Kubernetes cluster (etcd, kube-apiserver, controllers, kwok) on 127.0.0.1")]
struct Cli {
    /// Directory for the cluster's state, logs and kubeconfig.
    #[arg(long, global = true, default_value = ".demo", env = "SEI_DEVCLUSTER_DIR")]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the cluster in the background and install the CRDs.
    Up {
        /// Serve the API on this port (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Number of fake nodes.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[command(flatten)]
        operator: OperatorArgs,
    },
    /// Stop the cluster and remove its files.
    Down,
    /// Print whether the cluster runs and where its kubeconfig is.
    Status,
    /// Run the cluster in the foreground until SIGTERM or SIGINT (used by `up`).
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        port: Option<u16>,
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[command(flatten)]
        operator: OperatorArgs,
    },
}

#[derive(clap::Args, Clone, Default)]
struct OperatorArgs {
    /// Run this `sei-operator` binary against the cluster (needs --seictl).
    #[arg(long, requires = "seictl")]
    operator: Option<PathBuf>,
    /// The `seictl` binary whose `serve` runs each pod's sidecar.
    #[arg(long, requires = "operator")]
    seictl: Option<PathBuf>,
}

impl OperatorArgs {
    fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = Vec::new();
        if let (Some(op), Some(ctl)) = (&self.operator, &self.seictl) {
            args.extend(["--operator".into(), absolute(op).into(), "--seictl".into(), absolute(ctl).into()]);
        }
        args
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Up { port, nodes, operator } => up(&cli.state_dir, port, nodes, &operator),
        Cmd::Down => down(&cli.state_dir),
        Cmd::Status => status(&cli.state_dir),
        Cmd::Serve { port, nodes, operator } => serve(&cli.state_dir, port, nodes, operator),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sei-devcluster: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Files {
    pid: PathBuf,
    ready: PathBuf,
    error: PathBuf,
    kubeconfig: PathBuf,
    log: PathBuf,
    components: PathBuf,
}

fn files(dir: &Path) -> Files {
    Files {
        pid: dir.join("supervisor.pid"),
        ready: dir.join("ready"),
        error: dir.join("error"),
        kubeconfig: dir.join("kubeconfig"),
        log: dir.join("supervisor.log"),
        components: dir.join("components"),
    }
}

fn running_pid(f: &Files) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(&f.pid).ok()?.trim().parse().ok()?;
    pid_alive(pid).then_some(pid)
}

fn print_usage(dir: &Path) -> Result<()> {
    let f = files(dir);
    let kubeconfig = std::fs::canonicalize(&f.kubeconfig).context("reading the kubeconfig path")?;
    let kubectl = sei_testenv::Binaries::get()?.kubectl.clone();
    println!("The simulated cluster is running.");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl (if you have none): {}", kubectl.display());
    println!("  logs: {}", std::fs::canonicalize(dir)?.display());
    println!("  stop it with: make demo-down");
    Ok(())
}

fn up(dir: &Path, port: Option<u16>, nodes: usize, operator: &OperatorArgs) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let f = files(dir);
    if running_pid(&f).is_some() {
        // Running, or still starting from another `up`: wait for it instead of racing it.
        let deadline = Instant::now() + Duration::from_secs(180);
        while !f.ready.exists() && running_pid(&f).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if f.ready.exists() && running_pid(&f).is_some() {
            return print_usage(dir);
        }
    }
    // Build (or find) the binaries in the foreground so progress and errors show here.
    sei_testenv::Binaries::get()?;
    for stale in [&f.ready, &f.error, &f.pid] {
        let _ = std::fs::remove_file(stale);
    }
    let log = std::fs::File::create(&f.log).with_context(|| format!("creating {}", f.log.display()))?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--state-dir").arg(dir).arg("serve").arg("--nodes").arg(nodes.to_string()).args(operator.to_args());
    if let Some(p) = port {
        cmd.arg("--port").arg(p.to_string());
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).spawn()?;
    std::fs::write(&f.pid, child.id().to_string())?;

    let deadline = Instant::now() + Duration::from_secs(180);
    while !f.ready.exists() {
        if let Some(status) = child.try_wait()? {
            let reason = std::fs::read_to_string(&f.error)
                .unwrap_or_else(|_| format!("the supervisor exited with {status}; see {}", f.log.display()));
            bail!("{}", reason.trim());
        }
        if Instant::now() > deadline {
            bail!("the cluster did not start within 180 s; see {}", f.log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    print_usage(dir)
}

fn down(dir: &Path) -> Result<()> {
    let f = files(dir);
    let Some(pid) = running_pid(&f) else {
        println!("The simulated cluster is not running.");
        let _ = std::fs::remove_dir_all(dir);
        return Ok(());
    };
    send_signal(pid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    while pid_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if pid_alive(pid) {
        send_signal(pid, libc::SIGKILL);
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    println!("The simulated cluster is stopped.");
    Ok(())
}

fn status(dir: &Path) -> Result<()> {
    let f = files(dir);
    if running_pid(&f).is_some() && f.ready.exists() {
        print_usage(dir)
    } else {
        println!("The simulated cluster is not running.");
        Ok(())
    }
}

fn serve(dir: &Path, port: Option<u16>, nodes: usize, operator: OperatorArgs) -> Result<()> {
    let f = files(dir);
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let mut options = Options::full();
        options.kwok_nodes = Some(nodes);
        options.apiserver_port = port;
        let root = std::fs::canonicalize(dir)?;
        options.root_dir = Some(root.join("cluster"));
        options.node_labels = vec![("karpenter.sh/nodepool".into(), sei_testenv::FAKE_NODE_TAINT_VALUE.into())];
        let cp = ControlPlane::start(options).await?;
        let client = cp.client().await?;
        let crds: String = sei_api_crds()?;
        apply_manifests(&client, &crds).await.context("installing the CRDs")?;
        std::fs::copy(cp.kubeconfig_path(), &f.kubeconfig)?;
        let _operator = match (operator.operator, operator.seictl) {
            (Some(op), Some(ctl)) => Some(start_operator(&root, &f, client, op, ctl).await?),
            _ => None,
        };
        let pids: Vec<String> = cp.pids().iter().map(|(name, pid)| format!("{name} {pid}")).collect();
        std::fs::write(&f.components, pids.join("\n") + "\n")?;
        std::fs::write(&f.ready, cp.server_url())?;
        eprintln!("cluster ready at {}", cp.server_url());

        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!("stopping");
        cp.stop();
        anyhow::Ok(())
    });
    if let Err(e) = &result {
        let _ = std::fs::write(&f.error, format!("{e:#}\n"));
    }
    result
}

/// The operator and what stands in for the pods' containers and the platform's genesis
/// and snapshot buckets; all stop when dropped.
struct OperatorParts {
    _runner: PodRunner,
    _operator: Process,
    _s3: S3Server,
}

async fn start_operator(
    root: &Path,
    f: &Files,
    client: kube::Client,
    op: PathBuf,
    seictl: PathBuf,
) -> Result<OperatorParts> {
    // The buckets the simulated platform names (SEI_GENESIS_BUCKET and the others), where
    // a genesis ceremony puts its artifacts.
    let s3 = S3Server::start(&["genesis", "snapshots", "results"]).context("starting the S3 server")?;
    // Where pods that tolerate nothing run (a bench workload Job), as a general node pool.
    sei_testenv::create_untainted_node(&client, "general-0").await.context("creating the general node")?;
    let runner = PodRunner::start(client, "default", seictl, &root.join("pods"), s3.env())
        .await
        .context("starting the pod runner")?;
    let cmd = sei_testenv::operator_command(&op, &std::fs::canonicalize(&f.kubeconfig)?, &runner.address_file);
    let operator = Process::spawn("sei-operator", cmd, &root.join("operator.log"))?;
    Ok(OperatorParts { _runner: runner, _operator: operator, _s3: s3 })
}

/// The CRD manifests from `deploy/crds/`.
fn sei_api_crds() -> Result<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    let mut text = String::new();
    for name in ["sei.io_seinodes.yaml", "sei.io_seinodedeployments.yaml"] {
        let path = dir.join(name);
        text += &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        text += "\n---\n";
    }
    Ok(text)
}
