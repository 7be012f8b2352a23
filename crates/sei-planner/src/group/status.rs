//! A deployment's status as its children show it (§3.3, §3.4, §8.6): ready counts, the
//! `NodesReady` condition, the phase, the per-node rows and the endpoints.

use kube::ResourceExt;
use sei_api::SeiNode;
use sei_api::common::NodePhase;
use sei_api::deployment::{
    DeploymentPhase, EndpointsStatus, InternalServiceStatus, NodeStatusEntry, PerPodServicePorts, PerPodServiceStatus,
};

use super::children::ordinal_of;

pub const EVM_HTTP_PORT: i32 = 8545;
pub const EVM_WS_PORT: i32 = 8546;
pub const RPC_PORT: i32 = 26657;
pub const REST_PORT: i32 = 1317;

/// The children a status flush lists (controlled by the deployment, in list order) and
/// the replicas the spec asks for.
pub struct FleetView<'a> {
    pub children: &'a [SeiNode],
    pub replicas: i32,
}

fn phase_of(n: &SeiNode) -> Option<NodePhase> {
    n.status.as_ref().and_then(|s| s.phase)
}

impl FleetView<'_> {
    pub fn ready(&self) -> i32 {
        self.children.iter().filter(|n| phase_of(n) == Some(NodePhase::Running)).count() as i32
    }

    /// Running children whose `CaughtUp` condition is True.
    pub fn caught_up(&self) -> i32 {
        self.children
            .iter()
            .filter(|n| phase_of(n) == Some(NodePhase::Running))
            .filter(|n| {
                let conditions = n.status.as_ref().and_then(|s| s.conditions.as_ref());
                conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "CaughtUp" && c.status == "True"))
            })
            .count() as i32
    }

    fn count(&self, phases: &[NodePhase]) -> usize {
        self.children.iter().filter(|n| phase_of(n).is_some_and(|p| phases.contains(&p))).count()
    }

    /// `NodesReady`: status, reason and message (§3.3). Nodes without a phase yet count
    /// as initialising (the reference left them out of every count).
    pub fn nodes_ready(&self) -> (&'static str, &'static str, String) {
        let (ready, desired) = (self.ready(), self.replicas);
        if ready >= desired {
            return ("True", "AllNodesReady", format!("{ready}/{desired} nodes ready"));
        }
        let failed = self.count(&[NodePhase::Failed]);
        let initializing = self.count(&[NodePhase::Pending, NodePhase::Initializing])
            + self.children.iter().filter(|n| phase_of(n).is_none()).count();
        if failed > 0 {
            let m = format!("{ready}/{desired} nodes ready ({failed} failed, {initializing} initializing)");
            ("False", "NodesFailed", m)
        } else {
            ("False", "NodesInitializing", format!("{ready}/{desired} nodes ready ({initializing} initializing)"))
        }
    }

    /// `status.nodes`: one row per listed child.
    pub fn rows(&self) -> Vec<NodeStatusEntry> {
        self.children.iter().map(|n| NodeStatusEntry { name: n.name_any(), phase: phase_of(n) }).collect()
    }

    /// `status.perPodServices`: each child's own headless Service, by ordinal.
    pub fn per_pod_services(&self) -> Option<Vec<PerPodServiceStatus>> {
        let mut rows: Vec<(i32, PerPodServiceStatus)> = self
            .children
            .iter()
            .filter_map(|n| {
                let entry = PerPodServiceStatus {
                    name: n.name_any(),
                    namespace: n.namespace().unwrap_or_default(),
                    ports: PerPodServicePorts { evm_http: EVM_HTTP_PORT, evm_ws: EVM_WS_PORT },
                };
                ordinal_of(n).map(|o| (o, entry))
            })
            .collect();
        rows.sort_by_key(|(o, _)| *o);
        (!rows.is_empty()).then(|| rows.into_iter().map(|(_, r)| r).collect())
    }
}

/// `status.endpoints` from the internal Service and the per-pod Services.
pub fn endpoints(
    internal: Option<&InternalServiceStatus>,
    per_pod: Option<&[PerPodServiceStatus]>,
) -> Option<EndpointsStatus> {
    let per_pod = per_pod.unwrap_or_default();
    if internal.is_none() && per_pod.is_empty() {
        return None;
    }
    let host = |name: &str, ns: &str| format!("{name}.{ns}.svc");
    let aggregate =
        |scheme: &str, port: i32| internal.map(|s| vec![format!("{scheme}://{}:{port}", host(&s.name, &s.namespace))]);
    let mut evm: Vec<String> = aggregate("http", EVM_HTTP_PORT).unwrap_or_default();
    evm.extend(per_pod.iter().map(|p| format!("http://{}:{EVM_HTTP_PORT}", host(&p.name, &p.namespace))));
    let ws: Vec<String> =
        per_pod.iter().map(|p| format!("ws://{}:{EVM_WS_PORT}", host(&p.name, &p.namespace))).collect();
    Some(EndpointsStatus {
        tendermint_rpc: aggregate("http", RPC_PORT),
        tendermint_rest: aggregate("http", REST_PORT),
        evm_json_rpc: (!evm.is_empty()).then_some(evm),
        evm_ws: (!ws.is_empty()).then_some(ws),
    })
}

