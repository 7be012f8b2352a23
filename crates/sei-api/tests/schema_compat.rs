//! Walks our generated CRD schemas and the reference's side by side and fails on any
//! difference that is not a deliberate fix listed in `sei_api::crd::FIXES`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// The reference operator's CRDs, copied into the repository (see the README there).
const REFERENCE_CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference/crds");

fn reference_crd(file: &str) -> Value {
    let path = Path::new(REFERENCE_CRDS).join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read reference CRD {}: {e}", path.display()));
    serde_norway::from_str(&text).expect("reference CRD is valid YAML")
}

fn ours(file: &str) -> Value {
    let (_, crd) =
        sei_api::crd::all().into_iter().find(|(name, _)| *name == file).expect("we generate every reference CRD file");
    serde_json::to_value(crd).unwrap()
}

/// Keywords that carry validation or structure; everything but documentation.
const IGNORED: &[&str] = &["description", "properties", "items", "additionalProperties"];

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Diff {
    path: String,
    keyword: String,
    detail: String,
}

fn normalise(keyword: &str, v: &Value) -> Value {
    match (keyword, v) {
        // Order of `required` carries no meaning.
        ("required", Value::Array(items)) => {
            let mut sorted: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            sorted.sort();
            Value::from(sorted)
        }
        // 1 and 1.0 are the same bound.
        (_, Value::Number(n)) => n.as_f64().map(Value::from).unwrap_or_else(|| v.clone()),
        _ => v.clone(),
    }
}

fn walk(reference: &Value, ours: &Value, path: &str, diffs: &mut Vec<Diff>) {
    let (Some(r), Some(o)) = (reference.as_object(), ours.as_object()) else {
        if reference != ours {
            diffs.push(Diff { path: path.into(), keyword: "schema".into(), detail: "not an object".into() });
        }
        return;
    };
    let keywords: BTreeSet<&String> = r.keys().chain(o.keys()).collect();
    for k in keywords {
        if IGNORED.contains(&k.as_str()) {
            continue;
        }
        let (rv, ov) = (r.get(k).map(|v| normalise(k, v)), o.get(k).map(|v| normalise(k, v)));
        if rv != ov {
            diffs.push(Diff {
                path: path.into(),
                keyword: k.clone(),
                detail: format!("reference {rv:?}, ours {ov:?}"),
            });
        }
    }
    let empty = serde_json::Map::new();
    let rp = r.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let op = o.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    for name in rp.keys().chain(op.keys()).collect::<BTreeSet<_>>() {
        let child = format!("{path}.{name}");
        match (rp.get(name), op.get(name)) {
            (Some(a), Some(b)) => walk(a, b, &child, diffs),
            (Some(_), None) => {
                diffs.push(Diff { path: child, keyword: "field".into(), detail: "missing in ours".into() })
            }
            (None, Some(_)) => {
                diffs.push(Diff { path: child, keyword: "field".into(), detail: "not in the reference".into() })
            }
            (None, None) => unreachable!(),
        }
    }
    for key in ["items", "additionalProperties"] {
        let suffix = if key == "items" { "[]" } else { "{}" };
        match (r.get(key), o.get(key)) {
            (Some(a), Some(b)) => walk(a, b, &format!("{path}{suffix}"), diffs),
            (None, None) => {}
            _ => diffs.push(Diff { path: path.into(), keyword: key.into(), detail: "present on one side only".into() }),
        }
    }
}

/// Everything but the schema: names, scope, versions, printer columns, subresources.
fn crd_envelope(crd: &Value) -> Value {
    let mut spec = crd["spec"].clone();
    for v in spec["versions"].as_array_mut().unwrap() {
        v.as_object_mut().unwrap().remove("schema");
    }
    serde_json::json!({ "name": crd["metadata"]["name"], "spec": spec })
}

fn check(file: &str, kind: &str) {
    let (r, o) = (reference_crd(file), ours(file));
    assert_eq!(crd_envelope(&r), crd_envelope(&o), "{kind}: names, scope, versions or printer columns differ");

    let mut diffs = Vec::new();
    let pointer = "/spec/versions/0/schema/openAPIV3Schema";
    walk(r.pointer(pointer).unwrap(), o.pointer(pointer).unwrap(), "", &mut diffs);

    let fixes: Vec<_> = sei_api::crd::FIXES.iter().filter(|f| f.kind == kind).collect();
    let unexplained: Vec<_> =
        diffs.iter().filter(|d| !fixes.iter().any(|f| f.path == d.path && f.keyword == d.keyword)).collect();
    assert!(unexplained.is_empty(), "{kind}: unexplained schema differences from the reference:\n{unexplained:#?}");
    for fix in fixes {
        assert!(
            diffs.iter().any(|d| d.path == fix.path && d.keyword == fix.keyword),
            "{kind}: FIXES lists {} {} but the schemas agree there; remove the entry",
            fix.path,
            fix.keyword
        );
    }
}

#[test]
fn seinode_schema_matches_reference_except_listed_fixes() {
    check("sei.io_seinodes.yaml", "SeiNode");
}

#[test]
fn seinodedeployment_schema_matches_reference_except_listed_fixes() {
    check("sei.io_seinodedeployments.yaml", "SeiNodeDeployment");
}

#[test]
fn walker_reports_a_changed_bound_and_a_missing_field() {
    let reference = serde_json::json!({"type": "object", "properties": {
        "a": {"type": "integer", "minimum": 1}, "b": {"type": "string"}}});
    let ours = serde_json::json!({"type": "object", "properties": {
        "a": {"type": "integer", "minimum": 2.0}}});
    let mut diffs = Vec::new();
    walk(&reference, &ours, "", &mut diffs);
    let keys: Vec<_> = diffs.iter().map(|d| (d.path.as_str(), d.keyword.as_str())).collect();
    assert_eq!(keys, vec![(".a", "minimum"), (".b", "field")]);
}

#[test]
fn every_fix_is_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api-compatibility.md"))
        .expect("docs/api-compatibility.md exists");
    for fix in sei_api::crd::FIXES {
        assert!(doc.contains(fix.path), "docs/api-compatibility.md does not mention {}", fix.path);
    }
}
