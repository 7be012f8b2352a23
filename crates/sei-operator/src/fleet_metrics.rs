//! The SeiNodeDeployment metrics (§12): the phase gauge (one-hot over the seven phases),
//! desired and ready replicas, and deployments with an active plan. Series of a deleted
//! deployment go with it.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sei_api::deployment::DeploymentPhase;

use crate::metrics::ControllerNamespace;

const CONTROLLER: &str = "seinodedeployment";
const PHASES: [DeploymentPhase; 7] = [
    DeploymentPhase::Pending,
    DeploymentPhase::Initializing,
    DeploymentPhase::Ready,
    DeploymentPhase::Upgrading,
    DeploymentPhase::Degraded,
    DeploymentPhase::Failed,
    DeploymentPhase::Terminating,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    namespace: String,
    name: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    namespace: String,
    name: String,
    replica_state: String,
}

pub struct FleetMetrics {
    phase: Family<PhaseLabels, Gauge>,
    replicas: Family<ReplicaLabels, Gauge>,
    /// `sei_controller_plan_active`, shared with the SeiNode controller (label `controller`).
    plan_active: Family<ControllerNamespace, Gauge>,
    active: Mutex<HashSet<(String, String)>>,
}

fn phase_name(p: DeploymentPhase) -> String {
    format!("{p:?}")
}

impl FleetMetrics {
    pub(crate) fn new(plan_active: Family<ControllerNamespace, Gauge>) -> FleetMetrics {
        FleetMetrics {
            phase: Default::default(),
            replicas: Default::default(),
            plan_active,
            active: Default::default(),
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "sei_controller_seinodedeployment_phase",
            "1 for the deployment's current phase, 0 for the others",
            self.phase.clone(),
        );
        registry.register(
            "sei_controller_seinodedeployment_replicas",
            "Desired and ready child nodes of a deployment",
            self.replicas.clone(),
        );
    }

    /// A deployment's state after a full reconcile.
    pub fn observe(&self, ns: &str, name: &str, phase: DeploymentPhase, desired: i32, ready: i32, plan_active: bool) {
        for p in PHASES {
            let labels = PhaseLabels { namespace: ns.into(), name: name.into(), phase: phase_name(p) };
            self.phase.get_or_create(&labels).set(i64::from(p == phase));
        }
        for (state, value) in [("desired", desired), ("ready", ready)] {
            let labels = ReplicaLabels { namespace: ns.into(), name: name.into(), replica_state: state.into() };
            self.replicas.get_or_create(&labels).set(value.into());
        }
        self.set_active(ns, name, plan_active);
    }

    /// Drops the series of a deleted deployment.
    pub fn forget(&self, ns: &str, name: &str) {
        for p in PHASES {
            self.phase.remove(&PhaseLabels { namespace: ns.into(), name: name.into(), phase: phase_name(p) });
        }
        for state in ["desired", "ready"] {
            self.replicas.remove(&ReplicaLabels {
                namespace: ns.into(),
                name: name.into(),
                replica_state: state.into(),
            });
        }
        self.set_active(ns, name, false);
    }

    fn set_active(&self, ns: &str, name: &str, active: bool) {
        let mut set = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let key = (ns.to_string(), name.to_string());
        if active {
            set.insert(key);
        } else {
            set.remove(&key);
        }
        let count = set.iter().filter(|(n, _)| n == ns).count();
        let labels = ControllerNamespace { controller: CONTROLLER.into(), namespace: ns.into() };
        self.plan_active.get_or_create(&labels).set(count as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_is_one_hot_counted_and_forgotten() {
        let active = Family::<ControllerNamespace, Gauge>::default();
        let m = FleetMetrics::new(active.clone());
        let mut registry = Registry::default();
        m.register(&mut registry);
        registry.register("sei_controller_plan_active", "", active);
        m.observe("ns", "rpc", DeploymentPhase::Upgrading, 3, 2, true);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"sei_controller_seinodedeployment_phase{namespace="ns",name="rpc",phase="Upgrading"} 1"#)
        );
        assert!(text.contains(r#"sei_controller_seinodedeployment_phase{namespace="ns",name="rpc",phase="Ready"} 0"#));
        assert!(text.contains(
            r#"sei_controller_seinodedeployment_replicas{namespace="ns",name="rpc",replica_state="ready"} 2"#
        ));
        assert!(text.contains(r#"sei_controller_plan_active{controller="seinodedeployment",namespace="ns"} 1"#));
        m.forget("ns", "rpc");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(!text.contains(r#"name="rpc""#), "{text}");
        assert!(text.contains(r#"sei_controller_plan_active{controller="seinodedeployment",namespace="ns"} 0"#));
    }
}
