//! `SeiNodeDeployment`: a fleet of SeiNodes built from one template.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::common::NodePhase;
use crate::node::SeiNodeSpec;
use crate::plan::TaskPlan;

/// Desired state of a fleet: `replicas` SeiNodes named `<deployment>-<ordinal>`.
#[skip_serializing_none]
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[kube(
    group = "sei.io",
    version = "v1alpha1",
    kind = "SeiNodeDeployment",
    plural = "seinodedeployments",
    shortname = "snd",
    namespaced,
    doc = "A fleet of SeiNodes built from one template, with optional genesis ceremony, networking and monitoring.",
    status = "SeiNodeDeploymentStatus",
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyReplicas"}"#,
    printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".status.replicas"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.rollout.entrantRevision","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.genesis) || has(self.template.spec.validator)",
    "message": "genesis is meaningful only for validator-role deployments (full nodes inherit genesis from the validator ceremony's S3 artifact); remove spec.genesis or set template.spec.validator: {}"
}]))]
pub struct SeiNodeDeploymentSpec {
    /// Number of SeiNodes (1 to 100).
    #[schemars(range(min = 1, max = 100), extend("default" = 1))]
    pub replicas: i32,
    /// Template of every child SeiNode.
    pub template: SeiNodeTemplate,
    /// What happens to child nodes and networking when the deployment is deleted.
    #[schemars(extend("default" = "Delete"))]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Run a genesis ceremony to start a new chain (validator templates only).
    pub genesis: Option<GenesisCeremonyConfig>,
    /// Public networking; its presence enables an external Service and HTTPRoutes.
    pub networking: Option<NetworkingConfig>,
    /// Prometheus Operator integration.
    pub monitoring: Option<MonitoringConfig>,
    /// How template changes roll out.
    pub update_strategy: UpdateStrategy,
}

/// Metadata and spec of the child SeiNodes.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeiNodeTemplate {
    /// Labels and annotations of the child SeiNodes.
    pub metadata: Option<TemplateMetadata>,
    /// Spec of every child SeiNode.
    pub spec: SeiNodeSpec,
}

/// The subset of object metadata a template may carry.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMetadata {
    /// Labels added to each child SeiNode (and its pod).
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations added to each child SeiNode.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Fate of owned resources when the deployment is deleted.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// Delete child nodes and networking (the default).
    #[default]
    Delete,
    /// Orphan child nodes and networking.
    Retain,
}

/// A genesis ceremony for a new chain.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenesisCeremonyConfig {
    /// Chain ID of the new chain.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"))]
    pub chain_id: String,
    /// Self-delegation of each validator.
    #[schemars(extend("default" = "10000000usei"))]
    pub staking_amount: Option<String>,
    /// Genesis balance of each validator account.
    #[schemars(extend(
        "default" = "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom"
    ))]
    pub account_balance: Option<String>,
    /// Extra funded accounts (bech32 `sei` addresses).
    pub accounts: Option<Vec<GenesisAccount>>,
    /// Genesis parameter overrides, passed to each validator as JSON.
    pub overrides: Option<BTreeMap<String, String>>,
    /// Upper bound on the ceremony's duration. Reserved: not enforced yet.
    pub max_ceremony_duration: Option<String>,
}

/// An extra account funded at genesis.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenesisAccount {
    /// bech32 address with prefix `sei`.
    #[schemars(length(min = 1))]
    pub address: String,
    /// Balance, e.g. `1000usei,5uatom`.
    #[schemars(length(min = 1))]
    pub balance: String,
}

/// Public networking; no settings today, its presence turns it on.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct NetworkingConfig {}

/// Monitoring integration.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfig {
    /// Create a Prometheus Operator ServiceMonitor.
    pub service_monitor: Option<ServiceMonitorConfig>,
}

/// ServiceMonitor settings.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorConfig {
    /// Scrape interval, e.g. `30s`.
    #[schemars(regex(pattern = r"^[0-9]+(ms|s|m|h)$"), extend("default" = "30s"))]
    pub interval: Option<String>,
    /// Labels added to the ServiceMonitor (for Prometheus selection).
    pub labels: Option<BTreeMap<String, String>>,
}

/// Roll-out strategy.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.type != 'HardFork' || (has(self.hardFork) && self.hardFork.haltHeight > 0)",
    "message": "hardFork strategy requires haltHeight > 0"
}]))]
pub struct UpdateStrategy {
    /// Strategy type.
    #[serde(rename = "type")]
    pub strategy_type: UpdateStrategyType,
    /// Hard-fork settings (required for `HardFork`).
    pub hard_fork: Option<HardForkStrategy>,
}

