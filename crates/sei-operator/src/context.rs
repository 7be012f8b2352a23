//! What every reconcile shares.

use std::path::PathBuf;
use std::sync::Mutex;

use kube::Client;
use kube::runtime::reflector::{self, Store};
use sei_api::SeiNode;
use sei_planner::Platform;

use crate::addresses::AddressBook;
use crate::leader::Leadership;
use crate::memory::{Memory, OwnWrites, TokenCache};
use crate::reach::SidecarHttp;

pub struct Context {
    pub client: Client,
    pub platform: Platform,
    pub sidecar: SidecarHttp,
    /// Development and test setting: sidecar base URLs used instead of pods' DNS names.
    pub addresses: AddressBook,
    pub metrics: crate::metrics::Metrics,
    /// Publishes Events as `seinode-controller`.
    pub recorder: kube::runtime::events::Recorder,
    /// Publishes Events as `seinodedeployment-controller`.
    pub deployment_recorder: kube::runtime::events::Recorder,
    /// Sidecar tokens by node UID, so that a reconcile does not read the token Secret
    /// every time (it did: the most frequent request of a fleet).
    pub tokens: TokenCache,
    /// The operator's own latest write of each node, until the watch cache shows it.
    pub own_writes: OwnWrites,
    /// What the operator remembers of each node between reconciles.
    pub memory: Memory,
    /// Child SeiNodes of deployments, as the deployment controller's own watch sees them
    /// (the watch that triggers it, so a reconcile never reads an older copy than the
    /// event that woke it); set when that controller starts.
    pub children: std::sync::OnceLock<Store<SeiNode>>,
    /// Failed reconciles in a row per deployment, for the backoff and the log.
    pub fleet_failures: crate::memory::Failures,
    /// Failed genesis ceremonies in a row per deployment, for the pause before the next.
    pub ceremony_failures: crate::memory::Failures,
    /// Child SeiNodes the deployment controller deleted, until its cache shows it.
    pub deleted_children: crate::memory::Deleted,
    /// Whether a fleet's public hostname resolves yet.
    pub gate: crate::gate::DnsGate,
    /// Objects the deployment controller applied, so unchanged ones are not re-sent.
    pub applied: crate::memory::Applied,
    /// Every SeiNode, as the watch sees it (peers are resolved from here, not listed).
    pub nodes: Store<SeiNode>,
    node_writer: Mutex<Option<reflector::store::Writer<SeiNode>>>,
    /// Whether this replica may write (leader election).
    pub leadership: Leadership,
}

/// Starts the user agent of every API request, so that the operator's requests stand out
/// in the API server's audit log and metrics.
pub const USER_AGENT: &str = concat!("sei-operator/", env!("CARGO_PKG_VERSION"));

/// The operator's API client: `config` plus the operator's user agent, which names the
/// replica (`sei-operator/0.1.0 (pod-name)`) when `replica` is given.
pub fn client(mut config: kube::Config, replica: Option<&str>) -> Result<Client, kube::Error> {
    let agent = match replica {
        Some(name) => format!("{USER_AGENT} ({name})"),
        None => USER_AGENT.to_string(),
    };
    let value = http::HeaderValue::from_str(&agent).unwrap_or(http::HeaderValue::from_static(USER_AGENT));
    config.headers.push((http::header::USER_AGENT, value));
    Client::try_from(config)
}

/// The Event recorder of the SeiNode controller.
pub fn recorder(client: &Client) -> kube::runtime::events::Recorder {
    kube::runtime::events::Recorder::new(client.clone(), sei_planner::names::MANAGER_NODE.into())
}

impl Context {
    /// A context for `client` that always writes (no leader election).
    pub fn new(
        client: Client,
        platform: Platform,
        sidecar_addresses: Option<PathBuf>,
    ) -> Result<Context, reqwest::Error> {
        Context::with_leadership(client, platform, sidecar_addresses, Leadership::always())
    }

    pub fn with_leadership(
        client: Client,
        platform: Platform,
        sidecar_addresses: Option<PathBuf>,
        leadership: Leadership,
    ) -> Result<Context, reqwest::Error> {
        let (nodes, writer) = reflector::store();
        let gate = crate::gate::DnsGate::new(platform.gateway_resolver);
        Ok(Context {
            recorder: recorder(&client),
            deployment_recorder: kube::runtime::events::Recorder::new(
                client.clone(),
                sei_planner::names::MANAGER_DEPLOYMENT.into(),
            ),
            client,
            platform,
            sidecar: SidecarHttp::new()?,
            addresses: AddressBook::new(sidecar_addresses),
            metrics: Default::default(),
            tokens: Default::default(),
            own_writes: Default::default(),
            memory: Default::default(),
            children: Default::default(),
            fleet_failures: Default::default(),
            ceremony_failures: Default::default(),
            deleted_children: Default::default(),
            gate,
            applied: Default::default(),
            nodes,
            node_writer: Mutex::new(Some(writer)),
            leadership,
        })
    }

    /// The writer of [`Context::nodes`], for the one watch that fills it.
    pub(crate) fn take_node_writer(&self) -> Option<reflector::store::Writer<SeiNode>> {
        self.node_writer.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Forgets everything kept about nodes that no longer exist (deleted while another
    /// replica led, or whose finalizer someone else removed).
    pub fn sweep(&self) {
        let nodes = self.nodes.state();
        let uids: std::collections::HashSet<String> = nodes.iter().filter_map(|n| n.metadata.uid.clone()).collect();
        let names: std::collections::HashSet<(String, String)> = nodes
            .iter()
            .map(|n| (n.metadata.namespace.clone().unwrap_or_default(), n.metadata.name.clone().unwrap_or_default()))
            .collect();
        let keys = names.iter().map(|(ns, name)| format!("{ns}/{name}")).collect();
        self.memory.retain(&uids, &keys);
        self.tokens.retain(&uids);
        self.own_writes.retain(&uids);
        self.metrics.retain_nodes(&names);
    }

    /// Refuses a write while this replica does not lead: a reconcile that began before
    /// leadership was lost stops at its next write.
    pub fn check_writing(&self) -> Result<(), crate::error::Error> {
        if self.leadership.may_write() {
            Ok(())
        } else {
            Err(crate::error::Error::Transient("not writing: this replica does not hold the leader Lease".into()))
        }
    }

    /// The sidecar base URL of a node: its pod DNS name, unless the address file names it.
    pub fn sidecar_url(&self, namespace: &str, name: &str, default: String) -> String {
        self.addresses.get(namespace, name).unwrap_or(default)
    }
}
