//! The committed manifests under `deploy/crds/` must be exactly what the types generate.

#[test]
fn committed_crds_match_the_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    for (name, crd) in sei_api::crd::all() {
        let path = dir.join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == sei_api::crd::to_yaml(&crd),
            "{} is out of date: run `cargo run -p sei-api --bin crdgen` and commit it",
            path.display()
        );
    }
}

#[test]
fn committed_api_reference_matches_the_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api-reference.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sei_api::crd::reference_markdown(),
        "{} is out of date: run `cargo run -p sei-api --bin crdgen` and commit it",
        path.display()
    );
}
