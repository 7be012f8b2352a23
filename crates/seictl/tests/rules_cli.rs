//! `seictl rules` against a real Prometheus (built from its Go module by hack/tools.sh)
//! scraping two seid simulators, one following a live chain and one stuck at height 42,
//! with two alerting rules of its own: a passing and a failing alert rule and query
//! rules give per-rule verdicts and the overall one (also the exit code); stop-on-failure
//! ends a long run early; bad input names the flag or field; an unreachable Prometheus is
//! an Error, not a pass.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sei_testenv::{LiveChain, Process, SeidSimulator};
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// "Halted": no new height in the last 5 s, once there are enough samples to say so.
fn halted(job: &str) -> String {
    format!(
        "changes(tendermint_consensus_height{{job=\"{job}\"}}[5s]) == 0 \
         and count_over_time(tendermint_consensus_height{{job=\"{job}\"}}[5s]) >= 4"
    )
}

fn prometheus(dir: &Path, live: &str, stuck: &str) -> (Process, String) {
    let alerts = json!({"groups": [{"name": "chains", "rules": [
        {"alert": "LiveChainHalted", "expr": halted("live")},
        {"alert": "StuckChainHalted", "expr": halted("stuck")},
    ]}]});
    std::fs::write(dir.join("alerts.yml"), serde_norway::to_string(&alerts).unwrap()).unwrap();
    let host = |url: &str| url.trim_start_matches("http://").to_string();
    let config = json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [dir.join("alerts.yml")],
        "scrape_configs": [
            {"job_name": "live", "static_configs": [{"targets": [host(live)]}]},
            {"job_name": "stuck", "static_configs": [{"targets": [host(stuck)]}]},
        ],
    });
    sei_testenv::start_prometheus(dir, &config).expect("prometheus (hack/tools.sh prometheus)")
}

/// Runs off the async threads: the simulators answer on them meanwhile.
async fn seictl(args: Vec<String>) -> (i32, Value, String, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
    cmd.args(&args).env_remove("VALIDATION_PROMETHEUS_URL");
    let started = Instant::now();
    let o: Output = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    let v = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{args:?}: {stdout}\n{stderr}"));
    (o.status.code().unwrap_or(-1), v, stderr, started.elapsed())
}

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

