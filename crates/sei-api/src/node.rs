//! `SeiNode`: one Sei node (full, archive, replayer or validator).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::common::NodePhase;
use crate::plan::TaskPlan;

/// Desired state of one Sei node. Exactly one of `fullNode`, `archive`, `replayer` and
/// `validator` selects its mode.
#[skip_serializing_none]
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "sei.io",
    version = "v1alpha1",
    kind = "SeiNode",
    plural = "seinodes",
    shortname = "snode",
    namespaced,
    doc = "One Sei node (full, archive, replayer or validator) and the Kubernetes objects that run it.",
    status = "SeiNodeStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.fullNode) ? 1 : 0) + (has(self.archive) ? 1 : 0) + (has(self.replayer) ? 1 : 0) + (has(self.validator) ? 1 : 0) == 1",
        "message": "exactly one of fullNode, archive, replayer, or validator must be set"
    },
    {
        "rule": "!has(self.replayer) || (has(self.peers) && size(self.peers) > 0)",
        "message": "peers is required when replayer mode is set"
    }
]))]
pub struct SeiNodeSpec {
    /// Chain ID the node joins, e.g. `pacific-1`. Restricted to letters, digits, `.`, `_`
    /// and `-` because it is passed to shell commands.
    #[schemars(length(min = 1), regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"))]
    pub chain_id: String,
    /// The `seid` container image.
    #[schemars(length(min = 1, max = 512))]
    pub image: String,
    /// Where the node finds its persistent peers. Required for replayers.
    pub peers: Option<Vec<PeerSource>>,
    /// Replaces the command run in the `seid` container.
    pub entrypoint: Option<EntrypointConfig>,
    /// Dotted seid config keys (e.g. `evm.http_port`) and the values to set.
    pub overrides: Option<BTreeMap<String, String>>,
    /// Image, port and resources of the sidecar container.
    pub sidecar: Option<SidecarConfig>,
    /// Extra labels for the pod template; also copied to the StatefulSet, Service and PVC.
    /// `sei.io/node` always wins.
    pub pod_labels: Option<BTreeMap<String, String>>,
    /// Use an existing PersistentVolumeClaim as the data volume.
    pub data_volume: Option<DataVolumeSpec>,
    /// Full node mode: serves RPC, optionally restored from a snapshot.
    pub full_node: Option<FullNodeSpec>,
    /// Archive mode: keeps all history, block-syncs from genesis.
    pub archive: Option<ArchiveSpec>,
    /// Replayer mode: replays blocks from a snapshot against peers.
    pub replayer: Option<ReplayerSpec>,
    /// Validator mode: signs blocks, or joins a genesis ceremony.
    pub validator: Option<ValidatorSpec>,
}

/// One source of peers; exactly one member must be set.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.ec2Tags) ? 1 : 0) + (has(self.static) ? 1 : 0) + (has(self.label) ? 1 : 0) == 1",
    "message": "exactly one of ec2Tags, static, or label must be set"
}]))]
pub struct PeerSource {
    /// EC2 instances carrying these tags (discovered by the sidecar).
    pub ec2_tags: Option<Ec2TagsPeerSource>,
    /// A fixed list of peers.
    pub r#static: Option<StaticPeerSource>,
    /// SeiNodes selected by labels (resolved by the operator).
    pub label: Option<LabelPeerSource>,
}

/// Peers found among EC2 instances by tag.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Ec2TagsPeerSource {
    /// AWS region to search.
    #[schemars(length(min = 1))]
    pub region: String,
    /// Tags every matching instance carries.
    #[schemars(extend("minProperties" = 1))]
    pub tags: BTreeMap<String, String>,
}

/// A fixed list of peers.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StaticPeerSource {
    /// Peer addresses as `nodeId@host:port`.
    #[schemars(length(min = 1))]
    pub addresses: Vec<String>,
}

/// SeiNodes selected by labels.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LabelPeerSource {
    /// Labels the peer SeiNodes carry.
    #[schemars(extend("minProperties" = 1))]
    pub selector: BTreeMap<String, String>,
    /// Namespace to search; empty means the node's own.
    pub namespace: Option<String>,
}

/// How a node gets its initial state instead of syncing from genesis; exactly one of
/// `s3` and `stateSync`.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.s3) ? 1 : 0) + (has(self.stateSync) ? 1 : 0) == 1",
    "message": "exactly one of s3 or stateSync must be set"
}]))]
pub struct SnapshotSource {
    /// Restore a snapshot from the platform snapshot bucket.
    pub s3: Option<S3SnapshotSource>,
    /// Use CometBFT state sync from peers.
    pub state_sync: Option<StateSyncSource>,
    /// State-sync trust period, e.g. `168h`.
    pub trust_period: Option<String>,
    /// Blocks to backfill after state sync (only when greater than 0).
    pub backfill_blocks: Option<i64>,
    /// With `s3`, restore and replay up to the target height in a separate bootstrap Job
    /// running this image before the node starts.
    pub bootstrap_image: Option<String>,
}

/// A snapshot in the platform snapshot bucket.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct S3SnapshotSource {
    /// Block height of the snapshot to restore.
    #[schemars(range(min = 1))]
    pub target_height: i64,
}

/// State sync from peers; no settings today.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct StateSyncSource {}

/// Command override of the `seid` container.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EntrypointConfig {
    /// The command to run.
    #[schemars(length(min = 1, max = 16))]
    pub command: Vec<String>,
    /// Its arguments.
    #[schemars(length(max = 64))]
    pub args: Option<Vec<String>>,
}

