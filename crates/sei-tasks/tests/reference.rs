//! Byte-compatibility with the reference: the request and response examples of the specs
//! (copied into `tests/data/reference-examples.json`, each with its source) decode into
//! the contract's types and encode back to the same JSON, and the plan's stored params
//! convert into exactly the wire params the reference operator sends.

use sei_tasks::{
    ErrorResponse, NodeIdResponse, NodeStatus, StatusResponse, StoredTask, SubmitResponse, Task, TaskRequest,
    TaskResult, TaskStatus, TaskType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn examples() -> Value {
    serde_json::from_str(include_str!("data/reference-examples.json")).expect("the examples file is JSON")
}

fn entries<'a>(all: &'a Value, section: &str) -> &'a [Value] {
    all[section].as_array().unwrap_or_else(|| panic!("no {section} in the examples"))
}

fn round_trip<T: Serialize + DeserializeOwned>(source: &str, body: &Value) -> T {
    let typed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{source}: {e}\n{body}"));
    assert_eq!(&serde_json::to_value(&typed).unwrap(), body, "{source}: re-encoded differently");
    typed
}

#[test]
fn every_request_example_decodes_and_encodes_back_unchanged() {
    let all = examples();
    let mut seen = std::collections::BTreeSet::new();
    for e in entries(&all, "requests") {
        let (source, body) = (e["source"].as_str().unwrap(), &e["body"]);
        let req: TaskRequest = round_trip(source, body);
        // The same through the sidecar's body decoder.
        let again = TaskRequest::from_json(&serde_json::to_vec(body).unwrap()).unwrap();
        assert_eq!(again, req, "{source}");
        assert_eq!(req.task_type().name(), body["type"], "{source}");
        seen.insert(req.task_type());
    }
    let missing: Vec<&str> = TaskType::ALL.iter().filter(|t| !seen.contains(t)).map(|t| t.name()).collect();
    assert!(missing.is_empty(), "no request example of {missing:?}");
}

#[test]
fn every_response_example_has_the_shape_of_its_type() {
    let all = examples();
    for e in entries(&all, "responses") {
        let (source, body) = (e["source"].as_str().unwrap(), &e["body"]);
        match e["type"].as_str().unwrap() {
            "TaskResult" => {
                round_trip::<TaskResult>(source, body);
            }
            "SubmitResponse" => {
                round_trip::<SubmitResponse>(source, body);
            }
            "ErrorResponse" => {
                round_trip::<ErrorResponse>(source, body);
            }
            "StatusResponse" => {
                round_trip::<StatusResponse>(source, body);
            }
            "NodeIdResponse" => {
                round_trip::<NodeIdResponse>(source, body);
            }
            other => panic!("{source}: unknown response type {other}"),
        }
    }
}

#[test]
fn typed_responses_encode_to_the_reference_shapes() {
    let failed = TaskResult {
        id: "6f1c2d8e-9a0b-4c3d-8e7f-112233445566".into(),
        task_type: "snapshot-restore".into(),
        status: TaskStatus::Failed,
        run: 2,
        params: Some(json!({"targetHeight": 1200000})),
        error: "snapshot-restore: S3: object \"pacific-1/state-sync/1200000.tar.gz\" not found in s3://my-bucket [hint: <operator hint>]".into(),
        submitted_at: "2026-05-05T10:00:00.123456789Z".into(),
        completed_at: Some("2026-05-05T10:00:03.5Z".into()),
    };
    let all = examples();
    assert_eq!(serde_json::to_value(&failed).unwrap(), entries(&all, "responses")[0]["body"]);
    // Omission rules of sidecar.md §2.11: params when null or empty, error when empty,
    // completedAt until completion.
    let running = TaskResult {
        status: TaskStatus::Running,
        params: Some(json!({})),
        error: String::new(),
        completed_at: None,
        ..failed
    };
    let v = serde_json::to_value(&running).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, ["id", "run", "status", "submittedAt", "type"]);
    assert_eq!(
        serde_json::to_value(StatusResponse {
            status: NodeStatus::Ready,
            catching_up: None,
            latest_block_height: None
        })
        .unwrap(),
        json!({"status": "Ready"})
    );
    assert_eq!(serde_json::to_value(ErrorResponse::new("task not found")).unwrap(), json!({"error": "task not found"}));
    assert_eq!(serde_json::to_value(SubmitResponse { id: "x".into() }).unwrap(), json!({"id": "x"}));
    assert_eq!(serde_json::to_value(NodeIdResponse { node_id: "ab".into() }).unwrap(), json!({"nodeId": "ab"}));
}

#[test]
fn stored_params_convert_to_exactly_the_wire_params_of_every_planned_type() {
    let all = examples();
    let mut seen = std::collections::BTreeSet::new();
    for e in entries(&all, "conversions") {
        let source = e["source"].as_str().unwrap();
        let task: TaskType = e["type"].as_str().unwrap().parse().unwrap();
        let stored = StoredTask::decode(task, Some(&e["stored"])).unwrap_or_else(|err| panic!("{source}: {err}"));
        assert_eq!(stored.params(), e["stored"], "{source}: the stored form is written back unchanged");
        let request =
            stored.to_request("6f1c2d8e-9a0b-4c3d-8e7f-112233445566").unwrap_or_else(|err| panic!("{source}: {err}"));
        let body = request.to_value();
        let wire = &e["wire"];
        assert_eq!(body.get("params").unwrap_or(&Value::Null), wire, "{source}");
        if wire.is_null() {
            assert!(body.get("params").is_none(), "{source}: params must be left out, not null");
        }
        // What the operator sends is what the sidecar accepts, unchanged.
        assert_eq!(serde_json::from_value::<TaskRequest>(body.clone()).unwrap(), request, "{source}");
        seen.insert(task);
    }
    let planned = [
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
        "snapshot-upload",
        "generate-identity",
        "generate-gentx",
        "upload-genesis-artifacts",
        "set-genesis-peers",
        "assemble-and-upload-genesis",
    ];
    for name in planned {
        assert!(seen.contains(&name.parse().unwrap()), "no conversion example of {name}");
    }
}

#[test]
fn the_reference_operators_requests_are_all_accepted() {
    // Built the way the reference client's builders build them (zero values left out).
    let t =
        Task::decode(TaskType::ConfigApply, Some(json!({"mode": "full", "incremental": false, "targetVersion": 0})));
    assert!(t.is_ok(), "{t:?}");
    let t = TaskRequest::from_json(br#"{"id":"6f1c2d8e-9a0b-4c3d-8e7f-112233445566","type":"snapshot-upload"}"#);
    assert!(t.is_ok(), "{t:?}");
}
