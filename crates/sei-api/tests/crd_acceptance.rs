//! Our CRDs on a real kube-apiserver: every CEL rule, bound and pattern gives the answer
//! and message it should, the reference samples get the expected outcome through kubectl,
//! and accepted objects round-trip unchanged.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use sei_api::{SeiNode, SeiNodeDeployment};
use sei_testenv::{ControlPlane, Options, apply_manifests};
use serde_json::Value;

async fn cluster() -> &'static ControlPlane {
    let cp = sei_testenv::shared(Options::api_only()).await.expect("control plane starts");
    apply_manifests(&cp.client().await.unwrap(), &our_crds()).await.expect("our CRDs install");
    cp
}

#[tokio::test]
async fn every_rule_gives_its_answer_and_message() {
    let cp = cluster().await;
    let client = cp.client().await.unwrap();
    create_namespace(&client, "rules").await;
    let mut wrong = Vec::new();
    for case in corpus() {
        let result = run_case(&client, "rules", &case).await;
        if !matches(&case.ours, &result) {
            wrong.push(format!("{}: expected {:?}, got {:?}", case.name, case.ours, result));
        }
    }
    assert!(wrong.is_empty(), "cases with the wrong outcome:\n{}", wrong.join("\n"));
}

fn sample_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["seinode", "seinodedeployment"] {
        let dir = reference_dir().join("samples").join(dir);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

/// Expected kubectl outcome per reference sample: `None` accepted, `Some(text)` rejected
/// with a message containing `text`. Three samples are invalid under the reference CRDs
/// too: one uses fields the CRD lacks, both deployments omit the required updateStrategy.
fn expected_sample_outcome(file: &Path) -> Option<&'static str> {
    match file.file_name().unwrap().to_str().unwrap() {
        "pacific-1-state-syncer.yaml" => Some(r#"unknown field "spec.genesis""#),
        "genesis-ceremony.yaml" | "pacific-1-rpc-group.yaml" => Some("spec.updateStrategy: Required value"),
        _ => None,
    }
}

fn kubectl(cp: &ControlPlane, args: &[&str]) -> Output {
    cp.kubectl().unwrap().args(args).output().expect("kubectl runs")
}

#[tokio::test]
async fn reference_samples_get_the_expected_outcome_through_kubectl() {
    let cp = cluster().await;
    for file in sample_files() {
        let out = kubectl(cp, &["apply", "--dry-run=server", "-f", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match expected_sample_outcome(&file) {
            None => assert!(out.status.success(), "{} was rejected: {stderr}", file.display()),
            Some(text) => {
                assert!(!out.status.success(), "{} was accepted", file.display());
                assert!(stderr.contains(text), "{}: expected {text:?} in {stderr}", file.display());
            }
        }
    }
}

/// Every path of `input` holds the same value in `output`.
fn contained(input: &Value, output: &Value, path: &str, missing: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                match o.get(k) {
                    Some(ov) => contained(v, ov, &format!("{path}.{k}"), missing),
                    None => missing.push(format!("{path}.{k}")),
                }
            }
        }
        (i, o) if i != o => missing.push(format!("{path}: {i} became {o}")),
        _ => {}
    }
}

/// Paths in `output` that `input` lacks.
fn added(input: &Value, output: &Value, path: &str, extra: &mut Vec<String>) {
    if let (Value::Object(i), Value::Object(o)) = (input, output) {
        for (k, v) in o {
            match i.get(k) {
                Some(iv) => added(iv, v, &format!("{path}.{k}"), extra),
                None => extra.push(format!("{path}.{k}")),
            }
        }
    }
}

/// Paths (like `spec.sidecar.port`) that our CRD schema defaults, with their defaults.
fn schema_defaults(kind: &str) -> Vec<(String, Value)> {
    fn walk(schema: &Value, path: &str, out: &mut Vec<(String, Value)>) {
        if let Some(d) = schema.get("default") {
            out.push((path.trim_start_matches('.').to_string(), d.clone()));
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                walk(v, &format!("{path}.{k}"), out);
            }
        }
    }
    let (_, crd) = sei_api::crd::all().into_iter().find(|(_, c)| c.spec.names.kind == kind).unwrap();
    let schema = serde_json::to_value(crd).unwrap()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
    let mut out = Vec::new();
    walk(&schema, "", &mut out);
    out
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, k| v.get(k))
}

#[tokio::test]
async fn accepted_samples_round_trip_through_kubectl_get() {
    let cp = cluster().await;
    let client = cp.client().await.unwrap();
    create_namespace(&client, "roundtrip").await;
    let tmp = cp.dir().join("roundtrip");
    std::fs::create_dir_all(&tmp).unwrap();
    let samples = sample_files().into_iter().filter(|f| expected_sample_outcome(f).is_none()).map(|f| {
        let input: Value = serde_norway::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        (f, input)
    });
    // The accepted corpus objects cover the deployment kind, whose samples are invalid.
    let cases = corpus().into_iter().filter(|c| c.base.is_none() && c.ours == Outcome::Accepted).map(|c| {
        let name = c.object["metadata"]["name"].as_str().unwrap().to_string();
        (PathBuf::from(format!("corpus-{name}.json")), c.object)
    });
    for (file, mut input) in samples.chain(cases) {
        input["metadata"]["namespace"] = "roundtrip".into();
        let copy = tmp.join(file.file_name().unwrap());
        std::fs::write(&copy, serde_json::to_string(&input).unwrap()).unwrap();
        let out = kubectl(cp, &["apply", "-f", copy.to_str().unwrap()]);
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));

        let kind = input["kind"].as_str().unwrap().to_lowercase();
        let name = input["metadata"]["name"].as_str().unwrap();
        let out = kubectl(cp, &["get", &kind, name, "-n", "roundtrip", "-o", "yaml"]);
        assert!(out.status.success());
        let output: Value = serde_norway::from_slice(&out.stdout).unwrap();

        let mut missing = Vec::new();
        contained(&input["spec"], &output["spec"], "spec", &mut missing);
        assert!(missing.is_empty(), "{}: fields lost or changed: {missing:?}", file.display());
        // The only additions are the schema's documented defaults.
        let mut extra = Vec::new();
        added(&input["spec"], &output["spec"], "spec", &mut extra);
        let defaults = schema_defaults(input["kind"].as_str().unwrap());
        extra.retain(|p| !defaults.iter().any(|(path, value)| path == p && lookup(&output, p) == Some(value)));
        assert!(extra.is_empty(), "{}: unexpected fields added: {extra:?}", file.display());

        // The Rust types read and write the stored object without losing anything.
        let spec = output["spec"].clone();
        let rewritten = match input["kind"].as_str().unwrap() {
            "SeiNode" => serde_json::to_value(serde_json::from_value::<SeiNode>(output).unwrap().spec).unwrap(),
            _ => serde_json::to_value(serde_json::from_value::<SeiNodeDeployment>(output).unwrap().spec).unwrap(),
        };
        assert_eq!(rewritten, spec, "{}: Rust round trip changed the spec", file.display());
    }
}
