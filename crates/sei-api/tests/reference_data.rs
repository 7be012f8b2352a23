//! The reference files under `tests/data/reference/` are the copies their README lists:
//! every file has a row, and its SHA-256 matches the row, so a silent edit fails here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference");

/// `file -> sha256` from the README's table rows: ``| `file` | `source` | `sha256` |``.
fn listed() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(Path::new(DIR).join("README.md")).expect("the README exists");
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
            match cells.as_slice() {
                ["", file, _source, sha, ""] if sha.len() == 64 => Some((file.to_string(), sha.to_string())),
                _ => None,
            }
        })
        .collect()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() { files(&path, out) } else { out.push(path) }
    }
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_copied_file_is_listed_with_its_sha256() {
    let listed = listed();
    assert!(!listed.is_empty(), "no rows found in {DIR}/README.md");
    let mut found = Vec::new();
    files(Path::new(DIR), &mut found);
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for path in found {
        let rel = path.strip_prefix(DIR).unwrap().to_string_lossy().into_owned();
        if rel == "README.md" {
            continue;
        }
        match listed.get(&rel) {
            None => problems.push(format!("{rel}: not listed in README.md")),
            Some(want) => {
                let got = sha256(&path);
                if &got != want {
                    problems.push(format!("{rel}: SHA-256 {got}, README.md says {want}"));
                }
            }
        }
        seen.push(rel);
    }
    for rel in listed.keys().filter(|k| !seen.contains(k)) {
        problems.push(format!("{rel}: listed in README.md but missing"));
    }
    assert!(problems.is_empty(), "reference copies under {DIR} differ from their list:\n{}", problems.join("\n"));
}
