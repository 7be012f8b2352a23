//! Sidecar task parameters as a SeiNode plan stores them (`.status.plan.tasks[].params`),
//! and their conversion into the request the sidecar receives.
//!
//! The reference operator stores the JSON of its typed task structs, which mostly carry no
//! JSON tags: keys are Go field names (`{"TargetHeight": 100}`, `{"ChainID": ...}`), read
//! back case-insensitively. These forms write exactly those keys and also read the
//! camelCase spelling. The conversion carries the reference client's validation
//! (controller.md §6.3) and its "left out when zero or empty" rules (§9.2).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::params::*;
use crate::request::TaskRequest;
use crate::task::{Task, TaskType};

/// Stored parameters that cannot be sent: the message names the stored key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{task}: {message}")]
pub struct StoredError {
    pub task: TaskType,
    pub message: String,
}

/// `snapshot-restore`: `{"TargetHeight": n}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredSnapshotRestore {
    #[serde(rename = "TargetHeight", alias = "targetHeight", default)]
    pub target_height: i64,
}

/// `config-apply`: the flat config intent (the reference's struct has JSON tags here).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredConfigApply {
    #[serde(alias = "Mode", default)]
    pub mode: String,
    #[serde(alias = "Overrides", default)]
    pub overrides: BTreeMap<String, String>,
    #[serde(rename = "targetVersion", alias = "TargetVersion", default, skip_serializing_if = "is_zero")]
    pub target_version: i64,
    #[serde(alias = "Incremental", default, skip_serializing_if = "std::ops::Not::not")]
    pub incremental: bool,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `discover-peers`: `{"Sources": [...]}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredDiscoverPeers {
    #[serde(rename = "Sources", alias = "sources", default)]
    pub sources: Vec<StoredPeerSource>,
}

/// One peer source as stored: the reference's flat struct (lowercase tags, empty fields
/// left out), whatever its type.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredPeerSource {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
}

impl StoredPeerSource {
    pub fn ec2_tags(region: impl Into<String>, tags: BTreeMap<String, String>) -> Self {
        StoredPeerSource { kind: "ec2Tags".into(), region: region.into(), tags, ..Default::default() }
    }

    pub fn static_addresses(addresses: Vec<String>) -> Self {
        StoredPeerSource { kind: "static".into(), addresses, ..Default::default() }
    }

    pub fn dns_endpoints(endpoints: Vec<String>) -> Self {
        StoredPeerSource { kind: "dnsEndpoints".into(), endpoints, ..Default::default() }
    }
}

/// `configure-state-sync`: every field is stored, zero or not.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredStateSync {
    #[serde(rename = "UseLocalSnapshot", alias = "useLocalSnapshot", default)]
    pub use_local_snapshot: bool,
    #[serde(rename = "TrustPeriod", alias = "trustPeriod", default)]
    pub trust_period: String,
    #[serde(rename = "BackfillBlocks", alias = "backfillBlocks", default)]
    pub backfill_blocks: i64,
}

/// `generate-identity`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredGenerateIdentity {
    #[serde(rename = "ChainID", alias = "chainId", default)]
    pub chain_id: String,
    #[serde(rename = "Moniker", alias = "moniker", default)]
    pub moniker: String,
}

/// `generate-gentx`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredGenerateGentx {
    #[serde(rename = "ChainID", alias = "chainId", default)]
    pub chain_id: String,
    #[serde(rename = "StakingAmount", alias = "stakingAmount", default)]
    pub staking_amount: String,
    #[serde(rename = "AccountBalance", alias = "accountBalance", default)]
    pub account_balance: String,
    #[serde(rename = "GenesisParams", alias = "genesisParams", default)]
    pub genesis_params: String,
}

/// `upload-genesis-artifacts`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredUploadGenesisArtifacts {
    #[serde(rename = "NodeName", alias = "nodeName", default)]
    pub node_name: String,
}

/// `assemble-and-upload-genesis`; `Accounts` is stored as `[]` when there are none.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredAssembleGenesis {
    #[serde(rename = "AccountBalance", alias = "accountBalance", default)]
    pub account_balance: String,
    #[serde(rename = "Namespace", alias = "namespace", default)]
    pub namespace: String,
    #[serde(rename = "Nodes", alias = "nodes", default)]
    pub nodes: Vec<GenesisNode>,
    #[serde(rename = "Accounts", alias = "accounts", default)]
    pub accounts: Vec<GenesisAccount>,
}

/// A sidecar task as a plan stores it. Only the types the operator plans have a stored
/// form (controller.md §6.3).
#[derive(Clone, Debug, PartialEq)]
pub enum StoredTask {
    SnapshotRestore(StoredSnapshotRestore),
    ConfigureGenesis,
    ConfigApply(StoredConfigApply),
    DiscoverPeers(StoredDiscoverPeers),
    ConfigureStateSync(StoredStateSync),
    ConfigValidate,
    MarkReady,
    SnapshotUpload,
    GenerateIdentity(StoredGenerateIdentity),
    GenerateGentx(StoredGenerateGentx),
    UploadGenesisArtifacts(StoredUploadGenesisArtifacts),
    SetGenesisPeers,
    AssembleAndUploadGenesis(StoredAssembleGenesis),
}

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("stored parameters always encode as JSON")
}

impl StoredTask {
    pub fn task_type(&self) -> TaskType {
        match self {
            StoredTask::SnapshotRestore(_) => TaskType::SnapshotRestore,
            StoredTask::ConfigureGenesis => TaskType::ConfigureGenesis,
            StoredTask::ConfigApply(_) => TaskType::ConfigApply,
            StoredTask::DiscoverPeers(_) => TaskType::DiscoverPeers,
            StoredTask::ConfigureStateSync(_) => TaskType::ConfigureStateSync,
            StoredTask::ConfigValidate => TaskType::ConfigValidate,
            StoredTask::MarkReady => TaskType::MarkReady,
            StoredTask::SnapshotUpload => TaskType::SnapshotUpload,
            StoredTask::GenerateIdentity(_) => TaskType::GenerateIdentity,
            StoredTask::GenerateGentx(_) => TaskType::GenerateGentx,
            StoredTask::UploadGenesisArtifacts(_) => TaskType::UploadGenesisArtifacts,
            StoredTask::SetGenesisPeers => TaskType::SetGenesisPeers,
            StoredTask::AssembleAndUploadGenesis(_) => TaskType::AssembleAndUploadGenesis,
        }
    }

    /// The JSON the plan stores.
    pub fn params(&self) -> Value {
        match self {
            StoredTask::SnapshotRestore(p) => to_value(p),
            StoredTask::ConfigApply(p) => to_value(p),
            StoredTask::DiscoverPeers(p) => to_value(p),
            StoredTask::ConfigureStateSync(p) => to_value(p),
            StoredTask::GenerateIdentity(p) => to_value(p),
            StoredTask::GenerateGentx(p) => to_value(p),
            StoredTask::UploadGenesisArtifacts(p) => to_value(p),
            StoredTask::AssembleAndUploadGenesis(p) => to_value(p),
            StoredTask::ConfigureGenesis
            | StoredTask::ConfigValidate
            | StoredTask::MarkReady
            | StoredTask::SnapshotUpload
            | StoredTask::SetGenesisPeers => Value::Object(Map::new()),
        }
    }

    /// Reads a plan's stored parameters (absent and `null` are `{}`).
    pub fn decode(task: TaskType, params: Option<&Value>) -> Result<StoredTask, StoredError> {
        fn read<T: DeserializeOwned>(task: TaskType, params: Option<&Value>) -> Result<T, StoredError> {
            crate::task::decode(params.cloned())
                .map_err(|m| StoredError { task, message: format!("stored params: {m}") })
        }
        Ok(match task {
            TaskType::SnapshotRestore => StoredTask::SnapshotRestore(read(task, params)?),
            TaskType::ConfigApply => StoredTask::ConfigApply(read(task, params)?),
            TaskType::DiscoverPeers => StoredTask::DiscoverPeers(read(task, params)?),
            TaskType::ConfigureStateSync => StoredTask::ConfigureStateSync(read(task, params)?),
            TaskType::GenerateIdentity => StoredTask::GenerateIdentity(read(task, params)?),
            TaskType::GenerateGentx => StoredTask::GenerateGentx(read(task, params)?),
            TaskType::UploadGenesisArtifacts => StoredTask::UploadGenesisArtifacts(read(task, params)?),
            TaskType::AssembleAndUploadGenesis => StoredTask::AssembleAndUploadGenesis(read(task, params)?),
            TaskType::ConfigureGenesis
            | TaskType::ConfigValidate
            | TaskType::MarkReady
            | TaskType::SnapshotUpload
            | TaskType::SetGenesisPeers => {
                read::<NoParams>(task, params)?;
                match task {
                    TaskType::ConfigureGenesis => StoredTask::ConfigureGenesis,
                    TaskType::ConfigValidate => StoredTask::ConfigValidate,
                    TaskType::MarkReady => StoredTask::MarkReady,
                    TaskType::SnapshotUpload => StoredTask::SnapshotUpload,
                    _ => StoredTask::SetGenesisPeers,
                }
            }
            other => {
                return Err(StoredError { task, message: format!("{other} is not a task the operator plans") });
            }
        })
    }

    /// The task to submit, after the reference client's checks.
    pub fn to_wire(&self) -> Result<Task, StoredError> {
        let task = self.task_type();
        let invalid = |message: String| StoredError { task, message };
        let required = |key: &str, value: &str| {
            if value.is_empty() { Err(invalid(format!("{key} is required"))) } else { Ok(value.to_string()) }
        };
        Ok(match self {
            StoredTask::SnapshotRestore(p) => Task::SnapshotRestore(SnapshotRestoreParams {
                target_height: (p.target_height > 0).then_some(p.target_height),
            }),
            StoredTask::ConfigureGenesis => Task::ConfigureGenesis(NoParams {}),
            StoredTask::ConfigValidate => Task::ConfigValidate(NoParams {}),
            StoredTask::MarkReady => Task::MarkReady(NoParams {}),
            StoredTask::SnapshotUpload => Task::SnapshotUpload(NoParams {}),
            StoredTask::SetGenesisPeers => Task::SetGenesisPeers(NoParams {}),
            StoredTask::ConfigApply(p) => {
                let intent = sei_config::ConfigIntent {
                    mode: p.mode.clone(),
                    overrides: p.overrides.clone(),
                    target_version: p.target_version,
                    incremental: p.incremental,
                };
                let problems: Vec<String> =
                    intent.validate().into_iter().map(|d| format!("{}: {}", d.field, d.message)).collect();
                if !problems.is_empty() {
                    return Err(invalid(format!("invalid config intent: {}", problems.join("; "))));
                }
                Task::ConfigApply(ConfigApplyParams {
                    mode: Some(p.mode.clone()),
                    incremental: Some(p.incremental),
                    target_version: Some(p.target_version),
                    overrides: (!p.overrides.is_empty()).then(|| p.overrides.clone()),
                })
            }
            StoredTask::DiscoverPeers(p) => {
                if p.sources.is_empty() {
                    return Err(invalid("Sources: at least one peer source is required".into()));
                }
                let sources = p
                    .sources
                    .iter()
                    .enumerate()
                    .map(|(i, s)| peer_source(s).map_err(|m| invalid(format!("Sources[{i}] ({}): {m}", s.kind))))
                    .collect::<Result<_, _>>()?;
                Task::DiscoverPeers(DiscoverPeersParams { sources })
            }
            StoredTask::ConfigureStateSync(p) => Task::ConfigureStateSync(ConfigureStateSyncParams {
                use_local_snapshot: p.use_local_snapshot.then_some(true),
                trust_period: (!p.trust_period.is_empty()).then(|| p.trust_period.clone()),
                backfill_blocks: (p.backfill_blocks > 0).then_some(p.backfill_blocks),
            }),
            StoredTask::GenerateIdentity(p) => Task::GenerateIdentity(GenerateIdentityParams {
                chain_id: required("ChainID", &p.chain_id)?,
                moniker: required("Moniker", &p.moniker)?,
            }),
            StoredTask::GenerateGentx(p) => Task::GenerateGentx(GenerateGentxParams {
                chain_id: required("ChainID", &p.chain_id)?,
                staking_amount: required("StakingAmount", &p.staking_amount)?,
                account_balance: required("AccountBalance", &p.account_balance)?,
                genesis_params: (!p.genesis_params.is_empty()).then(|| p.genesis_params.clone()),
            }),
            StoredTask::UploadGenesisArtifacts(p) => Task::UploadGenesisArtifacts(UploadGenesisArtifactsParams {
                node_name: required("NodeName", &p.node_name)?,
            }),
            StoredTask::AssembleAndUploadGenesis(p) => {
                let account_balance = required("AccountBalance", &p.account_balance)?;
                let namespace = required("Namespace", &p.namespace)?;
                if p.nodes.is_empty() {
                    return Err(invalid("Nodes: at least one node is required".into()));
                }
                for (i, n) in p.nodes.iter().enumerate() {
                    required(&format!("Nodes[{i}].name"), &n.name)?;
                }
                for (i, a) in p.accounts.iter().enumerate() {
                    required(&format!("Accounts[{i}].balance"), &a.balance)?;
                    check_sei_address(&a.address).map_err(|m| invalid(format!("Accounts[{i}].address: {m}")))?;
                }
                Task::AssembleAndUploadGenesis(AssembleGenesisParams {
                    account_balance,
                    namespace,
                    nodes: p.nodes.clone(),
                    accounts: (!p.accounts.is_empty()).then(|| p.accounts.clone()),
                })
            }
        })
    }

    /// The submission of this task under `id`.
    pub fn to_request(&self, id: impl Into<String>) -> Result<TaskRequest, StoredError> {
        Ok(TaskRequest::new(id, self.to_wire()?))
    }
}

fn peer_source(s: &StoredPeerSource) -> Result<PeerSource, String> {
    let extra = |allowed: &[&str]| -> Result<(), String> {
        let present = [
            ("region", !s.region.is_empty()),
            ("tags", !s.tags.is_empty()),
            ("addresses", !s.addresses.is_empty()),
            ("endpoints", !s.endpoints.is_empty()),
        ];
        match present.iter().find(|(k, set)| *set && !allowed.contains(k)) {
            Some((k, _)) => Err(format!("{k} does not belong to this source type")),
            None => Ok(()),
        }
    };
    match s.kind.as_str() {
        "ec2Tags" => {
            extra(&["region", "tags"])?;
            if s.region.is_empty() {
                return Err("region is required".into());
            }
            if s.tags.is_empty() {
                return Err("at least one tag is required".into());
            }
            Ok(PeerSource::Ec2Tags { region: s.region.clone(), tags: s.tags.clone() })
        }
        "static" => {
            extra(&["addresses"])?;
            if s.addresses.is_empty() {
                return Err("at least one address is required".into());
            }
            Ok(PeerSource::Static { addresses: s.addresses.clone() })
        }
        "dnsEndpoints" => {
            extra(&["endpoints"])?;
            if s.endpoints.is_empty() {
                return Err("at least one endpoint is required".into());
            }
            Ok(PeerSource::DnsEndpoints { endpoints: s.endpoints.clone() })
        }
        "" => Err("type is required".into()),
        other => Err(format!("unknown source type {other:?} (ec2Tags, static or dnsEndpoints)")),
    }
}

/// A bech32 account address with human-readable part `sei`.
fn check_sei_address(address: &str) -> Result<(), String> {
    let (hrp, _) = bech32::decode(address).map_err(|e| format!("{address:?} is not bech32: {e}"))?;
    if hrp.as_str() != "sei" {
        return Err(format!("{address:?} has prefix {:?}, not \"sei\"", hrp.as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(task: TaskType, stored: Value) -> Result<Option<Value>, String> {
        let stored = StoredTask::decode(task, Some(&stored)).map_err(|e| e.to_string())?;
        stored.to_wire().map(|t| t.params()).map_err(|e| e.to_string())
    }

    #[test]
    fn stored_keys_are_read_in_go_and_camel_case() {
        for stored in [json!({"TargetHeight": 100}), json!({"targetHeight": 100})] {
            assert_eq!(wire(TaskType::SnapshotRestore, stored), Ok(Some(json!({"targetHeight": 100}))));
        }
        let p = StoredTask::decode(TaskType::GenerateIdentity, Some(&json!({"chainId": "c", "Moniker": "m"}))).unwrap();
        assert_eq!(p.params(), json!({"ChainID": "c", "Moniker": "m"}), "written back in the reference's keys");
    }

    #[test]
    fn unknown_stored_keys_and_unplanned_types_are_errors() {
        let err = StoredTask::decode(TaskType::SnapshotRestore, Some(&json!({"TargetHeigth": 1}))).unwrap_err();
        assert!(err.to_string().contains("unknown field `TargetHeigth`"), "{err}");
        let err = StoredTask::decode(TaskType::UploadFile, None).unwrap_err();
        assert!(err.to_string().contains("not a task the operator plans"), "{err}");
        assert!(StoredTask::decode(TaskType::MarkReady, Some(&json!({"x": 1}))).is_err());
    }

    #[test]
    fn invalid_params_are_errors_that_name_the_field() {
        let err = wire(TaskType::GenerateIdentity, json!({"ChainID": "c"})).unwrap_err();
        assert!(err.contains("Moniker is required"), "{err}");
        let err = wire(TaskType::DiscoverPeers, json!({"Sources": []})).unwrap_err();
        assert!(err.contains("Sources: at least one"), "{err}");
        let err = wire(TaskType::DiscoverPeers, json!({"Sources": [{"type": "dnsEndpoints"}]})).unwrap_err();
        assert!(err.contains("Sources[0] (dnsEndpoints): at least one endpoint"), "{err}");
        let err = wire(TaskType::DiscoverPeers, json!({"Sources": [{"type": "ec2Tags", "tags": {"a": "b"}}]}));
        assert!(err.unwrap_err().contains("region is required"));
        let err =
            wire(TaskType::DiscoverPeers, json!({"Sources": [{"type": "static", "addresses": ["a"], "region": "r"}]}));
        assert!(err.unwrap_err().contains("region does not belong"));
        let err =
            wire(TaskType::ConfigApply, json!({"mode": "full", "overrides": {"evm.http-port": "1"}})).unwrap_err();
        assert!(err.contains("overrides.evm.http-port"), "{err}");
        assert!(wire(TaskType::ConfigApply, json!({"mode": "observer"})).unwrap_err().contains("mode"));
        let assemble = |accounts: Value| {
            wire(
                TaskType::AssembleAndUploadGenesis,
                json!({"AccountBalance": "1usei", "Namespace": "ns", "Nodes": [{"name": "a"}], "Accounts": accounts}),
            )
        };
        let address = |hrp: &str| bech32::encode::<bech32::Bech32>(bech32::Hrp::parse(hrp).unwrap(), &[7; 20]).unwrap();
        let err = assemble(json!([{"address": address("cosmos"), "balance": "1usei"}]));
        assert!(err.unwrap_err().contains("Accounts[0].address"), "wrong prefix");
        let ok = assemble(json!([{"address": address("sei"), "balance": "1usei"}])).unwrap().unwrap();
        assert_eq!(ok["accounts"][0]["address"], address("sei"));
        let err = assemble(json!([{"address": "sei1nope", "balance": "1usei"}]));
        assert!(err.unwrap_err().contains("not bech32"));
        let err = wire(
            TaskType::AssembleAndUploadGenesis,
            json!({"AccountBalance": "1usei", "Namespace": "ns", "Nodes": []}),
        );
        assert!(err.unwrap_err().contains("Nodes: at least one node"));
    }
}
