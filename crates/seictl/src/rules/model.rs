//! Typed rules (§5.1 of the validation spec), read from YAML and checked before anything
//! runs: each problem names its field (`rules[1].query.op`). Pure.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub const MAX_RULES: usize = 32;
pub const OPS: &[&str] = &[">=", "<=", ">", "<", "==", "!="];

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleFile {
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<QueryRule>,
    #[serde(default)]
    pub run_properties: RunProperties,
}

/// An alert that must not fire during the window. `alertname` alone is enough; `ruleRef`
/// (the reference's form) is accepted and its `alertname` used.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_ref: Option<RuleRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleRef {
    pub name: String,
    pub namespace: String,
    pub alertname: String,
}

/// A PromQL expression whose single value must compare true against the threshold.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRule {
    pub promql: String,
    pub op: String,
    /// A string, so the value is kept exactly as written.
    pub threshold: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_on_failure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
}

/// A rule ready to evaluate: defaults applied, values parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub name: String,
    pub check: Check,
    pub interval: Duration,
    pub timeout: Duration,
    pub stop_on_failure: bool,
    pub retry: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Alert { alertname: String },
    Query { promql: String, op: String, threshold: String, threshold_value: f64 },
}

/// `30s`, `5m`, `1h` (a unit is required).
pub fn duration(s: &str) -> Option<Duration> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    match unit {
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
}

