//! Evaluating rules against a Prometheus HTTP API over a window (§5.2–§5.5 of the
//! validation spec): each rule at `start + interval`, then every interval; a final sweep
//! of rules not yet settled; per-rule verdicts with the reference's monotonic Failed and
//! decaying Error; the overall verdict with the workload's exit code.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::model::{Check, Checked};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Awaited,
    Passed,
    Failed,
    Error,
}

/// One rule's state and last evaluation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The query's value, exactly as Prometheus returned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    pub evaluations: u32,
    #[serde(skip)]
    consecutive_errors: u32,
    /// An Error that no longer decays (retries spent, or a rule that cannot work).
    #[serde(skip)]
    permanent: bool,
}

impl RuleResult {
    fn settled(&self) -> bool {
        self.verdict == Verdict::Failed || self.permanent
    }
}

/// An evaluation that could not ask (Error), with its reason.
#[derive(Debug)]
struct Unavailable {
    reason: &'static str,
    message: String,
    permanent: bool,
}

fn unavailable(reason: &'static str, message: impl Into<String>) -> Unavailable {
    Unavailable { reason, message: message.into(), permanent: false }
}

pub struct Prometheus {
    http: reqwest::Client,
    base: String,
}

impl Prometheus {
    pub fn new(base: &str) -> Prometheus {
        Prometheus { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_string() }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)], timeout: Duration) -> Result<Value, Unavailable> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).query(query).timeout(timeout).send().await.map_err(|e| {
            if e.is_timeout() {
                unavailable("Timeout", format!("{url}: no answer in {timeout:?}"))
            } else {
                unavailable("PrometheusUnavailable", format!("{url}: {e}"))
            }
        })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        match status.as_u16() {
            200 => Ok(body),
            401 | 403 => Err(unavailable("RBACDenied", format!("{url}: {status}"))),
            // A query Prometheus cannot parse never will: no point retrying.
            400 | 422 => Err(Unavailable {
                reason: "BadQuery",
                message: body["error"].as_str().unwrap_or("bad query").to_string(),
                permanent: true,
            }),
            _ => Err(unavailable("PrometheusUnavailable", format!("{url}: {status}"))),
        }
    }

    /// An instant query's samples, as (value text).
    async fn instant(&self, promql: &str, timeout: Duration) -> Result<Vec<String>, Unavailable> {
        let body = self.get("/api/v1/query", &[("query", promql)], timeout).await?;
        let data = &body["data"];
        let value = |v: &Value| v.get(1).and_then(Value::as_str).map(String::from);
        match data["resultType"].as_str() {
            Some("scalar") => Ok(value(&data["result"]).into_iter().collect()),
            Some("vector") => {
                Ok(data["result"].as_array().into_iter().flatten().filter_map(|s| value(&s["value"])).collect())
            }
            other => Err(Unavailable {
                reason: "UnsupportedResult",
                message: format!("the query returned {other:?}, not a scalar or vector"),
                permanent: true,
            }),
        }
    }

    /// Whether Prometheus has an alerting rule of that name loaded.
    async fn has_alert(&self, alertname: &str, timeout: Duration) -> Result<bool, Unavailable> {
        let body = self.get("/api/v1/rules", &[("type", "alert")], timeout).await?;
        let groups = body["data"]["groups"].as_array().cloned().unwrap_or_default();
        Ok(groups
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .any(|r| r["name"] == alertname))
    }
}

/// Compares exactly as written: `==`/`!=` on the bits.
pub fn compare(value: f64, op: &str, threshold: f64) -> bool {
    match op {
        ">=" => value >= threshold,
        "<=" => value <= threshold,
        ">" => value > threshold,
        "<" => value < threshold,
        "==" => value.to_bits() == threshold.to_bits(),
        "!=" => value.to_bits() != threshold.to_bits(),
        _ => false,
    }
}

