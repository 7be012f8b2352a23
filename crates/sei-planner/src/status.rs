//! Status helpers: Kubernetes condition semantics and label-peer resolution.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use sei_api::node::LabelPeerSource;

use crate::names;

/// Sets a condition the way the Kubernetes helpers do: `lastTransitionTime` changes only
/// when the status changes; reason, message and observed generation are always updated.
/// Returns whether anything changed.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            let before = c.clone();
            if c.status != status {
                c.status = status.into();
                c.last_transition_time = now.clone();
            }
            c.reason = reason.into();
            c.message = message.into();
            c.observed_generation = generation;
            *c != before
        }
        None => {
            conditions.push(Condition {
                type_: type_.into(),
                status: status.into(),
                reason: reason.into(),
                message: message.into(),
                observed_generation: generation,
                last_transition_time: now.clone(),
            });
            true
        }
    }
}

/// Removes a condition; returns whether it was there.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// A SeiNode as peer resolution sees it.
pub struct Candidate<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// The pod DNS names of the SeiNodes a label source selects, except the node itself
/// (same name and namespace): sorted, without duplicates.
pub fn resolve_label_peers<'a>(
    own: (&str, &str),
    sources: &[&LabelPeerSource],
    candidates: impl Fn(&str) -> Vec<Candidate<'a>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for source in sources {
        let ns = source.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(own.1);
        for c in candidates(ns) {
            let matches = source.selector.iter().all(|(k, v)| c.labels.get(k) == Some(v));
            if matches && !(c.name == own.0 && c.namespace == own.1) {
                out.push(names::pod_host(c.name, c.namespace));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn t(s: i64) -> Time {
        Time(Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let mut c = Vec::new();
        assert!(set_condition(&mut c, "SidecarReady", "True", "Ready", "sidecar returned 200", Some(1), &t(10)));
        assert!(
            !set_condition(&mut c, "SidecarReady", "True", "Ready", "sidecar returned 200", Some(1), &t(20)),
            "no change"
        );
        assert_eq!(c[0].last_transition_time, t(10));
        assert!(set_condition(&mut c, "SidecarReady", "True", "Ready", "ok", Some(2), &t(30)));
        assert_eq!(c[0].last_transition_time, t(10), "same status keeps the time");
        assert!(set_condition(&mut c, "SidecarReady", "False", "NotReady", "503", Some(2), &t(40)));
        assert_eq!(c[0].last_transition_time, t(40));
        assert!(remove_condition(&mut c, "SidecarReady") && c.is_empty());
    }

    #[test]
    fn label_peers_exclude_only_the_node_itself() {
        let chain = BTreeMap::from([("sei.io/chain".to_string(), "pacific-1".to_string())]);
        let other = BTreeMap::from([("sei.io/chain".to_string(), "arctic-1".to_string())]);
        let source = LabelPeerSource { selector: chain.clone(), namespace: None };
        let wide = LabelPeerSource { selector: chain.clone(), namespace: Some("b".into()) };
        let resolved = resolve_label_peers(("n0", "a"), &[&source, &wide, &source], |ns| match ns {
            "a" => vec![
                Candidate { name: "n0", namespace: "a", labels: &chain },
                Candidate { name: "n1", namespace: "a", labels: &chain },
                Candidate { name: "n2", namespace: "a", labels: &other },
            ],
            "b" => vec![Candidate { name: "n0", namespace: "b", labels: &chain }],
            _ => vec![],
        });
        assert_eq!(resolved, ["n0-0.n0.b.svc.cluster.local", "n1-0.n1.a.svc.cluster.local"]);
    }
}
