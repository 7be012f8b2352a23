//! The child SeiNodes of a deployment (§7.10, §8.3): what each ordinal should be, how an
//! existing child converges, and which children a scale-down removes.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};
use sei_api::deployment::RolloutStatus;
use sei_api::node::GenesisCeremonyNodeConfig;
use sei_api::{SeiNode, SeiNodeDeployment};

use crate::names::{LABEL_DEPLOYMENT, LABEL_ORDINAL, LABEL_REVISION};

/// Remembers, on each child, which label and annotation keys came from the template, so
/// that a key dropped from the template is dropped from the children while keys others
/// put there stay. (The reference replaced both maps wholesale, removing other tools'
/// labels on every reconcile.)
pub const ANNOTATION_TEMPLATE_KEYS: &str = "sei.io/template-metadata-keys";

/// Defaults of `spec.genesis` (the CRD's defaults, for objects stored without them).
pub const DEFAULT_STAKING_AMOUNT: &str = "10000000usei";
pub const DEFAULT_ACCOUNT_BALANCE: &str =
    "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom";

pub fn child_name(deployment: &str, ordinal: i32) -> String {
    format!("{deployment}-{ordinal}")
}

/// The name of a `BlueGreen` or `HardFork` entrant: `<deployment>-g<generation>-<i>`.
pub fn entrant_name(deployment: &str, generation: i64, ordinal: i32) -> String {
    format!("{deployment}-g{generation}-{ordinal}")
}

fn terminating(node: &SeiNode) -> bool {
    node.metadata.deletion_timestamp.is_some()
}

fn revision_label(node: &SeiNode) -> Option<&str> {
    node.labels().get(LABEL_REVISION).map(String::as_str)
}

/// The children of `d` that carry `revision` (the serving ones), not being deleted.
pub fn of_revision<'a>(d: &SeiNodeDeployment, children: &'a [SeiNode], revision: &str) -> Vec<&'a SeiNode> {
    children.iter().filter(|n| controlled_by(n, d) && !terminating(n) && revision_label(n) == Some(revision)).collect()
}

/// The name of ordinal `ordinal` of the fleet at `revision`: the child that has it, else
/// a name in the form the revision's children have (a fleet made by a blue-green roll-out
/// keeps the entrants' `-g<generation>-` form), else `<deployment>-<ordinal>`.
pub fn name_for(d: &SeiNodeDeployment, children: &[SeiNode], revision: &str, ordinal: i32) -> String {
    let name = d.name_any();
    let fleet = of_revision(d, children, revision);
    if let Some(n) = fleet.iter().find(|n| ordinal_of(n) == Some(ordinal)) {
        return n.name_any();
    }
    let prefix = format!("{name}-g{revision}-");
    if fleet.iter().any(|n| n.name_any().starts_with(&prefix)) {
        return format!("{prefix}{ordinal}");
    }
    child_name(&name, ordinal)
}

/// The children of `d` that do not carry `revision` and are not being deleted: what a
/// failed or superseded roll-out leaves (entrants that never served, or incumbents that
/// no longer do).
pub fn not_of_revision<'a>(d: &SeiNodeDeployment, children: &'a [SeiNode], revision: &str) -> Vec<&'a SeiNode> {
    children.iter().filter(|n| controlled_by(n, d) && !terminating(n) && revision_label(n) != Some(revision)).collect()
}

/// The ordinal label of a child, read leniently as a leading integer (as the reference).
pub fn ordinal_of(node: &SeiNode) -> Option<i32> {
    let value = node.labels().get(LABEL_ORDINAL)?;
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether `node` is controlled by `deployment` (by UID).
pub fn controlled_by(node: &SeiNode, deployment: &SeiNodeDeployment) -> bool {
    let uid = deployment.uid();
    node.owner_references().iter().any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref())
}

fn template_keys(d: &SeiNodeDeployment) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let meta = d.spec.template.metadata.clone().unwrap_or_default();
    (meta.labels.unwrap_or_default(), meta.annotations.unwrap_or_default())
}

fn keys_annotation(labels: &BTreeMap<String, String>, annotations: &BTreeMap<String, String>) -> String {
    let l: Vec<&str> = labels.keys().map(|k| k.as_str()).collect();
    let a: Vec<&str> = annotations.keys().map(|k| k.as_str()).collect();
    format!("labels={};annotations={}", l.join(","), a.join(","))
}

