//! Property tests of the two places untrusted input enters: request decoding (any body to
//! `POST /v0/tasks`) and the `config-patch` merge (any patch over any TOML). Nothing
//! panics, nothing answers 500, and every rejection says what is wrong.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Map, Value};
use tower::ServiceExt;

fn settings(home: &std::path::Path) -> sei_sidecar::Settings {
    let get = |k: &str| match k {
        "SEI_CHAIN_ID" => Some("pacific-1".into()),
        "SEI_GENESIS_BUCKET" | "SEI_SNAPSHOT_BUCKET" => Some("b".into()),
        "SEI_GENESIS_REGION" | "SEI_SNAPSHOT_REGION" => Some("r".into()),
        // Peers and the node RPC point nowhere: tasks fail fast instead of waiting.
        "SEI_NODE_RPC" => Some("http://127.0.0.1:9".into()),
        _ => None,
    };
    sei_sidecar::Settings::from_env(get, Some(home.to_path_buf()), Some(0), true).unwrap()
}

/// One app for every case (each case still gets fresh task IDs).
fn app() -> &'static (axum::Router, tokio::runtime::Runtime) {
    static APP: OnceLock<(axum::Router, tokio::runtime::Runtime)> = OnceLock::new();
    APP.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let home = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let (_, router) =
            rt.block_on(async { sei_sidecar::build(settings(home.path()), Default::default()).await.unwrap() });
        (router, rt)
    })
}

fn post(body: Vec<u8>) -> (StatusCode, Value) {
    let (router, rt) = app();
    rt.block_on(async {
        let req = Request::post("/v0/tasks").header("content-type", "application/json").body(Body::from(body)).unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_.-]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn task_request() -> impl Strategy<Value = Value> {
    let types = prop_oneof![
        Just("mark-ready".to_string()),
        Just("config-apply".to_string()),
        Just("config-patch".to_string()),
        Just("discover-peers".to_string()),
        Just("config-reload".to_string()),
        ".{0,10}",
    ];
    (prop::option::of(types), prop::option::of(json_value()), prop::option::of(json_value())).prop_map(
        |(t, id, params)| {
            let mut m = Map::new();
            if let Some(t) = t {
                m.insert("type".into(), t.into());
            }
            if let Some(id) = id {
                m.insert("id".into(), id);
            }
            if let Some(p) = params {
                m.insert("params".into(), p);
            }
            Value::Object(m)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_a_json_answer_and_never_500(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let (status, json) = post(body);
        prop_assert!(status.is_client_error() || status.is_success(), "{status}");
        if status.is_client_error() {
            prop_assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()), "{json}");
        }
    }

    #[test]
    fn any_json_request_is_accepted_or_refused_with_a_reason(req in task_request()) {
        let (status, json) = post(serde_json::to_vec(&req).unwrap());
        match status {
            // Accepted submissions answer 201 `{"id"}` and nothing else, as the reference.
            StatusCode::CREATED => {
                prop_assert!(json["id"].is_string());
                prop_assert_eq!(json.as_object().map(|o| o.len()), Some(1));
            }
            StatusCode::BAD_REQUEST => prop_assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()), "{json}"),
            other => prop_assert!(false, "unexpected {other} for {req}: {json}"),
        }
    }

    #[test]
    fn any_patch_over_any_toml_merges_or_explains(
        base in prop::collection::btree_map("[a-z]{1,6}", prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,6}", 0..4), 0..4),
        patch in prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..4),
    ) {
        let mut toml = String::new();
        for (table, keys) in &base {
            toml += &format!("[{table}]\n");
            for (k, v) in keys {
                toml += &format!("{k} = {v:?}\n");
            }
        }
        let patch: Map<String, Value> = patch.into_iter().collect();
        match sei_sidecar::tasks::merge_patch(&toml, &patch) {
            Ok(text) => {
                let parsed: toml::Table = toml::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                for (k, v) in &patch {
                    if v.is_null() { prop_assert!(!parsed.contains_key(k)); } else if !v.is_object() { prop_assert!(parsed.contains_key(k)); }
                }
            }
            Err(e) => prop_assert!(e.contains("null") || e.contains("number"), "{e}"),
        }
    }
}
