//! Writes the CRD manifests to `deploy/crds/` (or the directory given as the first
//! argument) and the field reference to `docs/api-reference.md`. `--check`
//! compares instead of writing and exits 1 on drift.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().unwrap_or(repo);
    let mut dir = repo.join("deploy/crds");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: crdgen [--check] [DIR]  (default DIR: deploy/crds)");
                return ExitCode::SUCCESS;
            }
            other => dir = PathBuf::from(other),
        }
    }
    let mut drift = false;
    let docs = repo.join("docs/api-reference.md");
    let outputs = sei_api::crd::all()
        .into_iter()
        .map(|(name, crd)| (dir.join(name), sei_api::crd::to_yaml(&crd)))
        .chain([(docs, sei_api::crd::reference_markdown())]);
    for (path, text) in outputs {
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                eprintln!("crdgen: {} is out of date", path.display());
                drift = true;
            }
        } else if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
            eprintln!("crdgen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("wrote {}", path.display());
        }
    }
    if drift {
        eprintln!("crdgen: run `cargo run -p sei-api --bin crdgen` and commit the result");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
