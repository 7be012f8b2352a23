//! Roll-out detection from the template hash (§8.4).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sei_api::deployment::RolloutStatus;
use sei_api::{SeiNodeDeployment, SeiNodeDeploymentStatus};

use super::template_hash;

/// What the template hash says this reconcile.
#[derive(Debug, PartialEq)]
pub enum Detected {
    /// No roll-out to start (no baseline yet, no change, or one in progress already).
    Nothing,
    /// Start this roll-out; `superseded` names the target of the one it replaces.
    Start { rollout: Box<RolloutStatus>, superseded: Option<String> },
}

/// `plan_in_progress`/`rollout_in_progress`: the `PlanInProgress`/`RolloutInProgress`
/// conditions are True. `serving`: the revision the serving children carry
/// ([`super::revision_of`]), which a new roll-out's incumbents keep (the reference took
/// `observedGeneration`, which any edit such as a replica count moves away from the
/// children's label).
pub fn detect(
    d: &SeiNodeDeployment,
    status: &SeiNodeDeploymentStatus,
    plan_in_progress: bool,
    rollout_in_progress: bool,
    serving: &str,
    now: &Time,
) -> Detected {
    let current = template_hash(&d.spec);
    let Some(baseline) = status.template_hash.as_deref().filter(|h| !h.is_empty()) else {
        return Detected::Nothing;
    };
    if current == baseline {
        return Detected::Nothing;
    }
    let mut superseded = None;
    if rollout_in_progress {
        match status.rollout.as_ref() {
            Some(r) if r.target_hash == current => return Detected::Nothing,
            Some(r) => superseded = Some(r.target_hash.clone()),
            None => {}
        }
    } else if plan_in_progress {
        // Another plan (a genesis ceremony) finishes first.
        return Detected::Nothing;
    }
    let generation = d.metadata.generation.unwrap_or(0);
    let incumbent_revision = status
        .rollout
        .as_ref()
        .and_then(|r| r.incumbent_revision.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| serving.to_string());
    let rollout = RolloutStatus {
        strategy: d.spec.update_strategy.strategy_type,
        target_hash: current,
        started_at: now.clone(),
        incumbent_nodes: status.incumbent_nodes.clone(),
        entrant_nodes: None,
        incumbent_revision: Some(incumbent_revision),
        entrant_revision: Some(generation.to_string()),
    };
    Detected::Start { rollout: Box::new(rollout), superseded }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;
    use serde_json::json;

    use super::*;

    fn d(image: &str) -> SeiNodeDeployment {
        serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "rpc", "namespace": "ns", "generation": 4},
            "spec": {"replicas": 2, "updateStrategy": {"type": "InPlace"},
                     "template": {"spec": {"chainId": "c", "image": image, "fullNode": {}}}}
        }))
        .unwrap()
    }

    #[test]
    fn a_template_change_starts_a_roll_out_once_and_a_newer_one_supersedes_it() {
        let now = Time(Timestamp::now());
        let v1 = d("sei:1");
        let mut status = SeiNodeDeploymentStatus { observed_generation: Some(3), ..Default::default() };
        assert_eq!(detect(&v1, &status, false, false, "1", &now), Detected::Nothing, "no baseline yet");
        status.template_hash = Some(template_hash(&v1.spec));
        status.incumbent_nodes = Some(vec!["rpc-0".into()]);
        assert_eq!(detect(&v1, &status, false, false, "1", &now), Detected::Nothing, "unchanged");
        let v2 = d("sei:2");
        assert_eq!(detect(&v2, &status, true, false, "1", &now), Detected::Nothing, "a genesis plan goes first");
        let Detected::Start { rollout, superseded } = detect(&v2, &status, false, false, "1", &now) else { panic!() };
        assert_eq!(superseded, None);
        assert_eq!(rollout.target_hash, template_hash(&v2.spec));
        // What the children carry, not observedGeneration (3).
        assert_eq!(rollout.incumbent_revision.as_deref(), Some("1"));
        assert_eq!(rollout.entrant_revision.as_deref(), Some("4"));
        assert_eq!(rollout.incumbent_nodes, Some(vec!["rpc-0".to_string()]));
        status.rollout = Some(*rollout);
        assert_eq!(detect(&v2, &status, true, true, "1", &now), Detected::Nothing, "already rolling out");
        let Detected::Start { rollout, superseded } = detect(&d("sei:3"), &status, true, true, "1", &now) else {
            panic!()
        };
        assert_eq!(superseded, Some(template_hash(&v2.spec)));
        assert_eq!(rollout.incumbent_revision.as_deref(), Some("1"), "the incumbents are still the same");
    }
}
