//! The genesis ceremony of a validator fleet (§8.5): when its plan is due, which node
//! assembles, and the peers each validator is given.

use sei_api::{SeiNodeDeployment, SeiNodeDeploymentStatus};

use crate::names;
use crate::status::condition;

pub const GENESIS_CEREMONY_NEEDED: &str = "GenesisCeremonyNeeded";
pub const GENESIS_CEREMONY_COMPLETE: &str = "GenesisCeremonyComplete";

fn is_true(status: &SeiNodeDeploymentStatus, type_: &str) -> bool {
    status.conditions.as_deref().and_then(|c| condition(c, type_)).is_some_and(|c| c.status == "True")
}

/// Whether the fleet still has to hold its ceremony: `spec.genesis` is set and no
/// ceremony completed.
pub fn ceremony_wanted(d: &SeiNodeDeployment, status: &SeiNodeDeploymentStatus) -> bool {
    d.spec.genesis.is_some() && !is_true(status, GENESIS_CEREMONY_COMPLETE)
}

/// Whether the ceremony plan can be built now: wanted, and every validator exists.
pub fn ceremony_due(d: &SeiNodeDeployment, status: &SeiNodeDeploymentStatus) -> bool {
    let validators = status.incumbent_nodes.as_ref().map_or(0, Vec::len);
    ceremony_wanted(d, status) && validators >= usize::try_from(d.spec.replicas).unwrap_or(0) && validators > 0
}

/// The node whose sidecar runs the group's sidecar tasks: the smallest name.
pub fn assembler<'a>(nodes: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    nodes.into_iter().min()
}

/// The persistent-peer address of a validator: `<node id>@<pod DNS name>:26656`.
pub fn peer_address(node_id: &str, node: &str, namespace: &str) -> String {
    format!("{node_id}@{}:{}", names::pod_host(node, namespace), sei_config::PORT_P2P)
}

/// Each validator's peers: every other validator (the reference gave every node the same
/// list, its own address included).
pub fn peers_of(node: &str, addresses: &[(String, String)]) -> Vec<String> {
    addresses.iter().filter(|(name, _)| name != node).map(|(_, a)| a.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;
    use serde_json::json;

    fn deployment(genesis: bool) -> SeiNodeDeployment {
        let mut spec = json!({"replicas": 2, "updateStrategy": {"type": "InPlace"}, "template": {"spec": {"chainId": "", "image": "i", "validator": {}}}});
        if genesis {
            spec["genesis"] = json!({"chainId": "test-1"});
        }
        serde_json::from_value(json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "val", "namespace": "ns"}, "spec": spec}))
        .unwrap()
    }

    #[test]
    fn the_ceremony_is_due_once_every_validator_exists_and_never_after_it_completed() {
        let d = deployment(true);
        let mut status = SeiNodeDeploymentStatus { incumbent_nodes: Some(vec!["val-0".into()]), ..Default::default() };
        assert!(ceremony_wanted(&d, &status) && !ceremony_due(&d, &status));
        status.incumbent_nodes = Some(vec!["val-0".into(), "val-1".into()]);
        assert!(ceremony_due(&d, &status));
        assert!(!ceremony_due(&deployment(false), &status));
        let now = Time(Timestamp::from_second(1).unwrap());
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        crate::status::set_condition(conditions, GENESIS_CEREMONY_COMPLETE, "True", "CeremonyComplete", "", None, &now);
        assert!(!ceremony_wanted(&d, &status) && !ceremony_due(&d, &status));
    }

    #[test]
    fn the_assembler_is_the_smallest_name_and_no_validator_peers_with_itself() {
        assert_eq!(assembler(["val-2", "val-10", "val-1"]), Some("val-1"));
        assert_eq!(assembler(std::iter::empty()), None);
        let addresses: Vec<(String, String)> =
            ["a", "b", "c"].iter().map(|n| (n.to_string(), peer_address(&format!("id{n}"), n, "ns"))).collect();
        assert_eq!(addresses[0].1, "ida@a-0.a.ns.svc.cluster.local:26656");
        assert_eq!(peers_of("b", &addresses), [addresses[0].1.clone(), addresses[2].1.clone()]);
    }
}
