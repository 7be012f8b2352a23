//! Hand-written schemas for fields whose Rust type comes from `k8s-openapi` or is free-form,
//! so that the generated CRD carries the same constraints as the reference's
//! (kubebuilder-generated) one.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Pattern of a Kubernetes resource quantity, as the API server publishes it.
const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// `[]metav1.Condition`, stored as a list-map keyed by `type`.
pub fn conditions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Standard Kubernetes conditions, one per type.",
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {
            "type": "object",
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
            "properties": {
                "lastTransitionTime": {
                    "description": "When the condition last changed status.",
                    "type": "string", "format": "date-time"
                },
                "message": {
                    "description": "Human-readable details of the last transition.",
                    "type": "string", "maxLength": 32768
                },
                "observedGeneration": {
                    "description": "metadata.generation the condition was set from.",
                    "type": "integer", "format": "int64", "minimum": 0
                },
                "reason": {
                    "description": "CamelCase machine-readable reason of the last transition.",
                    "type": "string", "minLength": 1, "maxLength": 1024,
                    "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
                },
                "status": {
                    "description": "True, False or Unknown.",
                    "type": "string", "enum": ["True", "False", "Unknown"]
                },
                "type": {
                    "description": "Condition type in CamelCase or foo.example.com/CamelCase.",
                    "type": "string", "maxLength": 316,
                    "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
                }
            }
        }
    })
}

fn quantity_map(description: &str) -> serde_json::Value {
    serde_json::json!({
        "description": description,
        "type": "object",
        "additionalProperties": {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "x-kubernetes-int-or-string": true
        }
    })
}

/// `corev1.ResourceRequirements` with quantity patterns and the `claims` list-map.
pub fn resource_requirements(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Compute resources of the sidecar container, applied verbatim.",
        "type": "object",
        "properties": {
            "claims": {
                "description": "Dynamic resource claims used by the container.",
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"description": "Name of a pod resource claim.", "type": "string"},
                        "request": {"description": "Request within the claim.", "type": "string"}
                    }
                }
            },
            "limits": quantity_map("Maximum compute resources allowed."),
            "requests": quantity_map("Minimum compute resources required.")
        }
    })
}

/// Arbitrary JSON kept verbatim by the API server (task parameters).
pub fn preserve_unknown(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Task parameters: self-contained JSON, shape depends on the task type.",
        "x-kubernetes-preserve-unknown-fields": true
    })
}
