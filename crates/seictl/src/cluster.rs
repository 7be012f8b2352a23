//! Which cluster and namespace a command talks to, as kubectl decides it: `--kubeconfig`,
//! else `$KUBECONFIG` (several files merge), else `~/.kube/config`, else the in-cluster
//! account; `--context` picks a context; the namespace is `-n`, else the context's, else
//! the in-cluster account's, else `default`. (The reference fed `--kubeconfig` from
//! `$KUBECONFIG`, so a multi-file value failed instead of merging.)

use std::path::PathBuf;

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Path to a kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, else "default").
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// A connected client, the namespace to use and the API server's host (for messages).
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    pub host: String,
}

impl ClusterArgs {
    pub async fn connect(&self) -> anyhow::Result<Cluster> {
        let options = KubeConfigOptions { context: self.context.clone(), ..Default::default() };
        let config = match (&self.kubeconfig, &self.context) {
            (Some(path), _) => {
                let file = Kubeconfig::read_from(path).with_context(|| format!("--kubeconfig {}", path.display()))?;
                Config::from_custom_kubeconfig(file, &options)
                    .await
                    .with_context(|| format!("--kubeconfig {}", path.display()))?
            }
            (None, Some(context)) => {
                Config::from_kubeconfig(&options).await.with_context(|| format!("--context {context}"))?
            }
            (None, None) => Config::infer()
                .await
                .context("no cluster found: pass --kubeconfig, set KUBECONFIG, or run inside a cluster")?,
        };
        let namespace = self.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
        let host = config.cluster_url.host().unwrap_or("the API server").to_string();
        let client = Client::try_from(config).context("building the Kubernetes client")?;
        Ok(Cluster { client, namespace, host })
    }
}

/// One line for an error from the API server: its own message (which names the field for
/// an invalid object) and reason.
pub fn api_error(e: kube::Error) -> anyhow::Error {
    match e {
        kube::Error::Api(status) if status.reason.is_empty() => anyhow::anyhow!("{}", status.message),
        kube::Error::Api(status) => anyhow::anyhow!("{} ({})", status.message, status.reason),
        other => anyhow::anyhow!("talking to the API server: {other}"),
    }
}
