//! The sidecar task types, listed once: each with its wire name, its parameter type and
//! whether the operator waits for its result.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::params::*;

/// A `type` that names no task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task type: {0}")]
pub struct UnknownTaskType(pub String);

/// Parameters that do not fit their task's type; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid params for {task}: {message}")]
pub struct ParamsError {
    pub task: TaskType,
    pub message: String,
}

/// Decodes `value` into `T`; the message leads with the path of the offending value when
/// it is nested, e.g. `sources[1]: missing field ...` or `overrides.mempool.size: invalid
/// type ...` (an unknown key is named by the message itself).
pub(crate) fn decode_value<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    use serde_path_to_error::Segment;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut segments: Vec<&Segment> = e.path().iter().collect();
        let message = e.inner().to_string();
        // Where the path ends in the unknown key itself, the message names it already.
        let unknown = message.strip_prefix("unknown field `").and_then(|m| m.split('`').next());
        if matches!((unknown, segments.last()), (Some(u), Some(Segment::Map { key })) if key == u) {
            segments.pop();
        }
        let mut path = String::new();
        for segment in segments {
            match segment {
                Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Segment::Unknown => path.push('?'),
            }
        }
        if path.is_empty() { message } else { format!("{path}: {message}") }
    })
}

/// Decodes `params` (absent and `null` count as `{}`) into `P`. Only an object is taken:
/// serde would also fill a struct from an array, by position.
pub(crate) fn decode<P: DeserializeOwned>(params: Option<Value>) -> Result<P, String> {
    match params {
        None | Some(Value::Null) => decode_value(Value::Object(Map::new())),
        Some(p @ Value::Object(_)) => decode_value(p),
        Some(_) => Err("params must be a JSON object".into()),
    }
}

/// The schema name of one task's `params`, and whether a request must carry them.
pub(crate) struct ParamsSchema {
    pub task: TaskType,
    pub name: String,
    pub required: bool,
}

fn params_schema<P: ToSchema>(task: TaskType) -> ParamsSchema {
    let required = matches!(P::schema(), RefOr::T(Schema::Object(o)) if !o.required.is_empty());
    ParamsSchema { task, name: P::name().into_owned(), required }
}

macro_rules! tasks {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $params:ty, fire_and_forget: $ff:literal; )*) => {
        /// A sidecar task type. Serialised as its wire name, e.g. `snapshot-restore`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum TaskType {
            $( $(#[$doc])* $variant, )*
        }

        impl TaskType {
            /// Every task type, in the order of the reference's catalogue.
            pub const ALL: &'static [TaskType] = &[ $( TaskType::$variant, )* ];

            /// The wire name.
            pub const fn name(self) -> &'static str {
                match self { $( TaskType::$variant => $name, )* }
            }

            /// Whether the operator considers the task done once the sidecar accepted it,
            /// without polling its result (controller.md §6.3).
            pub const fn is_fire_and_forget(self) -> bool {
                match self { $( TaskType::$variant => $ff, )* }
            }

            pub(crate) fn params_schemas() -> Vec<ParamsSchema> {
                vec![ $( params_schema::<$params>(TaskType::$variant), )* ]
            }
        }

        impl FromStr for TaskType {
            type Err = UnknownTaskType;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(TaskType::$variant), )*
                    other => Err(UnknownTaskType(other.to_string())),
                }
            }
        }

        /// A task with its typed parameters.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Task {
            $( $(#[$doc])* $variant($params), )*
        }

        impl Task {
            pub fn task_type(&self) -> TaskType {
                match self { $( Task::$variant(_) => TaskType::$variant, )* }
            }

            /// Decodes the `params` of a task of type `task` (absent and `null` are `{}`).
            pub fn decode(task: TaskType, params: Option<Value>) -> Result<Task, ParamsError> {
                let result = match task {
                    $( TaskType::$variant => decode::<$params>(params).map(Task::$variant), )*
                };
                result.map_err(|message| ParamsError { task, message })
            }

            /// The `params` to send: `None` when they encode to an empty object, which the
            /// reference's operator leaves out.
            pub fn params(&self) -> Option<Value> {
                let value = match self {
                    $( Task::$variant(p) => serde_json::to_value(p), )*
                };
                let value = value.expect("task parameters always encode as JSON");
                match &value {
                    Value::Object(o) if o.is_empty() => None,
                    _ => Some(value),
                }
            }
        }

        /// The schemas of every parameter type, for the OpenAPI document.
        pub(crate) fn collect_params_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            $(
                schemas.push((<$params as ToSchema>::name().into_owned(), <$params as PartialSchema>::schema()));
                <$params as ToSchema>::schemas(schemas);
            )*
        }
    };
}

