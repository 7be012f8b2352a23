//! The operator's alerts and dashboard (deploy/helm/sei-operator/files): promtool checks
//! the rules and runs their unit tests, every alert has a test that fires it and one that
//! keeps it quiet, and every series the alerts and the dashboard query is one the operator
//! exports. (tests/install.rs checks the same names on a real Prometheus scraping it.)

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

/// The sample names the operator's registry can produce (counters with `_total`,
/// histograms with `_bucket`, `_sum` and `_count`), from its own `# TYPE` lines once
/// every family has a sample (an empty family is not written).
fn exported() -> BTreeSet<String> {
    use sei_api::common::NodePhase;
    let m = sei_operator::metrics::Metrics::default();
    m.observe("ns", "a", Some(NodePhase::Running), true);
    m.transition("ns", "chain", Some(NodePhase::Initializing), NodePhase::Running, Some(3.0));
    let plan = serde_json::from_value(serde_json::json!({"phase": "Complete", "tasks": []})).unwrap();
    m.plan_finished("ns", &plan, Some(3.0));
    m.probe("ns", "a", sei_operator::metrics::Probe::Ready);
    m.sidecar_unreachable("snapshot-restore", sei_operator::reach::Cause::Refused);
    m.task_failed("snapshot-restore");
    m.fleets.observe("ns", "fleet", sei_api::deployment::DeploymentPhase::Ready, 2, 2, false);
    let text = m.encode();
    let mut names = BTreeSet::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let (name, kind) = line.split_once(' ').unwrap();
        match kind {
            "counter" => names.extend([format!("{name}_total")]),
            "histogram" => names.extend(["_bucket", "_sum", "_count"].map(|s| format!("{name}{s}"))),
            _ => names.extend([name.to_string()]),
        }
    }
    names
}

fn alerts() -> Vec<(String, String)> {
    let rules = yaml("deploy/helm/sei-operator/files/alerts.yaml");
    let mut out = Vec::new();
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            out.push((rule["alert"].as_str().unwrap().to_string(), rule["expr"].as_str().unwrap().to_string()));
        }
    }
    out
}

fn dashboard_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("deploy/helm/sei-operator/files/dashboard.json")).unwrap();
    let board: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for panel in board["panels"].as_array().unwrap() {
        assert!(ids.insert(panel["id"].as_i64().unwrap()), "panel ids are unique");
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{} uses the datasource variable", panel["title"]);
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has a query", panel["title"]);
        out.extend(targets.iter().map(|t| t["expr"].as_str().unwrap().to_string()));
    }
    out
}

fn promtool() -> PathBuf {
    sei_testenv::tool("promtool").expect("promtool (hack/tools.sh promtool)")
}

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    for args in [
        ["check", "rules", "deploy/helm/sei-operator/files/alerts.yaml"],
        ["test", "rules", "deploy/monitoring/alerts.test.yaml"],
    ] {
        let out = Command::new(promtool()).args(args).current_dir(repo()).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_alert_has_a_test_that_fires_it_and_one_that_keeps_it_quiet() {
    let tests = yaml("deploy/monitoring/alerts.test.yaml");
    let (mut fires, mut quiet) = (BTreeSet::new(), BTreeSet::new());
    for test in tests["tests"].as_array().unwrap() {
        for case in test["alert_rule_test"].as_array().unwrap() {
            let name = case["alertname"].as_str().unwrap().to_string();
            let expected = case["exp_alerts"].as_array().map_or(0, |a| a.len());
            if expected > 0 {
                fires.insert(name)
            } else {
                quiet.insert(name)
            };
        }
    }
    let alerts = alerts();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for (name, _) in &alerts {
        assert!(fires.contains(name), "no promtool test makes {name} fire");
        assert!(quiet.contains(name), "no promtool test keeps {name} quiet");
    }
}

#[test]
fn alerts_and_dashboard_query_only_series_the_operator_exports() {
    let exported = exported();
    assert!(exported.contains("sei_controller_task_failures_total"), "{exported:?}");
    let mut used = BTreeSet::new();
    for (name, expr) in alerts() {
        let series = common::series_in(&expr);
        assert!(!series.is_empty() || expr.contains("up{job=\"sei-operator\"}"), "{name}: {expr}");
        used.extend(series);
    }
    for expr in dashboard_exprs() {
        let series = common::series_in(&expr);
        assert!(!series.is_empty(), "a dashboard query without an operator series: {expr}");
        used.extend(series);
    }
    let unknown: Vec<_> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "queried but not exported: {unknown:?}");
    // The dashboard covers what the issue asks for.
    let board = dashboard_exprs().join("\n");
    for needed in [
        "sei_controller_seinodedeployment_phase",
        "sei_controller_seinode_phase",
        "sei_controller_plan_duration_seconds_bucket",
        "sei_controller_task_failures_total",
        "sei_controller_seinode_sidecar_ready",
        "sei_controller_reconcile_errors_total",
    ] {
        assert!(board.contains(needed), "the dashboard does not show {needed}");
    }
}
