//! Plans of a SeiNodeDeployment (§8.5). Group plans carry no node phases.

use kube::ResourceExt;
use sei_api::{SeiNodeDeployment, TaskPlan};
use serde_json::json;

use super::node::Builder;
use super::task::{AWAIT_SPEC_UPDATE, UPDATE_NODE_SPECS};

/// An `InPlace` roll-out: the incumbents take the template's image, then the plan waits
/// until each runs it.
pub fn build_in_place_plan(d: &SeiNodeDeployment, incumbents: &[String], plan_id: &str) -> TaskPlan {
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let mut b = Builder::new(plan_id);
    b.push(UPDATE_NODE_SPECS, json!({"groupName": name, "namespace": ns, "nodeNames": incumbents}));
    b.push(AWAIT_SPEC_UPDATE, json!({"namespace": ns, "nodeNames": incumbents}));
    b.finish_group()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_place_plan_updates_then_waits_for_the_incumbents() {
        let d: SeiNodeDeployment = serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "rpc", "namespace": "ns"},
            "spec": {"replicas": 2, "updateStrategy": {"type": "InPlace"},
                     "template": {"spec": {"chainId": "c", "image": "i", "fullNode": {}}}}
        }))
        .unwrap();
        let plan = build_in_place_plan(&d, &["rpc-0".into(), "rpc-1".into()], "p1");
        assert_eq!(super::super::task_types(&plan), [UPDATE_NODE_SPECS, AWAIT_SPEC_UPDATE]);
        assert_eq!(plan.target_phase, None);
        assert_eq!(plan.tasks[0].params.as_ref().unwrap()["nodeNames"], json!(["rpc-0", "rpc-1"]));
        assert_eq!(
            plan.tasks[1].params.as_ref().unwrap(),
            &json!({"namespace": "ns", "nodeNames": ["rpc-0", "rpc-1"]})
        );
        // IDs are derived from the plan ID, so a retried write stores the same plan.
        assert_eq!(plan.tasks[0].id, build_in_place_plan(&d, &[], "p1").tasks[0].id);
    }
}