/// Settings of the sidecar container.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SidecarConfig {
    /// Sidecar image; empty means the operator's default.
    pub image: Option<String>,
    /// HTTP port of the sidecar API (7777 when unset or 0).
    #[schemars(extend("default" = 7777))]
    pub port: Option<i32>,
    /// Compute resources of the sidecar container.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::resource_requirements")]
    pub resources: Option<ResourceRequirements>,
}

/// Data volume settings.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(!has(oldSelf.import) || has(self.import))",
    "message": "import cannot be unset once configured"
}]))]
pub struct DataVolumeSpec {
    /// Adopt an existing PVC instead of creating one. It is never deleted by the operator.
    pub import: Option<DataVolumeImport>,
}

/// An existing PVC to use as the data volume.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataVolumeImport {
    /// Name of the PVC in the node's namespace. Immutable.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "pvcName is immutable"}])
    )]
    pub pvc_name: String,
}

/// Full node mode.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FullNodeSpec {
    /// Start from a snapshot; absent means block-sync from genesis.
    pub snapshot: Option<SnapshotSource>,
    /// Produce snapshots.
    pub snapshot_generation: Option<SnapshotGenerationConfig>,
}

/// Archive mode. Archive nodes never restore a snapshot.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveSpec {
    /// Produce snapshots.
    pub snapshot_generation: Option<SnapshotGenerationConfig>,
}

/// Replayer mode.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplayerSpec {
    /// Snapshot the replay starts from.
    pub snapshot: SnapshotSource,
    /// Where replay results go. Reserved: validated but not acted on yet.
    pub result_export: Option<ResultExportConfig>,
}

/// Snapshot production.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotGenerationConfig {
    /// CometBFT state-sync snapshots.
    pub tendermint: Option<TendermintSnapshotGenerationConfig>,
}

/// CometBFT snapshot production settings.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TendermintSnapshotGenerationConfig {
    /// Snapshots kept on disk (at least 2 when publishing).
    #[schemars(range(min = 1))]
    pub keep_recent: i32,
    /// Upload each snapshot to the platform snapshot bucket.
    pub publish: Option<PublishConfig>,
}

/// Snapshot publishing; no settings today.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct PublishConfig {}

/// Export of replay results.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResultExportConfig {
    /// Compare results with a canonical node.
    pub shadow_result: Option<ShadowResultConfig>,
}

/// Comparison against a canonical node.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShadowResultConfig {
    /// RPC address of the canonical node.
    #[schemars(length(min = 1))]
    pub canonical_rpc: String,
}

/// Validator mode.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.signingKey) == has(self.nodeKey)",
        "message": "signingKey and nodeKey must be set together (validators get both or neither)"
    },
    {
        "rule": "!has(self.signingKey) || !has(self.nodeKey) || self.signingKey.secret.secretName != self.nodeKey.secret.secretName",
        "message": "signingKey and nodeKey must reference distinct Secrets — packing both keys in one Secret collapses the bootstrap-pod trust boundary"
    }
]))]
pub struct ValidatorSpec {
    /// Start from a snapshot.
    pub snapshot: Option<SnapshotSource>,
    /// Genesis ceremony settings; written by the SeiNodeDeployment controller.
    pub genesis_ceremony: Option<GenesisCeremonyNodeConfig>,
    /// Consensus signing key (`priv_validator_key.json`); set together with `nodeKey`.
    pub signing_key: Option<SigningKeySource>,
    /// P2P node key (`node_key.json`), which fixes the node ID; set with `signingKey`.
    pub node_key: Option<NodeKeySource>,
}

/// Where the consensus signing key comes from; exactly one source.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.secret) ? 1 : 0) == 1",
    "message": "exactly one signing key source must be set"
}]))]
pub struct SigningKeySource {
    /// A Secret holding `priv_validator_key.json`.
    pub secret: Option<SecretKeyRef>,
}

/// Where the node key comes from; exactly one source.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.secret) ? 1 : 0) == 1",
    "message": "exactly one node key source must be set"
}]))]
pub struct NodeKeySource {
    /// A Secret holding `node_key.json`.
    pub secret: Option<SecretKeyRef>,
}

/// A Secret in the node's namespace holding a key file.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name in the node's namespace. Immutable.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "secretName is immutable"}])
    )]
    pub secret_name: String,
}

/// A validator's part in a genesis ceremony.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenesisCeremonyNodeConfig {
    /// Chain ID of the new chain.
    #[schemars(length(min = 1))]
    pub chain_id: String,
    /// Self-delegation, e.g. `10000000usei`.
    #[schemars(length(min = 1))]
    pub staking_amount: String,
    /// Genesis balance of the validator account.
    #[schemars(length(min = 1))]
    pub account_balance: String,
    /// Genesis parameter overrides as a JSON object string.
    pub genesis_params: Option<String>,
    /// Position of this validator in the ceremony (0-based).
    #[schemars(range(min = 0))]
    pub index: i32,
}

/// Observed state of a SeiNode.
#[skip_serializing_none]
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeiNodeStatus {
    /// Lifecycle phase.
    pub phase: Option<NodePhase>,
    /// Image observed fully rolled out.
    pub current_image: Option<String>,
    /// Conditions, one per type.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// When the phase was last set.
    pub phase_transition_time: Option<Time>,
    /// The current plan.
    pub plan: Option<TaskPlan>,
    /// Sorted, de-duplicated DNS names of the peers found by `label` sources.
    pub resolved_peers: Option<Vec<String>>,
    /// P2P address advertised to peers, when known.
    pub external_address: Option<String>,
}

impl SeiNodeSpec {
    /// The seid config mode: `archive`, `validator` or `full` (full nodes and replayers).
    pub fn mode(&self) -> &'static str {
        if self.archive.is_some() {
            "archive"
        } else if self.validator.is_some() {
            "validator"
        } else {
            "full"
        }
    }
}
