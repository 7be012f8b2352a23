//! Waiting as `bench up` does (§2.5 of the validation spec): a fleet until its phase is
//! Ready with every replica ready, the workload Job until Complete or Failed. Each change
//! is one JSON line on stderr (or one plain line when stderr is a terminal); stdout is kept
//! for the envelope.

use std::io::IsTerminal;
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::core::DynamicObject;
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::envelope::fail;

/// Reports one progress event.
pub fn progress(event: &Value) {
    if std::io::stderr().is_terminal() {
        let s = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("");
        let counts = match (event.get("ready"), event.get("desired")) {
            (Some(r), Some(d)) => format!(" ({r}/{d} ready)"),
            _ => String::new(),
        };
        eprintln!("bench: {} {}: {}{counts}", s("primitive"), s("name"), s("phase"));
    } else {
        eprintln!("{event}");
    }
}

/// Where an object stands: still going (with its progress event) or done.
pub enum Step {
    Waiting(Value),
    Done(Value),
    /// Terminal without success; the message says why.
    Failed(String),
}

/// A fleet's step: Ready with all replicas ready, or Failed.
pub fn fleet_step(primitive: &str, o: &Value) -> Step {
    let phase = o.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
    let ready = o.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0);
    let desired = o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
    let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let event = json!({"primitive": primitive, "name": name, "phase": phase, "ready": ready, "desired": desired});
    match phase {
        "Ready" if ready >= desired => Step::Done(event),
        "Failed" => {
            let why = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["status"] == "False" && c["message"].is_string()))
                .and_then(|c| c["message"].as_str())
                .unwrap_or("see its conditions");
            Step::Failed(format!("{primitive} {name} is Failed: {why}"))
        }
        _ => Step::Waiting(event),
    }
}

/// A Job's step: Complete or Failed are both done (the verdict reads the pod).
pub fn job_step(o: &Value) -> Step {
    let condition = |t: &str| {
        o.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == t && c["status"] == "True"))
    };
    let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let active = o.pointer("/status/active").and_then(Value::as_i64).unwrap_or(0);
    let phase = if condition("Complete") {
        "Succeeded"
    } else if condition("Failed") {
        "Failed"
    } else if active > 0 || o.pointer("/status/startTime").is_some() {
        // Between its pod's end and the Job's condition, nothing is active: still Running.
        "Running"
    } else {
        "Pending"
    };
    let event = json!({"primitive": "load", "name": name, "phase": phase});
    if matches!(phase, "Succeeded" | "Failed") { Step::Done(event) } else { Step::Waiting(event) }
}

/// Watches `name` until `step` says done, reporting each new progress event.
pub async fn until(
    api: Api<DynamicObject>,
    name: &str,
    timeout: Duration,
    what: &str,
    step: impl Fn(&Value) -> Step,
) -> anyhow::Result<Value> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(api, config).boxed();
    let mut last: Option<Value> = None;
    let wait = async {
        while let Some(event) = stream.next().await {
            let o = match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
                Ok(watcher::Event::Delete(_)) => return Err(fail("deleted", format!("{what} {name} was deleted"))),
                Ok(_) => continue,
                // The watcher re-lists after an error; a dropped connection is not the end.
                Err(e) => {
                    tracing::debug!(error = %e, "watch error; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let v = serde_json::to_value(&o)?;
            match step(&v) {
                Step::Waiting(event) => {
                    if last.as_ref() != Some(&event) {
                        progress(&event);
                        last = Some(event);
                    }
                }
                Step::Done(event) => {
                    if last.as_ref() != Some(&event) {
                        progress(&event);
                    }
                    return Ok(v);
                }
                Step::Failed(why) => return Err(fail("failed", why)),
            }
        }
        Err(fail("watch-ended", format!("the watch of {what} {name} ended")))
    };
    match tokio::time::timeout(timeout, wait).await {
        Ok(r) => r,
        Err(_) => {
            let at = last.as_ref().and_then(|e| e["phase"].as_str()).unwrap_or("no status yet").to_string();
            Err(fail(
                "not-ready",
                format!("{what} {name} not done after {} (phase: {at})", super::show_duration(timeout.as_secs())),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_is_done_when_ready_with_every_replica() {
        let o = |phase: &str, ready: i64| json!({"metadata": {"name": "c"}, "spec": {"replicas": 4}, "status": {"phase": phase, "readyReplicas": ready}});
        assert!(matches!(fleet_step("chain", &o("Ready", 4)), Step::Done(_)));
        assert!(matches!(fleet_step("chain", &o("Ready", 3)), Step::Waiting(_)));
        assert!(matches!(fleet_step("chain", &o("Initializing", 0)), Step::Waiting(_)));
        assert!(matches!(fleet_step("chain", &o("Failed", 0)), Step::Failed(_)));
        let Step::Waiting(e) = fleet_step("chain", &o("Initializing", 3)) else { panic!() };
        assert_eq!(e, json!({"primitive": "chain", "name": "c", "phase": "Initializing", "ready": 3, "desired": 4}));
    }

    #[test]
    fn a_job_is_done_when_complete_or_failed() {
        let j = |t: &str| json!({"metadata": {"name": "j"}, "status": {"conditions": [{"type": t, "status": "True"}]}});
        assert!(matches!(job_step(&j("Complete")), Step::Done(e) if e["phase"] == "Succeeded"));
        assert!(matches!(job_step(&j("Failed")), Step::Done(e) if e["phase"] == "Failed"));
        assert!(matches!(job_step(&json!({"status": {"active": 1}})), Step::Waiting(e) if e["phase"] == "Running"));
        let ending = json!({"status": {"active": 0, "startTime": "2026-12-03T10:00:00Z"}});
        assert!(matches!(job_step(&ending), Step::Waiting(e) if e["phase"] == "Running"));
        assert!(matches!(job_step(&json!({"status": {}})), Step::Waiting(e) if e["phase"] == "Pending"));
    }
}