/// How a template change reaches the nodes.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateStrategyType {
    /// Update the existing nodes in place.
    #[default]
    InPlace,
    /// Bring up a new set of nodes, switch traffic, tear down the old set.
    BlueGreen,
    /// Like BlueGreen, with the new set starting at a halt height.
    HardFork,
}

/// Hard-fork roll-out settings.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HardForkStrategy {
    /// Height at which the old binary halts.
    #[schemars(range(min = 1))]
    pub halt_height: i64,
}

/// Observed state of a fleet.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeiNodeDeploymentStatus {
    /// Generation last fully acted on.
    pub observed_generation: Option<i64>,
    /// Hash of the template last fully rolled out (16 hex characters).
    pub template_hash: Option<String>,
    /// Fleet phase.
    pub phase: Option<DeploymentPhase>,
    /// Desired number of nodes.
    pub replicas: Option<i32>,
    /// Child nodes in phase Running.
    pub ready_replicas: Option<i32>,
    /// Running child nodes whose seid has caught up with the chain (their `CaughtUp`
    /// condition is True). Not in the reference.
    pub caught_up_replicas: Option<i32>,
    /// Phase of each child node.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub nodes: Option<Vec<NodeStatusEntry>>,
    /// The current group plan.
    pub plan: Option<TaskPlan>,
    /// Hash of the assembled genesis. Reserved: not written yet.
    pub genesis_hash: Option<String>,
    /// S3 URI of the assembled genesis. Reserved: not written yet.
    #[serde(rename = "genesisS3URI")]
    pub genesis_s3_uri: Option<String>,
    /// Names of the current child nodes.
    pub incumbent_nodes: Option<Vec<String>>,
    /// The active roll-out, if any.
    pub rollout: Option<RolloutStatus>,
    /// Public routes, when networking is on.
    pub networking_status: Option<NetworkingStatus>,
    /// The in-cluster Service in front of all nodes.
    pub internal_service: Option<InternalServiceStatus>,
    /// Per-node Services, sorted by ordinal.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub per_pod_services: Option<Vec<PerPodServiceStatus>>,
    /// Composed client URLs.
    pub endpoints: Option<EndpointsStatus>,
    /// Conditions, one per type.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
}

/// Phase of a fleet.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentPhase {
    Pending,
    Initializing,
    Ready,
    Upgrading,
    Degraded,
    Failed,
    Terminating,
}

/// Phase of one child node.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatusEntry {
    /// Child SeiNode name.
    pub name: String,
    /// Its phase.
    pub phase: Option<NodePhase>,
}

/// An active roll-out.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// Strategy in use.
    pub strategy: UpdateStrategyType,
    /// Template hash being rolled out.
    pub target_hash: String,
    /// When the roll-out started.
    pub started_at: Time,
    /// Nodes being replaced or updated.
    pub incumbent_nodes: Option<Vec<String>>,
    /// New nodes (BlueGreen and HardFork).
    pub entrant_nodes: Option<Vec<String>>,
    /// Revision of the incumbent nodes.
    pub incumbent_revision: Option<String>,
    /// Revision of the entrant nodes.
    pub entrant_revision: Option<String>,
}

/// Public routes.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkingStatus {
    /// One entry per HTTPRoute hostname.
    pub routes: Option<Vec<RouteStatus>>,
}

/// One public route.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// Public hostname.
    pub hostname: String,
    /// Protocol served (e.g. `evm-http`).
    pub protocol: Option<String>,
}

/// The internal ClusterIP Service.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InternalServiceStatus {
    /// Service name.
    pub name: String,
    /// Service namespace.
    pub namespace: String,
    /// Its ports.
    pub ports: InternalServicePorts,
}

/// Ports of the internal Service.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InternalServicePorts {
    /// CometBFT RPC.
    pub rpc: i32,
    /// EVM JSON-RPC over HTTP.
    pub evm_http: i32,
    /// Cosmos REST.
    pub rest: i32,
}

/// A per-node Service.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PerPodServiceStatus {
    /// Service name.
    pub name: String,
    /// Service namespace.
    pub namespace: String,
    /// Its ports.
    pub ports: PerPodServicePorts,
}

/// Ports of a per-node Service.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PerPodServicePorts {
    /// EVM JSON-RPC over HTTP.
    pub evm_http: i32,
    /// EVM JSON-RPC over WebSocket.
    pub evm_ws: i32,
}

/// Client URLs of the fleet.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointsStatus {
    /// CometBFT RPC URLs.
    pub tendermint_rpc: Option<Vec<String>>,
    /// Cosmos REST URLs.
    pub tendermint_rest: Option<Vec<String>>,
    /// EVM JSON-RPC URLs.
    pub evm_json_rpc: Option<Vec<String>>,
    /// EVM WebSocket URLs.
    pub evm_ws: Option<Vec<String>>,
}
