//! Writes `deploy/rbac/role.yaml` (the operator's RBAC) from the code.

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rbac/role.yaml");
    std::fs::write(&path, sei_planner::rbac::manifest()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    println!("wrote {}", path.display());
}