/// A decimal or exponent number, as Prometheus prints them (no NaN, no infinities).
fn number(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && s.chars().any(|c| c.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Checks every rule; the first problem names its field.
pub fn check(file: &RuleFile) -> Result<Vec<Checked>, String> {
    if file.rules.is_empty() {
        return Err("rules: no rules".into());
    }
    if file.rules.len() > MAX_RULES {
        return Err(format!("rules: {} rules, at most {MAX_RULES}", file.rules.len()));
    }
    let mut out: Vec<Checked> = Vec::new();
    for (i, r) in file.rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        if !dns_label(&r.name) {
            return Err(format!("{at}.name {:?}: use 1-63 lowercase letters, digits and '-'", r.name));
        }
        if out.iter().any(|c| c.name == r.name) {
            return Err(format!("{at}.name {:?}: another rule has this name", r.name));
        }
        let timeout_of = |t: &Option<String>, field: &str| -> Result<Duration, String> {
            match t {
                None => Ok(Duration::from_secs(30)),
                Some(t) => duration(t)
                    .filter(|d| !d.is_zero())
                    .ok_or(format!("{at}.{field}.timeout {t:?}: a duration like 30s")),
            }
        };
        let (check, timeout) = match (r.kind.as_str(), &r.alert, &r.query) {
            ("alert", Some(a), None) => {
                let name = a.alertname.clone().or(a.rule_ref.as_ref().map(|r| r.alertname.clone())).unwrap_or_default();
                if name.is_empty() || name.contains(['"', '\\']) {
                    return Err(format!("{at}.alert.alertname: required (or ruleRef.alertname), without quotes"));
                }
                (Check::Alert { alertname: name }, timeout_of(&a.timeout, "alert")?)
            }
            ("query", None, Some(q)) => {
                if q.promql.trim().is_empty() {
                    return Err(format!("{at}.query.promql: required"));
                }
                if !OPS.contains(&q.op.as_str()) {
                    return Err(format!("{at}.query.op {:?}: one of {}", q.op, OPS.join(", ")));
                }
                let Some(value) = number(&q.threshold) else {
                    return Err(format!("{at}.query.threshold {:?}: a number like 0.95 or 1e3", q.threshold));
                };
                let check = Check::Query {
                    promql: q.promql.clone(),
                    op: q.op.clone(),
                    threshold: q.threshold.clone(),
                    threshold_value: value,
                };
                (check, timeout_of(&q.timeout, "query")?)
            }
            ("alert" | "query", _, _) => {
                return Err(format!("{at}: type {} needs exactly its own body ({0}: ...) and no other", r.kind));
            }
            (other, _, _) => return Err(format!("{at}.type {other:?}: alert or query")),
        };
        let p = &r.run_properties;
        let interval = match &p.interval {
            None => Duration::from_secs(30),
            Some(s) => duration(s)
                .filter(|d| (5..=300).contains(&d.as_secs()))
                .ok_or(format!("{at}.runProperties.interval {s:?}: between 5s and 5m"))?,
        };
        let retry = p.retry.unwrap_or(3);
        if retry > 10 {
            return Err(format!("{at}.runProperties.retry {retry}: between 0 and 10"));
        }
        out.push(Checked {
            name: r.name.clone(),
            check,
            interval,
            timeout,
            stop_on_failure: p.stop_on_failure.unwrap_or(false),
            retry,
        });
    }
    Ok(out)
}

/// Reads and checks a rules file (YAML or JSON).
pub fn load(path: &std::path::Path) -> Result<Vec<Checked>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--rules {}: {e}", path.display()))?;
    let file: RuleFile = serde_norway::from_str(&text).map_err(|e| format!("--rules {}: {e}", path.display()))?;
    check(&file).map_err(|e| format!("--rules {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<Checked>, String> {
        check(&serde_norway::from_str::<RuleFile>(yaml).map_err(|e| e.to_string())?)
    }

    #[test]
    fn good_rules_get_their_defaults() {
        let rules = parse(
            "rules:\n- {name: up, type: query, query: {promql: 'up', op: '>=', threshold: '1'}}\n\
             - {name: quiet, type: alert, alert: {ruleRef: {name: r, namespace: m, alertname: Halt}}, runProperties: {interval: 5s, stopOnFailure: true, retry: 0}}\n",
        )
        .unwrap();
        assert_eq!(rules[0].interval, Duration::from_secs(30));
        assert_eq!((rules[0].retry, rules[0].stop_on_failure), (3, false));
        assert_eq!(rules[1].check, Check::Alert { alertname: "Halt".into() });
        assert_eq!((rules[1].interval, rules[1].retry, rules[1].stop_on_failure), (Duration::from_secs(5), 0, true));
    }

    #[test]
    fn bad_rules_name_their_field() {
        let q = |extra: &str| {
            format!("rules:\n- {{name: a, type: query, query: {{promql: up, op: '>', threshold: '1'{extra}}}}}\n")
        };
        let cases = [
            ("rules: []\n".to_string(), "rules: no rules"),
            ("rules:\n- {name: A, type: query, query: {promql: up, op: '>', threshold: '1'}}\n".into(), "rules[0].name \"A\""),
            (q("").replace("'>'", "'=>'"), "rules[0].query.op \"=>\""),
            (q("").replace("'1'", "'high'"), "rules[0].query.threshold \"high\""),
            (q("").replace("'1'", "'NaN'"), "rules[0].query.threshold"),
            (q(", timeout: soon"), "rules[0].query.timeout \"soon\""),
            ("rules:\n- {name: a, type: alert, query: {promql: up, op: '>', threshold: '1'}}\n".into(), "rules[0]: type alert"),
            ("rules:\n- {name: a, type: watch}\n".into(), "rules[0].type \"watch\""),
            ("rules:\n- {name: a, type: alert, alert: {}}\n".into(), "rules[0].alert.alertname"),
            (
                "rules:\n- {name: a, type: alert, alert: {alertname: X}, runProperties: {interval: 1s}}\n".into(),
                "rules[0].runProperties.interval \"1s\"",
            ),
            ("rules:\n- {name: a, type: alert, alert: {alertname: X}, runProperties: {retry: 11}}\n".into(), "retry 11"),
            (
                "rules:\n- {name: a, type: alert, alert: {alertname: X}}\n- {name: a, type: alert, alert: {alertname: Y}}\n".into(),
                "rules[1].name \"a\": another rule",
            ),
        ];
        for (yaml, says) in cases {
            let e = parse(&yaml).unwrap_err();
            assert!(e.contains(says), "{yaml}: {e}");
        }
        let e = serde_norway::from_str::<RuleFile>("rules:\n- {name: a, type: alert, alrt: {}}\n").unwrap_err();
        assert!(e.to_string().contains("alrt"), "{e}");
    }
}
