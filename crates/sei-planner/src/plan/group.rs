//! Plans of a SeiNodeDeployment (§8.5). Group plans carry no node phases.

use kube::ResourceExt;
use sei_api::{SeiNodeDeployment, TaskPlan};
use sei_tasks::StoredTask;
use sei_tasks::params::{GenesisAccount, GenesisNode};
use sei_tasks::stored::StoredAssembleGenesis;
use serde_json::json;

use super::node::{Builder, PlanError};
use super::task::*;
use crate::group::children::{DEFAULT_ACCOUNT_BALANCE, entrant_name};

/// How often `assemble-and-upload-genesis` may fail before the ceremony plan fails (as
/// the reference); the operator submits it only once every validator's gentx is uploaded,
/// so a retry means a real failure.
pub const ASSEMBLE_MAX_RETRIES: i64 = 180;

/// An `InPlace` roll-out: the incumbents take the template's image, then the plan waits
/// until each runs it.
pub fn build_in_place_plan(d: &SeiNodeDeployment, incumbents: &[String], plan_id: &str) -> TaskPlan {
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let mut b = Builder::new(plan_id);
    b.push(UPDATE_NODE_SPECS, json!({"groupName": name, "namespace": ns, "nodeNames": incumbents}));
    b.push(AWAIT_SPEC_UPDATE, json!({"namespace": ns, "nodeNames": incumbents}));
    b.finish_group()
}

/// The entrants of a roll-out to `generation`: one per replica.
pub fn entrant_names(d: &SeiNodeDeployment, generation: i64) -> Vec<String> {
    (0..d.spec.replicas.max(0)).map(|i| entrant_name(&d.name_any(), generation, i)).collect()
}

/// The start of both blue-green and hard-fork plans: the entrants are created and run.
fn entrants_up(d: &SeiNodeDeployment, entrant_revision: &str, entrants: &[String], plan_id: &str) -> Builder {
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let mut b = Builder::new(plan_id);
    b.push(
        CREATE_ENTRANT_NODES,
        json!({"groupName": name, "namespace": ns, "entrantRevision": entrant_revision, "nodeNames": entrants}),
    );
    b.push(
        AWAIT_NODES_RUNNING,
        json!({"groupName": name, "namespace": ns, "expected": entrants.len(), "nodeNames": entrants}),
    );
    b
}

/// A `BlueGreen` roll-out: a second fleet at the new template, caught up with the chain
/// before the internal Service moves to it; then the incumbents go.
pub fn build_blue_green_plan(
    d: &SeiNodeDeployment,
    incumbents: &[String],
    entrant_revision: &str,
    entrants: &[String],
    plan_id: &str,
) -> TaskPlan {
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let mut b = entrants_up(d, entrant_revision, entrants, plan_id);
    b.push(AWAIT_NODES_CAUGHT_UP, json!({"namespace": ns, "nodeNames": entrants}));
    b.push(SWITCH_TRAFFIC, json!({"groupName": name, "namespace": ns, "entrantRevision": entrant_revision}));
    b.push(TEARDOWN_NODES, json!({"namespace": ns, "nodeNames": incumbents}));
    b.finish_group()
}

/// A `HardFork` roll-out: entrants at the new template start; the incumbents stop at
/// `halt_height`; once the entrants reach it, traffic moves to them and the incumbents go.
pub fn build_hard_fork_plan(
    d: &SeiNodeDeployment,
    incumbents: &[String],
    entrant_revision: &str,
    entrants: &[String],
    halt_height: i64,
    plan_id: &str,
) -> TaskPlan {
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let mut b = entrants_up(d, entrant_revision, entrants, plan_id);
    b.push(SUBMIT_HALT_SIGNAL, json!({"namespace": ns, "nodeNames": incumbents, "haltHeight": halt_height}));
    b.push(AWAIT_NODES_AT_HEIGHT, json!({"namespace": ns, "nodeNames": entrants, "targetHeight": halt_height}));
    b.push(SWITCH_TRAFFIC, json!({"groupName": name, "namespace": ns, "entrantRevision": entrant_revision}));
    b.push(TEARDOWN_NODES, json!({"namespace": ns, "nodeNames": incumbents}));
    b.finish_group()
}

