//! `SeiNodeDeployment`: a fleet of SeiNodes built from one template.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::NodePhase;
use crate::node::SeiNodeSpec;
use crate::plan::TaskPlan;

/// Desired state of a fleet: `replicas` SeiNodes named `<deployment>-<ordinal>`.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Delete"))]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Run a genesis ceremony to start a new chain (validator templates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis: Option<GenesisCeremonyConfig>,
    /// Public networking; its presence enables an external Service and HTTPRoutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<NetworkingConfig>,
    /// Prometheus Operator integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringConfig>,
    /// How template changes roll out.
    pub update_strategy: UpdateStrategy,
}

/// Metadata and spec of the child SeiNodes.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeiNodeTemplate {
    /// Labels and annotations of the child SeiNodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// Spec of every child SeiNode.
    pub spec: SeiNodeSpec,
}

/// The subset of object metadata a template may carry.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMetadata {
    /// Labels added to each child SeiNode (and its pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations added to each child SeiNode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenesisCeremonyConfig {
    /// Chain ID of the new chain.
    #[schemars(
        length(min = 1, max = 64),
        regex(pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
    )]
    pub chain_id: String,
    /// Self-delegation of each validator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "10000000usei"))]
    pub staking_amount: Option<String>,
    /// Genesis balance of each validator account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend(
        "default" = "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom"
    ))]
    pub account_balance: Option<String>,
    /// Extra funded accounts (bech32 `sei` addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<GenesisAccount>>,
    /// Genesis parameter overrides, passed to each validator as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<BTreeMap<String, String>>,
    /// Upper bound on the ceremony's duration. Reserved: not enforced yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ceremony_duration: Option<String>,
}

/// An extra account funded at genesis.
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
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringConfig {
    /// Create a Prometheus Operator ServiceMonitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_monitor: Option<ServiceMonitorConfig>,
}

/// ServiceMonitor settings.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorConfig {
    /// Scrape interval, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(ms|s|m|h)$"), extend("default" = "30s"))]
    pub interval: Option<String>,
    /// Labels added to the ServiceMonitor (for Prometheus selection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Roll-out strategy.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HardForkStrategy {
    /// Height at which the old binary halts.
    #[schemars(range(min = 1))]
    pub halt_height: i64,
}

/// Observed state of a fleet.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeiNodeDeploymentStatus {
    /// Generation last fully acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Hash of the template last fully rolled out (16 hex characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash: Option<String>,
    /// Fleet phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DeploymentPhase>,
    /// Desired number of nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Child nodes in phase Running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Phase of each child node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub nodes: Option<Vec<NodeStatusEntry>>,
    /// The current group plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<TaskPlan>,
    /// Hash of the assembled genesis. Reserved: not written yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_hash: Option<String>,
    /// S3 URI of the assembled genesis. Reserved: not written yet.
    #[serde(
        default,
        rename = "genesisS3URI",
        skip_serializing_if = "Option::is_none"
    )]
    pub genesis_s3_uri: Option<String>,
    /// Names of the current child nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incumbent_nodes: Option<Vec<String>>,
    /// The active roll-out, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    /// Public routes, when networking is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_status: Option<NetworkingStatus>,
    /// The in-cluster Service in front of all nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_service: Option<InternalServiceStatus>,
    /// Per-node Services, sorted by ordinal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub per_pod_services: Option<Vec<PerPodServiceStatus>>,
    /// Composed client URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<EndpointsStatus>,
    /// Conditions, one per type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatusEntry {
    /// Child SeiNode name.
    pub name: String,
    /// Its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<NodePhase>,
}

/// An active roll-out.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incumbent_nodes: Option<Vec<String>>,
    /// New nodes (BlueGreen and HardFork).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrant_nodes: Option<Vec<String>>,
    /// Revision of the incumbent nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incumbent_revision: Option<String>,
    /// Revision of the entrant nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrant_revision: Option<String>,
}

/// Public routes.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkingStatus {
    /// One entry per HTTPRoute hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Vec<RouteStatus>>,
}

/// One public route.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// Public hostname.
    pub hostname: String,
    /// Protocol served (e.g. `evm-http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The internal ClusterIP Service.
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
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PerPodServicePorts {
    /// EVM JSON-RPC over HTTP.
    pub evm_http: i32,
    /// EVM JSON-RPC over WebSocket.
    pub evm_ws: i32,
}

/// Client URLs of the fleet.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointsStatus {
    /// CometBFT RPC URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendermint_rpc: Option<Vec<String>>,
    /// Cosmos REST URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendermint_rest: Option<Vec<String>>,
    /// EVM JSON-RPC URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evm_json_rpc: Option<Vec<String>>,
    /// EVM WebSocket URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evm_ws: Option<Vec<String>>,
}
