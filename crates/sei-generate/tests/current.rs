//! The committed generated files are what the code generates now.

use sei_generate::{FIX, files, repo_root, stale, write};

#[test]
fn every_generated_file_is_current() {
    let stale = stale(&repo_root(), &files());
    assert!(
        stale.is_empty(),
        "generated files out of date with the code:\n  {}\nrun `{FIX}` and commit the result",
        stale.join("\n  ")
    );
}

#[test]
fn the_check_names_exactly_the_changed_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = files();
    assert_eq!(write(dir.path(), &files).unwrap().len(), files.len(), "an empty tree has every file stale");
    assert_eq!(stale(dir.path(), &files), Vec::<String>::new());

    std::fs::write(dir.path().join("docs/config-validation.md"), "edited by hand\n").unwrap();
    std::fs::remove_file(dir.path().join("deploy/rbac/role.yaml")).unwrap();
    assert_eq!(stale(dir.path(), &files), ["deploy/rbac/role.yaml", "docs/config-validation.md"]);

    assert_eq!(write(dir.path(), &files).unwrap(), ["deploy/rbac/role.yaml", "docs/config-validation.md"]);
    assert_eq!(stale(dir.path(), &files), Vec::<String>::new());
}

#[test]
fn every_output_has_a_distinct_path_inside_the_repository() {
    let files = files();
    let mut paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), files.len(), "two outputs share a path");
    assert!(paths.iter().all(|p| !p.starts_with('/') && !p.contains("..")), "{paths:?}");
}