/// The genesis ceremony across the validators `incumbents`: the assembler node builds and
/// uploads the genesis from every validator's gentx, each validator is given the others
/// as peers, and the plan ends once all of them run.
pub fn build_genesis_plan(d: &SeiNodeDeployment, incumbents: &[String], plan_id: &str) -> Result<TaskPlan, PlanError> {
    let Some(genesis) = &d.spec.genesis else {
        return Err(PlanError::Invalid("spec.genesis is not set".into()));
    };
    if incumbents.is_empty() {
        return Err(PlanError::Invalid("a genesis ceremony needs at least one validator".into()));
    }
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let assemble = StoredTask::AssembleAndUploadGenesis(StoredAssembleGenesis {
        account_balance: genesis.account_balance.clone().unwrap_or_else(|| DEFAULT_ACCOUNT_BALANCE.into()),
        namespace: ns.clone(),
        nodes: incumbents.iter().map(|n| GenesisNode { name: n.clone() }).collect(),
        accounts: genesis
            .accounts
            .iter()
            .flatten()
            .map(|a| GenesisAccount { address: a.address.clone(), balance: a.balance.clone() })
            .collect(),
    });
    // What the sidecar would refuse is refused now, with the field to fix.
    assemble.to_request(String::new()).map_err(|e| {
        let field = e
            .message
            .replace("Accounts[", "spec.genesis.accounts[")
            .replace("AccountBalance", "spec.genesis.accountBalance");
        PlanError::Invalid(field)
    })?;
    let mut b = Builder::new(plan_id);
    b.sidecar(assemble).max_retries = Some(ASSEMBLE_MAX_RETRIES);
    b.push(COLLECT_AND_SET_PEERS, json!({"groupName": name, "namespace": ns, "nodeNames": incumbents}));
    b.push(
        AWAIT_NODES_RUNNING,
        json!({"groupName": name, "namespace": ns, "expected": incumbents.len(), "nodeNames": incumbents}),
    );
    Ok(b.finish_group())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(spec: serde_json::Value) -> SeiNodeDeployment {
        serde_json::from_value(json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "val", "namespace": "ns"},
            "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn an_in_place_plan_updates_then_waits_for_the_incumbents() {
        let d = deployment(json!({"replicas": 2, "updateStrategy": {"type": "InPlace"},
                     "template": {"spec": {"chainId": "c", "image": "i", "fullNode": {}}}}));
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

    #[test]
    fn blue_green_and_hard_fork_plans_bring_entrants_up_before_the_switch_and_the_teardown() {
        let d = deployment(json!({"replicas": 2, "updateStrategy": {"type": "BlueGreen"},
                     "template": {"spec": {"chainId": "c", "image": "i", "fullNode": {}}}}));
        let entrants = entrant_names(&d, 4);
        assert_eq!(entrants, ["val-g4-0", "val-g4-1"]);
        let incumbents = ["val-0".to_string(), "val-1".to_string()];
        let bg = build_blue_green_plan(&d, &incumbents, "4", &entrants, "p");
        assert_eq!(
            super::super::task_types(&bg),
            [CREATE_ENTRANT_NODES, AWAIT_NODES_RUNNING, AWAIT_NODES_CAUGHT_UP, SWITCH_TRAFFIC, TEARDOWN_NODES]
        );
        assert_eq!(bg.tasks[0].params.as_ref().unwrap()["entrantRevision"], "4");
        assert_eq!(bg.tasks[4].params.as_ref().unwrap()["nodeNames"], json!(["val-0", "val-1"]));
        let hf = build_hard_fork_plan(&d, &incumbents, "4", &entrants, 900, "p");
        assert_eq!(
            super::super::task_types(&hf),
            [
                CREATE_ENTRANT_NODES,
                AWAIT_NODES_RUNNING,
                SUBMIT_HALT_SIGNAL,
                AWAIT_NODES_AT_HEIGHT,
                SWITCH_TRAFFIC,
                TEARDOWN_NODES
            ]
        );
        assert_eq!(
            hf.tasks[2].params.as_ref().unwrap(),
            &json!({"namespace": "ns", "nodeNames": ["val-0", "val-1"], "haltHeight": 900})
        );
        assert_eq!(hf.tasks[3].params.as_ref().unwrap()["targetHeight"], 900);
    }

    fn genesis_deployment(accounts: serde_json::Value) -> SeiNodeDeployment {
        deployment(json!({"replicas": 2, "updateStrategy": {"type": "InPlace"},
            "genesis": {"chainId": "test-1", "accountBalance": "5usei", "accounts": accounts},
            "template": {"spec": {"chainId": "", "image": "i", "validator": {}}}}))
    }

    #[test]
    fn a_genesis_plan_assembles_on_the_validators_then_peers_them_and_waits() {
        let address = bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("sei").unwrap(), &[7; 20]).unwrap();
        let d = genesis_deployment(json!([{"address": address, "balance": "42usei"}]));
        let incumbents = ["val-0".to_string(), "val-1".to_string()];
        let plan = build_genesis_plan(&d, &incumbents, "p").unwrap();
        assert_eq!(
            super::super::task_types(&plan),
            ["assemble-and-upload-genesis", COLLECT_AND_SET_PEERS, AWAIT_NODES_RUNNING]
        );
        assert_eq!((plan.target_phase, plan.failed_phase), (None, None));
        // The reference's stored form (§6.3): capitalised keys, Accounts always present.
        assert_eq!(
            plan.tasks[0].params.as_ref().unwrap(),
            &json!({"AccountBalance": "5usei", "Namespace": "ns", "Nodes": [{"name": "val-0"}, {"name": "val-1"}],
                    "Accounts": [{"address": address, "balance": "42usei"}]})
        );
        assert_eq!(plan.tasks[0].max_retries, Some(ASSEMBLE_MAX_RETRIES));
        assert_eq!(
            plan.tasks[2].params.as_ref().unwrap(),
            &json!({"groupName": "val", "namespace": "ns", "expected": 2, "nodeNames": ["val-0", "val-1"]})
        );
        let none = build_genesis_plan(&genesis_deployment(json!(null)), &incumbents, "p").unwrap();
        assert_eq!(none.tasks[0].params.as_ref().unwrap()["Accounts"], json!([]));
    }

    #[test]
    fn a_genesis_account_that_is_not_a_sei_address_is_refused_with_its_index() {
        let cosmos = bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("cosmos").unwrap(), &[7; 20]).unwrap();
        let d = genesis_deployment(json!([{"address": cosmos, "balance": "1usei"}]));
        let err = build_genesis_plan(&d, &["val-0".into()], "p").unwrap_err().to_string();
        assert!(err.starts_with("spec.genesis.accounts[0].address: ") && err.contains("not \"sei\""), "{err}");
        assert!(build_genesis_plan(&genesis_deployment(json!(null)), &[], "p").is_err());
    }
}
