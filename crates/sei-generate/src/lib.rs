//! Every generated file of the repository, from the one place that knows them all. Each
//! crate keeps its own generation logic as a library function; this lists where each
//! output goes, writes them (`make generate`) and finds the stale ones (the test of this
//! crate, so `make test` fails when a committed file lags the code).

use std::path::{Path, PathBuf};

/// How to bring stale files up to date.
pub const FIX: &str = "make generate";

/// One generated file: its path relative to the repository root and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub path: String,
    pub text: String,
}

/// The repository root this crate was built from.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Every generated file with the content the code gives it now.
pub fn files() -> Vec<Generated> {
    let file = |path: String, text: String| Generated { path, text };
    let mut out: Vec<Generated> = Vec::new();
    for (name, crd) in sei_api::crd::all() {
        let yaml = sei_api::crd::to_yaml(&crd);
        out.push(file(format!("deploy/helm/sei-operator/crds/{name}"), yaml.clone()));
        out.push(file(format!("deploy/crds/{name}"), yaml));
    }
    out.push(file("docs/api-reference.md".into(), sei_api::crd::reference_markdown()));
    out.push(file("deploy/rbac/role.yaml".into(), sei_planner::rbac::manifest()));
    out.push(file("deploy/helm/sei-operator/templates/rbac.yaml".into(), sei_planner::rbac::helm_template()));
    out.push(file("docs/sidecar-openapi.json".into(), sei_sidecar::openapi_json()));
    out.push(file("docs/config-validation.md".into(), sei_config::rule_examples::markdown()));
    out
}

/// The files under `root` that are missing or differ from what the code generates.
pub fn stale(root: &Path, files: &[Generated]) -> Vec<String> {
    files
        .iter()
        .filter(|f| std::fs::read_to_string(root.join(&f.path)).ok().as_deref() != Some(f.text.as_str()))
        .map(|f| f.path.clone())
        .collect()
}

/// Writes the stale files under `root` and returns their paths; current files are left
/// untouched.
pub fn write(root: &Path, files: &[Generated]) -> std::io::Result<Vec<String>> {
    let stale = stale(root, files);
    for f in files.iter().filter(|f| stale.contains(&f.path)) {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &f.text)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    }
    Ok(stale)
}