async fn evaluate(prom: &Prometheus, rule: &Checked, r: &mut RuleResult, elapsed: Duration) {
    r.evaluations += 1;
    let outcome: Result<(Verdict, &'static str, String), Unavailable> = match &rule.check {
        Check::Alert { alertname } => {
            async {
                if r.evaluations == 1 && !prom.has_alert(alertname, rule.timeout).await? {
                    return Err(Unavailable {
                        reason: "AlertNotFound",
                        message: format!("Prometheus has no alerting rule {alertname:?} loaded"),
                        permanent: true,
                    });
                }
                let window = elapsed.as_secs().max(1);
                let promql =
                    format!("max_over_time(ALERTS{{alertname=\"{alertname}\",alertstate=\"firing\"}}[{window}s]) > 0");
                let fired = prom.instant(&promql, rule.timeout).await?;
                Ok(if fired.is_empty() {
                    (Verdict::Passed, "NotFired", String::new())
                } else {
                    (Verdict::Failed, "AlertFired", format!("{alertname} fired ({} series) in the window", fired.len()))
                })
            }
            .await
        }
        Check::Query { promql, op, threshold, threshold_value } => {
            async {
                let samples = prom.instant(promql, rule.timeout).await?;
                let text = match samples.as_slice() {
                    [] => return Err(unavailable("NoSamples", "the query returned no samples")),
                    [one] => one.clone(),
                    many => {
                        return Err(unavailable(
                            "AmbiguousResult",
                            format!("the query returned {} samples, not one", many.len()),
                        ));
                    }
                };
                r.value = Some(text.clone());
                let value: f64 = text.parse().map_err(|_| unavailable("NaN", format!("value {text:?}")))?;
                if value.is_nan() {
                    return Err(unavailable("NaN", "the query returned NaN"));
                }
                Ok(if compare(value, op, *threshold_value) {
                    (Verdict::Passed, "ThresholdMet", format!("{text} {op} {threshold}"))
                } else {
                    (Verdict::Failed, "ThresholdViolated", format!("{text} is not {op} {threshold}"))
                })
            }
            .await
        }
    };
    match outcome {
        Ok((verdict, reason, message)) => {
            (r.verdict, r.reason, r.message, r.consecutive_errors) = (verdict, reason.into(), message, 0);
        }
        Err(e) => {
            r.consecutive_errors += 1;
            (r.verdict, r.reason, r.message) = (Verdict::Error, e.reason.into(), e.message);
            r.permanent = e.permanent || r.consecutive_errors > rule.retry;
        }
    }
}

/// Results of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub rules: Vec<RuleResult>,
    /// The rule whose stop-on-failure ended the run early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    pub elapsed_seconds: u64,
}

/// Evaluates `rules` for `window`, or until `done` resolves (the workload ended), then
/// sweeps rules not yet settled once more. Stops early when a stop-on-failure rule fails.
pub async fn run(
    prom: &Prometheus,
    rules: &[Checked],
    window: Duration,
    done: impl std::future::Future<Output = ()>,
) -> Run {
    let start = Instant::now();
    let mut results: Vec<RuleResult> = rules
        .iter()
        .map(|c| RuleResult {
            name: c.name.clone(),
            kind: if matches!(c.check, Check::Alert { .. }) { "alert" } else { "query" },
            verdict: Verdict::Awaited,
            reason: String::new(),
            message: String::new(),
            value: None,
            threshold: match &c.check {
                Check::Query { threshold, .. } => Some(threshold.clone()),
                Check::Alert { .. } => None,
            },
            evaluations: 0,
            consecutive_errors: 0,
            permanent: false,
        })
        .collect();
    let mut due: Vec<Instant> = rules.iter().map(|c| start + c.interval).collect();
    let end = start + window;
    let mut stopped_by = None;
    tokio::pin!(done);
    'polling: loop {
        let next = due.iter().zip(&results).filter(|(_, r)| !r.settled()).map(|(d, _)| *d).min();
        let Some(next) = next.filter(|n| *n < end) else {
            tokio::select! { _ = tokio::time::sleep_until(end) => {}, _ = &mut done => {} }
            break;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = &mut done => break,
        }
        for i in 0..rules.len() {
            if results[i].settled() || due[i] > Instant::now() {
                continue;
            }
            evaluate(prom, &rules[i], &mut results[i], start.elapsed()).await;
            due[i] = Instant::now() + rules[i].interval;
            if results[i].verdict == Verdict::Failed && rules[i].stop_on_failure {
                stopped_by = Some(rules[i].name.clone());
                break 'polling;
            }
        }
    }
    if stopped_by.is_none() {
        for i in 0..rules.len() {
            // Passed ones too: an alert may have fired since their last evaluation.
            if !results[i].settled() {
                evaluate(prom, &rules[i], &mut results[i], start.elapsed()).await;
            }
        }
    }
    Run { rules: results, stopped_by, elapsed_seconds: start.elapsed().as_secs() }
}

