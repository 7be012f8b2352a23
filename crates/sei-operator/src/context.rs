//! What every reconcile shares.

use std::collections::HashMap;
use std::path::PathBuf;

use kube::Client;
use sei_planner::Platform;

pub struct Context {
    pub client: Client,
    pub platform: Platform,
    pub http: reqwest::Client,
    /// Development and test setting: a JSON file mapping `namespace/name` to a sidecar base
    /// URL, used instead of the pod's DNS name (see docs/operator.md).
    pub sidecar_addresses: Option<PathBuf>,
    pub metrics: crate::metrics::Metrics,
    /// Publishes Events as `seinode-controller`.
    pub recorder: kube::runtime::events::Recorder,
}

/// Sent with every API request, so that the operator's requests stand out in the API
/// server's audit log and metrics.
pub const USER_AGENT: &str = concat!("sei-operator/", env!("CARGO_PKG_VERSION"));

/// The operator's API client: `config` plus the operator's user agent.
pub fn client(mut config: kube::Config) -> Result<Client, kube::Error> {
    config.headers.push((http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT)));
    Client::try_from(config)
}

/// The Event recorder of the SeiNode controller.
pub fn recorder(client: &Client) -> kube::runtime::events::Recorder {
    kube::runtime::events::Recorder::new(client.clone(), sei_planner::names::MANAGER_NODE.into())
}

impl Context {
    /// The sidecar base URL of a node: its pod DNS name, unless the address file names it.
    pub fn sidecar_url(&self, namespace: &str, name: &str, default: String) -> String {
        let Some(path) = &self.sidecar_addresses else { return default };
        let map: HashMap<String, String> =
            std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        map.get(&format!("{namespace}/{name}")).cloned().unwrap_or(default)
    }
}