fn verdicts(v: &Value) -> Vec<(String, String, String)> {
    v["data"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["verdict"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_judge_a_live_and_a_stuck_chain_through_a_real_prometheus() {
    let live = SeidSimulator::start("live").await.unwrap();
    live.follow(LiveChain::starting_now());
    let stuck = SeidSimulator::start("stuck").await.unwrap();
    stuck.set_height(42);
    let dir = tempfile::tempdir().unwrap();
    let (_prom, url) = prometheus(dir.path(), &live.url(), &stuck.url());
    // Ready once the stuck chain's alert fires (the scrapes and rule evaluations run).
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let firing = async {
            let v: Value = http.get(format!("{url}/api/v1/alerts")).send().await.ok()?.json().await.ok()?;
            Some(
                v["data"]["alerts"]
                    .as_array()?
                    .iter()
                    .any(|a| a["labels"]["alertname"] == "StuckChainHalted" && a["state"] == "firing"),
            )
        };
        if firing.await == Some(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "StuckChainHalted never fired; see {}",
            dir.path().join("prometheus.log").display()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let rules = |stop: bool| {
        format!(
            "rules:\n\
             - {{name: live-advances, type: query, query: {{promql: 'delta(tendermint_consensus_height{{job=\"live\"}}[5s])', op: '>', threshold: '0'}}, runProperties: {{interval: 5s}}}}\n\
             - {{name: live-not-halted, type: alert, alert: {{alertname: LiveChainHalted}}, runProperties: {{interval: 5s}}}}\n\
             - {{name: stuck-not-halted, type: alert, alert: {{ruleRef: {{name: chains, namespace: monitoring, alertname: StuckChainHalted}}}}, runProperties: {{interval: 5s, stopOnFailure: {stop}}}}}\n"
        )
    };
    let file = dir.path().join("rules.yaml");
    std::fs::write(&file, rules(false)).unwrap();
    let run = |window: &str, file: &Path| {
        args(&["rules", "run", "-f", file.to_str().unwrap(), "--prometheus", &url, "--window", window])
    };

    // A full window: the two live rules pass, the stuck chain's alert fails the run.
    let (code, v, stderr, took) = seictl(run("12s", &file)).await;
    assert_eq!(code, 1, "{v}\n{stderr}");
    assert_eq!(
        verdicts(&v),
        [
            ("live-advances".into(), "Passed".into(), "ThresholdMet".into()),
            ("live-not-halted".into(), "Passed".into(), "NotFired".into()),
            ("stuck-not-halted".into(), "Failed".into(), "AlertFired".into()),
        ]
    );
    assert_eq!(v["data"]["verdict"], json!({"phase": "Failed", "reason": "RuleFailed:stuck-not-halted"}));
    assert!(v["data"]["rules"][0]["value"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{v}");
    assert!(took >= Duration::from_secs(12), "ended before the window: {took:?}");
    // With the workload's exit code folded in (as bench up does): the workload decides first.
    let mut with_exit = run("6s", &file);
    with_exit.extend(args(&["--workload-exit", "2"]));
    let (code, v, _, _) = seictl(with_exit).await;
    assert_eq!((code, v["data"]["verdict"]["reason"].as_str()), (2, Some("WorkloadInfraFailure")));

    // Stop-on-failure: a five-minute window ends at the first failed evaluation.
    std::fs::write(&file, rules(true)).unwrap();
    let (code, v, _, took) = seictl(run("5m", &file)).await;
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["data"]["stoppedBy"], "stuck-not-halted");
    assert_eq!(v["data"]["verdict"]["reason"], "RuleStopOnFailure:stuck-not-halted");
    assert!(took < Duration::from_secs(60), "not stopped early: {took:?}");

    // One rule from flags, evaluated once (at 5 s of a 6 s window).
    let once = |rule: &[&str], prometheus: &str| {
        let mut a = args(&["rules"]);
        a.extend(args(rule));
        a.extend(args(&["--interval", "5s", "--window", "6s", "--prometheus", prometheus]));
        a
    };
    let query = |threshold: &str| {
        once(
            &[
                "query",
                "--promql",
                "tendermint_consensus_height{job=\"stuck\"}",
                "--op",
                "==",
                "--threshold",
                threshold,
            ],
            &url,
        )
    };
    let (code, v, _, _) = seictl(query("42")).await;
    assert_eq!((code, v["data"]["rules"][0]["value"].as_str()), (0, Some("42")), "{v}");
    assert_eq!(v["data"]["verdict"]["phase"], "Succeeded");
    let (code, v, _, _) = seictl(query("4.2e1")).await;
    assert_eq!(code, 0, "an exponent is the same number: {v}");
    let (code, v, _, _) = seictl(query("43")).await;
    assert_eq!((code, v["data"]["rules"][0]["reason"].as_str()), (1, Some("ThresholdViolated")), "{v}");
    let (code, v, _, _) = seictl(once(&["alert", "--alertname", "LiveChainHalted"], &url)).await;
    assert_eq!(code, 0, "{v}");
    // An alert Prometheus does not have is an Error (a typo must not pass).
    let (code, v, _, _) = seictl(once(&["alert", "--alertname", "LiveChainHalt"], &url)).await;
    assert_eq!((code, v["data"]["rules"][0]["reason"].as_str()), (2, Some("AlertNotFound")), "{v}");
    assert_eq!(v["data"]["verdict"]["reason"], "RuleError");
    // A query with more than one sample is ambiguous.
    let ambiguous =
        ["query", "--promql", "tendermint_consensus_height", "--op", ">", "--threshold", "0", "--retry", "0"];
    let (code, v, _, _) = seictl(once(&ambiguous, &url)).await;
    assert_eq!((code, v["data"]["rules"][0]["reason"].as_str()), (2, Some("AmbiguousResult")), "{v}");
    // Nobody answering: Error, never a pass.
    let down = format!("http://127.0.0.1:{}", free_port());
    let (code, v, _, _) = seictl(once(&["alert", "--alertname", "X", "--retry", "0"], &down)).await;
    assert_eq!((code, v["data"]["rules"][0]["reason"].as_str()), (2, Some("PrometheusUnavailable")), "{v}");
}

#[tokio::test]
async fn bad_rules_name_the_flag_or_field_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "rules:\n- {name: a, type: query, query: {promql: up, op: '=>', threshold: '1'}}\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (args(&["rules", "run", "-f", file.to_str().unwrap()]), "rules[0].query.op \"=>\""),
        (args(&["rules", "run", "-f", "/nonexistent.yaml"]), "--file /nonexistent.yaml"),
        (args(&["rules", "query", "--promql", "up", "--op", "=>", "--threshold", "1"]), "--op \"=>\""),
        (args(&["rules", "query", "--promql", "up", "--op", ">", "--threshold", "many"]), "--threshold \"many\""),
        (args(&["rules", "alert", "--alertname", "X", "--interval", "1s"]), "--interval \"1s\""),
    ];
    for (a, says) in cases {
        let (code, v, stderr, _) = seictl(a.clone()).await;
        assert_eq!(code, 1, "{a:?}: {stderr}");
        assert!(stderr.contains(says) && stderr.lines().count() == 1, "{a:?}: {stderr}");
        assert_eq!(v["error"]["category"], "validation");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_seictl")).args(["rules", "query", "--promql", "up"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "a missing flag is a usage error");
    let o = Command::new(env!("CARGO_BIN_EXE_seictl"))
        .args(["rules", "alert", "--alertname", "X", "--window", "soon"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
