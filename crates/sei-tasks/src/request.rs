//! The body of `POST /v0/tasks`: `{"id"?, "type", "params"?}`, decoded in one step into a
//! task with typed parameters.

use std::borrow::Cow;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::task::{ParamsError, Task, TaskType, collect_params_schemas};

/// A task submission.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRequest {
    /// Caller-chosen task ID (a UUID); the sidecar picks one when absent or empty.
    pub id: Option<String>,
    pub task: Task,
}

/// Why a submission body is refused (the sidecar answers 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("invalid request body: {0}")]
    Body(String),
    #[error("type is required")]
    TypeRequired,
    #[error("unknown task type: {0}")]
    UnknownType(String),
    #[error(transparent)]
    Params(#[from] ParamsError),
}

/// The request as it is on the wire, before the task is typed. Unknown top-level keys are
/// refused too: a misspelt `params` would otherwise drop the parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    task_type: Option<String>,
    #[serde(default)]
    params: Option<Value>,
}

impl TaskRequest {
    pub fn new(id: impl Into<String>, task: Task) -> Self {
        TaskRequest { id: Some(id.into()), task }
    }

    pub fn task_type(&self) -> TaskType {
        self.task.task_type()
    }

    /// Decodes a request body, with messages that name the offending key.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| RequestError::Body(e.to_string()))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, RequestError> {
        let raw: Raw = serde_json::from_value(value).map_err(|e| RequestError::Body(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Self, RequestError> {
        let name = raw.task_type.filter(|t| !t.is_empty()).ok_or(RequestError::TypeRequired)?;
        let task_type: TaskType = name.parse().map_err(|_| RequestError::UnknownType(name))?;
        Ok(TaskRequest { id: raw.id, task: Task::decode(task_type, raw.params)? })
    }

    /// The request as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a request always encodes as JSON")
    }
}

impl Serialize for TaskRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let params = self.task.params();
        let mut map = s.serialize_map(None)?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("type", &self.task.task_type())?;
        if let Some(p) = &params {
            map.serialize_entry("params", p)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TaskRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Raw::deserialize(d)?;
        TaskRequest::from_raw(raw).map_err(D::Error::custom)
    }
}

/// One alternative per task type: `type` is that name and `params` its parameter schema
/// (required when the parameters have required fields).
impl PartialSchema for TaskRequest {
    fn schema() -> RefOr<Schema> {
        let mut one_of =
            OneOfBuilder::new().description(Some("A task submission: `type` selects the `params` schema."));
        for p in TaskType::params_schemas() {
            let mut object = ObjectBuilder::new()
                .title(Some(p.task.name()))
                .property(
                    "id",
                    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).description(Some(
                        "Caller-chosen UUID; resubmitting an ID is idempotent. Absent: a random one.",
                    )),
                )
                .property(
                    "type",
                    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).enum_values(Some([p.task.name()])),
                )
                .property("params", Ref::from_schema_name(p.name.clone()))
                .required("type")
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
            if p.required {
                object = object.required("params");
            }
            one_of = one_of.item(object);
        }
        RefOr::T(Schema::OneOf(one_of.build()))
    }
}

impl ToSchema for TaskRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TaskRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        collect_params_schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::*;
    use serde_json::json;

    fn err(body: Value) -> String {
        TaskRequest::from_value(body).unwrap_err().to_string()
    }

    #[test]
    fn decodes_in_one_step_and_encodes_back() {
        let body = json!({"id": "6f1c2d8e-9a0b-4c3d-8e7f-112233445566", "type": "snapshot-restore", "params": {"targetHeight": 100}});
        let req: TaskRequest = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(req.task, Task::SnapshotRestore(SnapshotRestoreParams { target_height: Some(100) }));
        assert_eq!(req.to_value(), body);
        let bare = TaskRequest::from_json(br#"{"type":"mark-ready"}"#).unwrap();
        assert_eq!((bare.id, bare.task), (None, Task::MarkReady(NoParams {})));
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        assert_eq!(err(json!({})), "type is required");
        assert_eq!(err(json!({"type": ""})), "type is required");
        assert_eq!(err(json!({"type": "frobnicate"})), "unknown task type: frobnicate");
        assert!(err(json!({"type": 7})).starts_with("invalid request body: invalid type"));
        assert!(err(json!({"type": "mark-ready", "param": {}})).contains("unknown field `param`"));
        assert!(err(json!([1])).starts_with("invalid request body"));
        let e = err(json!({"type": "snapshot-restore", "params": {"targetHeigth": 100}}));
        assert_eq!(e, "invalid params for snapshot-restore: unknown field `targetHeigth`, expected `targetHeight`");
        assert!(TaskRequest::from_json(b"{not json").unwrap_err().to_string().starts_with("invalid request body: "));
        // Through serde too, with the same message.
        let e = serde_json::from_str::<TaskRequest>(r#"{"type":"generate-identity","params":{"moniker":"m"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid params for generate-identity: missing field `chainId`"), "{e}");
    }

    #[test]
    fn the_schema_has_one_alternative_per_type() {
        let schema = serde_json::to_value(TaskRequest::schema()).unwrap();
        let alternatives = schema["oneOf"].as_array().unwrap();
        assert_eq!(alternatives.len(), 20);
        let restore = alternatives.iter().find(|a| a["title"] == "snapshot-restore").unwrap();
        assert_eq!(restore["required"], json!(["type"]));
        assert_eq!(restore["properties"]["params"]["$ref"], "#/components/schemas/SnapshotRestoreParams");
        let identity = alternatives.iter().find(|a| a["title"] == "generate-identity").unwrap();
        assert_eq!(identity["required"], json!(["type", "params"]));
        let mut schemas = Vec::new();
        TaskRequest::schemas(&mut schemas);
        assert!(schemas.iter().any(|(n, _)| n == "PeerSource"), "nested schemas are collected");
    }
}