/// The phase (§3.4), first match wins: a roll-out or a plan in progress, no children,
/// all ready, failures, else initialising.
pub fn phase(
    rollout_in_progress: bool,
    plan_in_progress: bool,
    rollout_set: bool,
    fleet: &FleetView,
) -> DeploymentPhase {
    if rollout_in_progress {
        return DeploymentPhase::Upgrading;
    }
    if plan_in_progress {
        return if rollout_set { DeploymentPhase::Upgrading } else { DeploymentPhase::Initializing };
    }
    if fleet.children.is_empty() {
        return DeploymentPhase::Pending;
    }
    let ready = fleet.ready();
    if ready == fleet.replicas {
        return DeploymentPhase::Ready;
    }
    let failed = fleet.count(&[NodePhase::Failed]);
    if failed > 0 {
        if failed == fleet.children.len() {
            return DeploymentPhase::Failed;
        }
        if ready > 0 {
            return DeploymentPhase::Degraded;
        }
    }
    DeploymentPhase::Initializing
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(name: &str, ordinal: &str, phase: Option<&str>) -> SeiNode {
        let mut v = json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
            "metadata": {"name": name, "namespace": "ns", "labels": {"sei.io/nodedeployment-ordinal": ordinal}},
            "spec": {"chainId": "c", "image": "i", "fullNode": {}}
        });
        if let Some(p) = phase {
            v["status"] = json!({"phase": p});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_fleet_is_counted_and_phased_as_the_spec_says() {
        let kids = [node("a-1", "1", Some("Running")), node("a-0", "0", Some("Failed")), node("a-2", "2", None)];
        let fleet = FleetView { children: &kids, replicas: 3 };
        assert_eq!(fleet.ready(), 1);
        let (status, reason, message) = fleet.nodes_ready();
        assert_eq!((status, reason), ("False", "NodesFailed"));
        assert_eq!(message, "1/3 nodes ready (1 failed, 1 initializing)");
        assert_eq!(phase(false, false, false, &fleet), DeploymentPhase::Degraded);
        assert_eq!(phase(false, true, false, &fleet), DeploymentPhase::Initializing);
        assert_eq!(phase(false, true, true, &fleet), DeploymentPhase::Upgrading);
        assert_eq!(phase(true, false, false, &fleet), DeploymentPhase::Upgrading);
        assert_eq!(phase(false, false, false, &FleetView { children: &[], replicas: 3 }), DeploymentPhase::Pending);
        let all_failed = [node("a-0", "0", Some("Failed"))];
        assert_eq!(
            phase(false, false, false, &FleetView { children: &all_failed, replicas: 2 }),
            DeploymentPhase::Failed
        );
        let running = [node("a-0", "0", Some("Running"))];
        let one = FleetView { children: &running, replicas: 1 };
        assert_eq!(phase(false, false, false, &one), DeploymentPhase::Ready);
        assert_eq!(one.nodes_ready(), ("True", "AllNodesReady", "1/1 nodes ready".to_string()));
        let rows = fleet.rows();
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a-1", "a-0", "a-2"], "list order");
    }

    #[test]
    fn caught_up_counts_running_nodes_whose_seid_says_so() {
        let with = |name: &str, phase: &str, caught_up: &str| {
            let mut n = node(name, "0", Some(phase));
            let c = json!([{"type": "CaughtUp", "status": caught_up, "reason": "r", "message": "",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}]);
            n.status.as_mut().unwrap().conditions = Some(serde_json::from_value(c).unwrap());
            n
        };
        let kids = [
            with("a", "Running", "True"),
            with("b", "Running", "False"),
            with("c", "Failed", "True"),
            node("d", "3", Some("Running")),
        ];
        assert_eq!(FleetView { children: &kids, replicas: 4 }.caught_up(), 1);
    }

    #[test]
    fn endpoints_name_the_internal_service_then_each_pod() {
        let kids = [node("a-1", "1", None), node("a-0", "0", None), node("stray", "x", None)];
        let fleet = FleetView { children: &kids, replicas: 2 };
        let per_pod = fleet.per_pod_services().unwrap();
        assert_eq!(per_pod.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a-0", "a-1"], "by ordinal");
        let internal =
            InternalServiceStatus { name: "a-internal".into(), namespace: "ns".into(), ports: Default::default() };
        let e = endpoints(Some(&internal), Some(&per_pod)).unwrap();
        assert_eq!(e.tendermint_rpc.unwrap(), ["http://a-internal.ns.svc:26657"]);
        assert_eq!(e.tendermint_rest.unwrap(), ["http://a-internal.ns.svc:1317"]);
        assert_eq!(
            e.evm_json_rpc.unwrap(),
            ["http://a-internal.ns.svc:8545", "http://a-0.ns.svc:8545", "http://a-1.ns.svc:8545"]
        );
        assert_eq!(e.evm_ws.unwrap(), ["ws://a-0.ns.svc:8546", "ws://a-1.ns.svc:8546"]);
        assert_eq!(endpoints(None, None), None);
    }
}
