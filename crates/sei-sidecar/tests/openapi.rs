//! The sidecar's OpenAPI document (committed as `docs/sidecar-openapi.json` by
//! `make generate`) covers every route.

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