/// §5.5: the first matching row decides. `workload` is the load's exit code, if there was
/// a load. Returns (phase, reason, exit code).
pub fn overall(run: Option<&Run>, workload: Option<i64>) -> (&'static str, String, u8) {
    let rules = run.map(|r| r.rules.as_slice()).unwrap_or_default();
    if let Some(rule) = run.and_then(|r| r.stopped_by.as_ref()) {
        return ("Failed", format!("RuleStopOnFailure:{rule}"), 1);
    }
    match workload {
        Some(1) => return ("Failed", "WorkloadFailed".into(), 1),
        Some(code) if code != 0 => return ("Error", "WorkloadInfraFailure".into(), 2),
        _ => {}
    }
    if let Some(failed) = rules.iter().find(|r| r.verdict == Verdict::Failed) {
        return ("Failed", format!("RuleFailed:{}", failed.name), 1);
    }
    if rules.iter().all(|r| r.verdict == Verdict::Passed) {
        return ("Succeeded", "RunSucceeded".into(), 0);
    }
    if rules.iter().any(|r| r.verdict == Verdict::Error) {
        return ("Error", "RuleError".into(), 2);
    }
    ("Error", "Unknown".into(), 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, verdict: Verdict) -> RuleResult {
        RuleResult {
            name: name.into(),
            kind: "query",
            verdict,
            reason: String::new(),
            message: String::new(),
            value: None,
            threshold: None,
            evaluations: 1,
            consecutive_errors: 0,
            permanent: false,
        }
    }

    #[test]
    fn the_verdict_is_the_workload_and_all_rules() {
        let run = |v: Vec<RuleResult>, stop: Option<&str>| Run {
            rules: v,
            stopped_by: stop.map(String::from),
            elapsed_seconds: 1,
        };
        let passed = run(vec![result("a", Verdict::Passed)], None);
        assert_eq!(overall(Some(&passed), Some(0)), ("Succeeded", "RunSucceeded".into(), 0));
        assert_eq!(overall(Some(&passed), Some(1)), ("Failed", "WorkloadFailed".into(), 1));
        assert_eq!(overall(Some(&passed), Some(2)), ("Error", "WorkloadInfraFailure".into(), 2));
        assert_eq!(overall(None, Some(0)), ("Succeeded", "RunSucceeded".into(), 0));
        let failed = run(vec![result("a", Verdict::Passed), result("b", Verdict::Failed)], None);
        assert_eq!(overall(Some(&failed), Some(0)), ("Failed", "RuleFailed:b".into(), 1));
        assert_eq!(overall(Some(&failed), Some(1)).1, "WorkloadFailed");
        let stopped = run(vec![result("b", Verdict::Failed)], Some("b"));
        assert_eq!(overall(Some(&stopped), Some(2)), ("Failed", "RuleStopOnFailure:b".into(), 1));
        let error = run(vec![result("a", Verdict::Passed), result("c", Verdict::Error)], None);
        assert_eq!(overall(Some(&error), None), ("Error", "RuleError".into(), 2));
        let awaited = run(vec![result("a", Verdict::Awaited)], None);
        assert_eq!(overall(Some(&awaited), None).1, "Unknown");
    }

    #[test]
    fn equality_compares_bits() {
        assert!(compare(1.0, ">=", 1.0) && compare(0.5, "<", 1.0) && !compare(2.0, "<=", 1.0));
        assert!(compare(0.1 + 0.2, "!=", 0.3));
        assert!(compare(3.0, "==", 3.0) && !compare(1.0, "~", 1.0));
    }
}
