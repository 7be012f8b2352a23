//! Differential test: the same objects and reference samples, submitted under the
//! reference operator's CRDs and then under ours, get the same answer with the same
//! message, except for the deliberate fixes.

mod common;

use std::time::Duration;

use common::*;
use sei_testenv::{ControlPlane, Options, apply_manifests};
use serde_json::json;

/// Installs `crds` and waits until the API server enforces them: the chainId fix tells the
/// two CRD sets apart.
async fn install(cp: &ControlPlane, crds: &str, ours: bool) {
    let client = cp.client().await.unwrap();
    apply_manifests(&client, crds).await.expect("CRDs install");
    let probe = json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNode", "metadata": {"name": "probe"},
        "spec": {"chainId": "a;b", "image": "i", "fullNode": {}}});
    for _ in 0..200 {
        if apply(&client, "default", &probe, true).await.is_err() == ours {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the API server never switched to the {} CRDs", if ours { "new" } else { "reference" });
}

async fn outcomes(cp: &ControlPlane, ns: &str) -> Vec<(String, Result<(), String>)> {
    let client = cp.client().await.unwrap();
    create_namespace(&client, ns).await;
    let mut results = Vec::new();
    for case in corpus() {
        results.push((case.name.to_string(), run_case(&client, ns, &case).await));
    }
    let samples = reference_dir().join("samples");
    for dir in ["seinode", "seinodedeployment"] {
        let mut files: Vec<_> = std::fs::read_dir(samples.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let out = cp
                .kubectl()
                .unwrap()
                .args(["apply", "--dry-run=server", "-f", file.to_str().unwrap()])
                .output()
                .unwrap();
            let result =
                if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) };
            results.push((format!("sample {}", file.display()), result));
        }
    }
    results
}

#[tokio::test]
async fn same_answers_as_the_reference_crds_except_the_fixes() {
    let cp = ControlPlane::start(Options::api_only()).await.expect("control plane starts");
    install(&cp, &reference_crds(), false).await;
    let reference = outcomes(&cp, "reference").await;
    install(&cp, &our_crds(), true).await;
    let ours = outcomes(&cp, "ours").await;

    let fixes: Vec<_> = corpus().into_iter().filter_map(|c| c.reference.map(|r| (c.name, r))).collect();
    let mut wrong = Vec::new();
    for ((name, r), (_, o)) in reference.iter().zip(&ours) {
        match fixes.iter().find(|(fix, _)| fix == name) {
            // A fix: the reference gives its documented answer, ours differs.
            Some((_, expected)) => {
                if !matches(expected, r) || r == o {
                    wrong.push(format!("{name}: reference {r:?}, ours {o:?}"));
                }
            }
            None => {
                if r != o {
                    wrong.push(format!("{name}:\n  reference {r:?}\n  ours      {o:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "answers that differ from the reference:\n{}", wrong.join("\n"));
    cp.stop();
}