tasks! {
    /// Place `config/genesis.json`.
    ConfigureGenesis = "configure-genesis", NoParams, fire_and_forget: false;
    /// Render `config.toml` and `app.toml` from a config intent.
    ConfigApply = "config-apply", ConfigApplyParams, fire_and_forget: false;
    /// Merge-patch files in `config/` with seid's own keys.
    ConfigPatch = "config-patch", ConfigPatchParams, fire_and_forget: false;
    /// Validate the config files.
    ConfigValidate = "config-validate", NoParams, fire_and_forget: true;
    /// Change hot-reloadable settings.
    ConfigReload = "config-reload", ConfigReloadParams, fire_and_forget: false;
    /// Resolve peers into `[p2p] persistent-peers`.
    DiscoverPeers = "discover-peers", DiscoverPeersParams, fire_and_forget: false;
    /// Point the node at the other validators of a genesis ceremony.
    SetGenesisPeers = "set-genesis-peers", NoParams, fire_and_forget: false;
    /// Fill `[statesync]` with a trust point.
    ConfigureStateSync = "configure-state-sync", ConfigureStateSyncParams, fire_and_forget: false;
    /// Seed `data/snapshots` from an S3 snapshot archive.
    SnapshotRestore = "snapshot-restore", SnapshotRestoreParams, fire_and_forget: false;
    /// Publish local snapshots periodically (runs until cancelled).
    SnapshotUpload = "snapshot-upload", NoParams, fire_and_forget: true;
    /// Mark the node ready.
    MarkReady = "mark-ready", NoParams, fire_and_forget: true;
    /// Create the node's keys.
    GenerateIdentity = "generate-identity", GenerateIdentityParams, fire_and_forget: false;
    /// Create the validator's account and signed genesis transaction.
    GenerateGentx = "generate-gentx", GenerateGentxParams, fire_and_forget: false;
    /// Publish the gentx and node key for the assembler.
    UploadGenesisArtifacts = "upload-genesis-artifacts", UploadGenesisArtifactsParams, fire_and_forget: false;
    /// Assemble and publish a new chain's genesis.
    AssembleAndUploadGenesis = "assemble-and-upload-genesis", AssembleGenesisParams, fire_and_forget: false;
    /// Assemble a genesis from another chain's exported state.
    AssembleGenesisFork = "assemble-genesis-fork", AssembleGenesisForkParams, fire_and_forget: false;
    /// Run `seid export` and upload the state.
    ExportState = "export-state", ExportStateParams, fire_and_forget: false;
    /// Upload a file under the seid home to S3.
    UploadFile = "upload-file", UploadFileParams, fire_and_forget: false;
    /// Export block results, or compare them with a canonical node.
    ResultExport = "result-export", ResultExportParams, fire_and_forget: false;
    /// Wait for a block height, optionally stopping seid then.
    AwaitCondition = "await-condition", AwaitConditionParams, fire_and_forget: false;
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TaskType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TaskType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip_and_are_unique() {
        assert_eq!(TaskType::ALL.len(), 20);
        let mut names: Vec<&str> = TaskType::ALL.iter().map(|t| t.name()).collect();
        for t in TaskType::ALL {
            assert_eq!(t.name().parse::<TaskType>(), Ok(*t));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 20);
        assert_eq!("frobnicate".parse::<TaskType>().unwrap_err().to_string(), "unknown task type: frobnicate");
    }

    #[test]
    fn only_three_types_are_fire_and_forget() {
        let ff: Vec<&str> = TaskType::ALL.iter().filter(|t| t.is_fire_and_forget()).map(|t| t.name()).collect();
        assert_eq!(ff, ["config-validate", "snapshot-upload", "mark-ready"]);
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_it() {
        let err = Task::decode(TaskType::SnapshotRestore, Some(json!({"targetHeigth": 100}))).unwrap_err();
        assert!(err.to_string().contains("unknown field `targetHeigth`, expected `targetHeight`"), "{err}");
        assert!(err.to_string().starts_with("invalid params for snapshot-restore: "), "{err}");
    }

    #[test]
    fn missing_required_fields_and_wrong_types_are_errors_naming_the_field() {
        let err = Task::decode(TaskType::GenerateIdentity, Some(json!({"chainId": "c"}))).unwrap_err();
        assert!(err.message.contains("missing field `moniker`"), "{err}");
        let err = Task::decode(TaskType::GenerateIdentity, Some(json!({"chainId": 5, "moniker": "m"}))).unwrap_err();
        assert!(err.message.contains("chainId") && err.message.contains("invalid type"), "{err}");
        let err = Task::decode(
            TaskType::DiscoverPeers,
            Some(json!({"sources": [{"type": "static", "addresses": []}, {"type": "ec2Tags", "regoin": "x"}]})),
        )
        .unwrap_err();
        assert!(err.message.starts_with("sources[1]: unknown field `regoin`"), "{err}");
        let err = Task::decode(TaskType::ConfigApply, Some(json!({"overrides": {"mempool.size": 5}}))).unwrap_err();
        assert!(err.message.contains("overrides.mempool.size") && err.message.contains("expected a string"), "{err}");
    }

    #[test]
    fn tasks_without_params_accept_absent_null_and_empty_and_refuse_keys() {
        for params in [None, Some(Value::Null), Some(json!({}))] {
            assert_eq!(Task::decode(TaskType::MarkReady, params).unwrap(), Task::MarkReady(NoParams {}));
        }
        let err = Task::decode(TaskType::MarkReady, Some(json!({"now": true}))).unwrap_err();
        assert!(err.message.contains("unknown field `now`"), "{err}");
        for not_an_object in [json!([]), json!([1]), json!("x"), json!(1)] {
            let err = Task::decode(TaskType::MarkReady, Some(not_an_object)).unwrap_err();
            assert_eq!(err.message, "params must be a JSON object");
        }
        let by_position = Task::decode(TaskType::GenerateIdentity, Some(json!(["c", "m"])));
        assert!(by_position.is_err(), "an array does not fill a struct by position");
        assert_eq!(Task::MarkReady(NoParams {}).params(), None);
    }
}
