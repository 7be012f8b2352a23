//! `docs/sidecar-openapi.json` is generated from the handlers; this fails when it drifts.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p sei-sidecar --test openapi`.

#[test]
fn committed_openapi_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/sidecar-openapi.json");
    let expected = sei_sidecar::openapi_json();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(committed == expected, "{path} is stale: run UPDATE_DOCS=1 cargo test -p sei-sidecar --test openapi");
}

#[test]
fn every_route_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&sei_sidecar::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v0/livez", &["get"][..]),
        ("/v0/healthz", &["get"]),
        ("/v0/status", &["get"]),
        ("/v0/metrics", &["get"]),
        ("/v0/node-id", &["get"]),
        ("/v0/tasks", &["get", "post"]),
        ("/v0/tasks/{id}", &["get", "delete"]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} is not documented");
        }
    }
    assert!(doc["paths"]["/v0/tasks"]["post"]["security"].is_array(), "submission needs the bearer token");
}
