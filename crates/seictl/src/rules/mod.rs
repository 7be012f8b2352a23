//! `seictl rules`: typed Prometheus rules with a verdict. `run -f FILE` evaluates a rules
//! file; `query` and `alert` one rule from flags. The envelope lists each rule's verdict
//! and the overall one, which is also the exit code (0 passed, 1 failed, 2 could not ask).

pub mod eval;
pub mod model;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::bench::envelope::{self, Output, fail};
use model::{AlertRule, QueryRule, Rule, RuleFile, RunProperties};

const KIND: &str = "RulesResult";
pub const PROMETHEUS_ENV: &str = "VALIDATION_PROMETHEUS_URL";
pub const PROMETHEUS_DEFAULT: &str = "http://prometheus-k8s.monitoring.svc:9090";

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Evaluate the rules of a file (YAML or JSON) over a window.
    #[command(after_help = "Example rules file:\n  rules:\n  - name: chain-advances\n    type: query\n    \
        query: {promql: 'delta(tendermint_consensus_height[1m])', op: '>', threshold: '0'}\n  \
        - name: no-halt\n    type: alert\n    alert: {alertname: ChainHalted}\n    \
        runProperties: {interval: 10s, stopOnFailure: true, retry: 3}\n\n\
        Example:\n  seictl rules run -f rules.yaml --window 30m --prometheus http://localhost:9090")]
    Run(RunArgs),
    /// One query rule: the expression's single value must compare true against the threshold.
    #[command(
        after_help = "Example:\n  seictl rules query --promql 'sum(rate(errors_total[5m]))' --op '<' --threshold 0.01 --window 10m"
    )]
    Query(QueryArgs),
    /// One alert rule: the alert must not fire during the window.
    #[command(after_help = "Example:\n  seictl rules alert --alertname SeiNodeStuck --window 30m --stop-on-failure")]
    Alert(AlertArgs),
}

#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The Prometheus HTTP API.
    #[arg(long, env = PROMETHEUS_ENV, default_value = PROMETHEUS_DEFAULT, value_name = "URL")]
    pub prometheus: String,
    /// How long to evaluate (30s, 10m, 1h).
    #[arg(long, default_value = "1h", value_parser = parse_window)]
    pub window: Duration,
    /// json (default), yaml or table.
    #[arg(short = 'o', long, value_enum, default_value = "json")]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The rules file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// The workload's exit code, to fold into the verdict (as bench up does).
    #[arg(long, value_name = "CODE")]
    pub workload_exit: Option<i64>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct OneRule {
    /// The rule's name in the result.
    #[arg(long, default_value = "rule")]
    pub name: String,
    /// Seconds between evaluations (5s to 5m).
    #[arg(long, default_value = "30s")]
    pub interval: String,
    /// End the run as soon as the rule fails.
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Consecutive errors tolerated before Error is final (0-10).
    #[arg(long, default_value_t = 3)]
    pub retry: u32,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The PromQL expression (one sample or a scalar).
    #[arg(long)]
    pub promql: String,
    /// >=, <=, >, <, == or !=.
    #[arg(long)]
    pub op: String,
    /// The number to compare with.
    #[arg(long)]
    pub threshold: String,
    #[command(flatten)]
    pub rule: OneRule,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct AlertArgs {
    /// The alert (an alerting rule Prometheus has loaded).
    #[arg(long)]
    pub alertname: String,
    #[command(flatten)]
    pub rule: OneRule,
    #[command(flatten)]
    pub common: Common,
}

fn parse_window(s: &str) -> Result<Duration, String> {
    model::duration(s).filter(|d| !d.is_zero()).ok_or(format!("{s:?} is not a duration like 30s, 10m or 1h"))
}

fn one(rule: &OneRule, kind: &str, alert: Option<AlertRule>, query: Option<QueryRule>) -> RuleFile {
    RuleFile {
        rules: vec![Rule {
            name: rule.name.clone(),
            kind: kind.into(),
            alert,
            query,
            run_properties: RunProperties {
                interval: Some(rule.interval.clone()),
                stop_on_failure: Some(rule.stop_on_failure),
                retry: Some(rule.retry),
            },
        }],
    }
}

/// A rules file's results and verdict, as the envelope's data.
pub fn data(run: &eval::Run, workload: Option<i64>) -> (Value, u8) {
    let (phase, reason, code) = eval::overall(Some(run), workload);
    let mut d = serde_json::to_value(run).expect("JSON");
    d["verdict"] = json!({"phase": phase, "reason": reason});
    (d, code)
}

fn table(d: &Value) -> String {
    let mut rows = vec![["RULE", "TYPE", "VERDICT", "REASON", "VALUE"].map(String::from).to_vec()];
    for r in d["rules"].as_array().into_iter().flatten() {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        rows.push(vec![s("name"), s("type"), s("verdict"), s("reason"), s("value")]);
    }
    let verdict = &d["verdict"];
    envelope::columns(&rows)
        + &format!(
            "verdict: {} ({})\n",
            verdict["phase"].as_str().unwrap_or(""),
            verdict["reason"].as_str().unwrap_or("")
        )
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    let output = match &cmd {
        RulesCommand::Run(a) => a.common.output,
        RulesCommand::Query(a) => a.common.output,
        RulesCommand::Alert(a) => a.common.output,
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    match rt.block_on(evaluate(cmd)) {
        Ok((d, code)) => {
            envelope::print(&envelope::data(KIND, d), output, table)?;
            Ok(ExitCode::from(code))
        }
        Err(e) => {
            envelope::print(&envelope::error(KIND, &e), output, table)?;
            Err(e)
        }
    }
}

async fn evaluate(cmd: RulesCommand) -> anyhow::Result<(Value, u8)> {
    let (rules, common, workload) = match cmd {
        RulesCommand::Run(a) => (
            model::load(&a.file).map_err(|e| fail("validation", e.replacen("--rules", "--file", 1)))?,
            a.common,
            a.workload_exit,
        ),
        RulesCommand::Query(a) => {
            let q = QueryRule { promql: a.promql, op: a.op, threshold: a.threshold, timeout: None };
            let rules =
                model::check(&one(&a.rule, "query", None, Some(q))).map_err(|e| fail("validation", flags(&e)))?;
            (rules, a.common, None)
        }
        RulesCommand::Alert(a) => {
            let alert = AlertRule { alertname: Some(a.alertname), rule_ref: None, timeout: None };
            let rules =
                model::check(&one(&a.rule, "alert", Some(alert), None)).map_err(|e| fail("validation", flags(&e)))?;
            (rules, a.common, None)
        }
    };
    let prom = eval::Prometheus::new(&common.prometheus);
    let run = eval::run(&prom, &rules, common.window, std::future::pending()).await;
    Ok(data(&run, workload))
}

/// A one-rule check's field as the flag that set it.
fn flags(e: &str) -> String {
    let e = e.strip_prefix("rules[0]").unwrap_or(e);
    [
        (".query.promql", "--promql"),
        (".query.op", "--op"),
        (".query.threshold", "--threshold"),
        (".alert.alertname", "--alertname"),
        (".runProperties.interval", "--interval"),
        (".runProperties.retry", "--retry"),
        (".name", "--name"),
    ]
    .iter()
    .find_map(|(field, flag)| e.strip_prefix(field).map(|rest| format!("{flag}{rest}")))
    .unwrap_or_else(|| e.trim_start_matches([':', ' ']).to_string())
}
