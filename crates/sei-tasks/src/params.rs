//! The `params` of each sidecar task as they travel in a submission (camelCase keys).
//!
//! Every struct refuses unknown keys, so a misspelt key is an error instead of a silently
//! defaulted value. Required fields have no default; optional ones are `Option`s, which
//! also makes decode → encode reproduce the request exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The parameters of a task that takes none: absent, `null` and `{}` are accepted, any key
/// is refused.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// `config-apply`: a config intent (sei-config's `ConfigIntent`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigApplyParams {
    /// `validator`, `full`, `seed` or `archive`; required unless `incremental`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// True: edit the files on disk; false (default): render them from the mode's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<bool>,
    /// Config schema version; 0 or absent means the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<i64>,
    /// Dotted unified keys to string values, e.g. `"evm.http_port": "8545"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<BTreeMap<String, String>>,
}

impl From<ConfigApplyParams> for sei_config::ConfigIntent {
    fn from(p: ConfigApplyParams) -> Self {
        sei_config::ConfigIntent {
            mode: p.mode.unwrap_or_default(),
            overrides: p.overrides.unwrap_or_default(),
            target_version: p.target_version.unwrap_or(0),
            incremental: p.incremental.unwrap_or(false),
        }
    }
}

/// `config-patch`: file name in `config/` → JSON merge patch in seid's own keys.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatchParams {
    #[schema(value_type = BTreeMap<String, Object>)]
    pub files: BTreeMap<String, Map<String, Value>>,
}

/// `config-reload`: hot-reloadable unified keys → new values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigReloadParams {
    pub fields: BTreeMap<String, String>,
}

/// `discover-peers`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverPeersParams {
    pub sources: Vec<PeerSource>,
}

/// Where `discover-peers` looks for peers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum PeerSource {
    /// Running EC2 instances carrying every tag, asked for their node ID.
    #[serde(rename = "ec2Tags")]
    Ec2Tags { region: String, tags: BTreeMap<String, String> },
    /// Peers given as `<id>@<host>:<port>`.
    #[serde(rename = "static")]
    Static { addresses: Vec<String> },
    /// Hosts asked for their node ID on the RPC port.
    #[serde(rename = "dnsEndpoints")]
    DnsEndpoints { endpoints: Vec<String> },
}

/// `configure-state-sync`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigureStateSyncParams {
    /// Trust height from the newest local snapshot instead of the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_local_snapshot: Option<bool>,
    /// Go duration, e.g. `168h0m0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_blocks: Option<i64>,
}

/// `snapshot-restore`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotRestoreParams {
    /// The highest snapshot at or below this height; absent or 0: the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_height: Option<i64>,
}

/// `generate-identity`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateIdentityParams {
    pub chain_id: String,
    pub moniker: String,
}

/// `generate-gentx`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateGentxParams {
    pub chain_id: String,
    /// One coin, e.g. `1000000usei`.
    pub staking_amount: String,
    /// Coins, e.g. `10000000usei`.
    pub account_balance: String,
    /// Accepted and not applied, as in the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_params: Option<String>,
}

/// `upload-genesis-artifacts`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadGenesisArtifactsParams {
    /// The SeiNode name: the artifacts go under `<chain>/<nodeName>/`.
    pub node_name: String,
}

/// A validator of a genesis ceremony.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenesisNode {
    pub name: String,
}

/// An account funded at genesis besides the validators.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// `sei1...`
    pub address: String,
    /// Coins, e.g. `5usei`.
    pub balance: String,
}

/// `assemble-and-upload-genesis`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssembleGenesisParams {
    /// Balance of every validator's account.
    pub account_balance: String,
    /// Kubernetes namespace of the nodes (for the peer addresses).
    pub namespace: String,
    pub nodes: Vec<GenesisNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<GenesisAccount>>,
}

/// `assemble-genesis-fork`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssembleGenesisForkParams {
    /// The chain whose `<sourceChainId>/exported-state.json` is the starting point.
    pub source_chain_id: String,
    /// The new chain's ID.
    pub chain_id: String,
    pub account_balance: String,
    pub namespace: String,
    pub nodes: Vec<GenesisNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<GenesisAccount>>,
}

/// `export-state`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportStateParams {
    pub chain_id: String,
    pub s3_bucket: String,
    pub s3_region: String,
    /// Export at this height (> 0); absent: the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// Absent: `<chainId>/exported-state.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
}

/// `upload-file`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadFileParams {
    /// Absolute path of a file under the seid home.
    pub file: String,
    pub bucket: String,
    pub key: String,
    pub region: String,
}

/// `result-export`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultExportParams {
    pub bucket: String,
    pub region: String,
    /// Key prefix; a `/` is added when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Absent: the local node (`SEI_NODE_RPC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_endpoint: Option<String>,
    /// Set: compare every block with this node instead of exporting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_rpc: Option<String>,
}

/// `await-condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwaitConditionParams {
    pub condition: AwaitCondition,
    /// The height to wait for (> 0).
    pub target_height: i64,
    /// What to do once the condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<AwaitAction>,
}

/// What `await-condition` waits for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum AwaitCondition {
    /// The local node's latest block height reaches `targetHeight`.
    #[serde(rename = "height")]
    Height,
}

/// What `await-condition` does when the condition holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum AwaitAction {
    /// Stop seid (SIGTERM, SIGKILL after 30 s); needs the pod's shared process namespace.
    #[serde(rename = "SIGTERM_SEID")]
    SigtermSeid,
}