fn parse_keys(value: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut labels = BTreeSet::new();
    let mut annotations = BTreeSet::new();
    for part in value.split(';') {
        let (which, keys) = part.split_once('=').unwrap_or((part, ""));
        let set = match which {
            "labels" => &mut labels,
            "annotations" => &mut annotations,
            _ => continue,
        };
        set.extend(keys.split(',').filter(|k| !k.is_empty()).map(str::to_string));
    }
    (labels, annotations)
}

/// The child SeiNode of ordinal `ordinal`, carrying revision `revision`, named
/// `<deployment>-<ordinal>`.
pub fn child(d: &SeiNodeDeployment, ordinal: i32, revision: &str) -> SeiNode {
    child_named(d, ordinal, revision, &child_name(&d.name_any(), ordinal))
}

/// [`child`] under another name (an entrant's, or a blue-green fleet's).
pub fn child_named(d: &SeiNodeDeployment, ordinal: i32, revision: &str, node_name: &str) -> SeiNode {
    let name = d.name_any();
    let (template_labels, template_annotations) = template_keys(d);
    let mut labels = template_labels.clone();
    labels.insert(LABEL_DEPLOYMENT.into(), name.clone());
    labels.insert(LABEL_ORDINAL.into(), ordinal.to_string());
    labels.insert(LABEL_REVISION.into(), revision.into());
    let mut annotations = template_annotations.clone();
    annotations.insert(ANNOTATION_TEMPLATE_KEYS.into(), keys_annotation(&template_labels, &template_annotations));

    let mut spec = d.spec.template.spec.clone();
    let mut pod_labels = template_labels;
    pod_labels.extend(spec.pod_labels.take().unwrap_or_default());
    pod_labels.insert(LABEL_DEPLOYMENT.into(), name.clone());
    pod_labels.insert(LABEL_REVISION.into(), revision.into());
    spec.pod_labels = Some(pod_labels);
    if let (Some(genesis), Some(validator)) = (&d.spec.genesis, spec.validator.as_mut()) {
        if spec.chain_id.is_empty() {
            spec.chain_id = genesis.chain_id.clone();
        }
        let params = genesis
            .overrides
            .as_ref()
            .filter(|o| !o.is_empty())
            .map(|o| serde_json::to_string(o).expect("a string map serialises"));
        validator.genesis_ceremony = Some(GenesisCeremonyNodeConfig {
            chain_id: genesis.chain_id.clone(),
            staking_amount: genesis.staking_amount.clone().unwrap_or_else(|| DEFAULT_STAKING_AMOUNT.into()),
            account_balance: genesis.account_balance.clone().unwrap_or_else(|| DEFAULT_ACCOUNT_BALANCE.into()),
            genesis_params: params,
            index: ordinal,
        });
    }
    SeiNode {
        metadata: ObjectMeta {
            name: Some(node_name.to_string()),
            namespace: d.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: d.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        spec,
        status: None,
    }
}

/// The revision children carry: during a roll-out the incumbents', else the one the
/// running children already carry (lowest ordinal first, children being deleted aside:
/// the incumbents a roll-out tore down), else the deployment's
/// generation for a new fleet. The reference wrote the current generation on every
/// reconcile, so every edit of the deployment (a replica count, say) relabelled all
/// children and their pods drifted from the Services' selectors.
pub fn revision_of(d: &SeiNodeDeployment, children: &[SeiNode]) -> String {
    serving_revision(d, d.status.as_ref().and_then(|s| s.rollout.as_ref()), children)
}

/// [`revision_of`] with the roll-out a reconcile is working on (which may be newer than
/// the stored one).
pub fn serving_revision(d: &SeiNodeDeployment, rollout: Option<&RolloutStatus>, children: &[SeiNode]) -> String {
    let generation = d.metadata.generation.unwrap_or(1).to_string();
    if let Some(rollout) = rollout {
        return rollout.incumbent_revision.clone().filter(|r| !r.is_empty()).unwrap_or(generation);
    }
    let mut ours: Vec<(i32, &SeiNode)> = children
        .iter()
        .filter(|n| controlled_by(n, d) && !terminating(n))
        .filter_map(|n| ordinal_of(n).map(|o| (o, n)))
        .collect();
    // Lowest ordinal first; of two children of one ordinal (a roll-out's incumbent and
    // entrant, right after it ended), the newer revision.
    let newest = |n: &SeiNode| std::cmp::Reverse(revision_label(n).and_then(|r| r.parse::<i64>().ok()).unwrap_or(0));
    ours.sort_by_key(|(o, n)| (*o, newest(n)));
    ours.iter().find_map(|(_, n)| n.labels().get(LABEL_REVISION).cloned()).unwrap_or(generation)
}

/// What converging an existing child to its desired form changes.
#[derive(Debug)]
pub enum Convergence {
    /// Nothing differs.
    InStep,
    /// The child with its converged fields, to be written with one full update.
    Update(Box<SeiNode>),
}

/// Converges the fields the deployment keeps in step (§8.3): the labels and annotations
/// that come from the template or the operator (others' keys stay), `spec.image`,
/// `spec.entrypoint`, `spec.sidecar` and `spec.podLabels`. Everything else was set at
/// creation and is left alone. While `rolling` (the template hash moved), the fields a
/// roll-out changes (image, entrypoint, sidecar) are left to its plan: the reference
/// converged them first, so every strategy degenerated into an in-place update.
pub fn converge(existing: &SeiNode, desired: &SeiNode, rolling: bool) -> Convergence {
    let mut next = existing.clone();
    let (was_labels, was_annotations) =
        parse_keys(existing.annotations().get(ANNOTATION_TEMPLATE_KEYS).map(String::as_str).unwrap_or_default());
    let merge =
        |current: &mut BTreeMap<String, String>, want: &BTreeMap<String, String>, dropped: &BTreeSet<String>| {
            current.retain(|k, _| want.contains_key(k) || !dropped.contains(k));
            current.extend(want.iter().map(|(k, v)| (k.clone(), v.clone())));
        };
    merge(next.labels_mut(), desired.labels(), &was_labels);
    merge(next.annotations_mut(), desired.annotations(), &was_annotations);
    let (want, have) = (&desired.spec, &mut next.spec);
    if !rolling {
        have.image = want.image.clone();
        have.entrypoint = want.entrypoint.clone();
        have.sidecar = want.sidecar.clone();
    }
    have.pod_labels = want.pod_labels.clone();
    if next.metadata == existing.metadata && next.spec == existing.spec {
        Convergence::InStep
    } else {
        Convergence::Update(Box::new(next))
    }
}

/// The children a scale-down removes: controlled by `d`, with an ordinal at or above
/// `spec.replicas`, highest ordinal first. Scaling to zero removes them all (the
/// reference refused to scale below one).
pub fn to_scale_down<'a>(d: &SeiNodeDeployment, children: &'a [SeiNode]) -> Vec<&'a SeiNode> {
    let mut gone: Vec<(i32, &SeiNode)> = children
        .iter()
        .filter(|n| controlled_by(n, d) && !terminating(n))
        .filter_map(|n| ordinal_of(n).map(|o| (o, n)))
        .filter(|(o, _)| *o >= d.spec.replicas.max(0))
        .collect();
    gone.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
    gone.into_iter().map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(extra: serde_json::Value) -> SeiNodeDeployment {
        let mut v = json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "rpc", "namespace": "ns", "uid": "d-uid", "generation": 3},
            "spec": {"replicas": 2, "updateStrategy": {"type": "InPlace"}, "template": {
                "metadata": {"labels": {"team": "a", "sei.io/revision": "user"}, "annotations": {"note": "x"}},
                "spec": {"chainId": "c", "image": "sei:1", "fullNode": {}, "podLabels": {"team": "b", "tier": "rpc"}}
            }}
        });
        json_merge(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    fn json_merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    if v.is_null() {
                        a.remove(&k);
                    } else {
                        json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                    }
                }
            }
            (a, b) => *a = b,
        }
    }

    #[test]
    fn a_child_carries_the_template_and_the_system_labels_win() {
        let d = deployment(json!({}));
        let c = child(&d, 1, "3");
        assert_eq!(c.name_any(), "rpc-1");
        assert_eq!(c.namespace().as_deref(), Some("ns"));
        let labels = c.labels();
        assert_eq!(labels["team"], "a");
        assert_eq!(labels[LABEL_DEPLOYMENT], "rpc");
        assert_eq!(labels[LABEL_ORDINAL], "1");
        assert_eq!(labels[LABEL_REVISION], "3", "system keys win over the template's");
        assert_eq!(c.annotations()["note"], "x");
        let pod = c.spec.pod_labels.as_ref().unwrap();
        assert_eq!(pod["team"], "b", "spec.podLabels win over template labels");
        assert_eq!(pod["tier"], "rpc");
        assert_eq!(pod[LABEL_REVISION], "3");
        assert_eq!(pod[LABEL_DEPLOYMENT], "rpc");
        let owner = &c.owner_references()[0];
        assert_eq!((owner.uid.as_str(), owner.controller), ("d-uid", Some(true)));
        assert!(c.spec.validator.is_none());
    }

    #[test]
    fn a_ceremony_validator_learns_its_index_and_the_chain() {
        let d = deployment(json!({"spec": {
            "genesis": {"chainId": "test-1", "overrides": {"b.x": "2", "a.y": "1"}},
            "template": {"spec": {"chainId": "", "fullNode": null, "validator": {}}}
        }}));
        let c = child(&d, 2, "3");
        assert_eq!(c.spec.chain_id, "test-1");
        let g = c.spec.validator.unwrap().genesis_ceremony.unwrap();
        assert_eq!((g.chain_id.as_str(), g.index), ("test-1", 2));
        assert_eq!(g.staking_amount, DEFAULT_STAKING_AMOUNT);
        assert_eq!(g.account_balance, DEFAULT_ACCOUNT_BALANCE);
        assert_eq!(g.genesis_params.as_deref(), Some(r#"{"a.y":"1","b.x":"2"}"#), "sorted, compact");
    }

    #[test]
    fn convergence_keeps_others_keys_and_drops_the_templates_old_ones() {
        let d = deployment(json!({}));
        let mut existing = child(&d, 0, "3");
        existing.labels_mut().insert("argocd.argoproj.io/instance".into(), "fleet".into());
        existing.spec.peers = Some(vec![]);
        assert!(matches!(converge(&existing, &child(&d, 0, "3"), false), Convergence::InStep));

        // The template drops `team` and the note, changes the image.
        let d2 = deployment(json!({"spec": {"template": {
            "metadata": {"labels": {"team": null, "zone": "z"}, "annotations": null},
            "spec": {"image": "sei:2"}
        }}}));
        let Convergence::Update(held) = converge(&existing, &child(&d2, 0, "3"), true) else { panic!("labels change") };
        assert_eq!(held.spec.image, "sei:1", "a roll-out's field is left to its plan");
        let Convergence::Update(next) = converge(&existing, &child(&d2, 0, "3"), false) else { panic!("must update") };
        let labels = next.labels();
        assert!(!labels.contains_key("team"), "dropped from the template: dropped");
        assert_eq!(labels["zone"], "z");
        assert_eq!(labels["argocd.argoproj.io/instance"], "fleet", "someone else's label stays");
        assert!(!next.annotations().contains_key("note"));
        assert_eq!(next.spec.image, "sei:2");
        assert_eq!(next.spec.peers, Some(vec![]), "fields set at creation are left alone");
        assert!(matches!(converge(&next, &child(&d2, 0, "3"), false), Convergence::InStep));
    }

    #[test]
    fn the_revision_stays_with_the_running_children() {
        let d = deployment(json!({}));
        assert_eq!(revision_of(&d, &[]), "3", "a new fleet: the generation");
        let kids = [child(&d, 1, "2"), child(&d, 0, "1")];
        assert_eq!(revision_of(&d, &kids), "1", "what the lowest ordinal carries");
        let mut rolling = d.clone();
        rolling.status = Some(serde_json::from_value(json!({"rollout": {
            "strategy": "BlueGreen", "targetHash": "h", "startedAt": "2026-12-01T00:00:00Z", "incumbentRevision": "7"
        }})).unwrap());
        assert_eq!(revision_of(&rolling, &kids), "7");
    }

    #[test]
    fn a_scale_down_takes_the_highest_ordinals_of_its_own_children() {
        let d = deployment(json!({"spec": {"replicas": 1}}));
        let mut kids: Vec<SeiNode> = (0..4).map(|i| child(&d, i, "3")).collect();
        kids[3].metadata.owner_references = None; // not ours any more
        let gone: Vec<String> = to_scale_down(&d, &kids).iter().map(|n| n.name_any()).collect();
        assert_eq!(gone, ["rpc-2", "rpc-1"]);
        let zero = deployment(json!({"spec": {"replicas": 0}}));
        assert_eq!(to_scale_down(&zero, &kids).len(), 3, "scaling to zero removes every child");
        let mut odd = child(&d, 7, "3");
        odd.labels_mut().insert(LABEL_ORDINAL.into(), "7abc".into());
        assert_eq!(ordinal_of(&odd), Some(7), "read leniently");
    }
}
