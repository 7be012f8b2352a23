//! A fleet's Prometheus Operator `ServiceMonitor` (§7.9 of the controller spec), with
//! `spec.monitoring.serviceMonitor`: it scrapes the `metrics` port of every child's
//! headless Service.

use std::collections::BTreeMap;

use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Resource, ResourceExt};
use sei_api::SeiNodeDeployment;
use serde_json::json;

use crate::names::{ANNOTATION_MANAGED_BY, LABEL_DEPLOYMENT};

pub fn service_monitor_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"))
}

/// What the fleet's nodes are, as the `component` label of their series.
fn component(d: &SeiNodeDeployment) -> Option<&'static str> {
    let t = &d.spec.template.spec;
    if t.validator.is_some() {
        Some("validator")
    } else if t.archive.is_some() {
        Some("archive")
    } else if t.replayer.is_some() {
        Some("replayer")
    } else if t.full_node.is_some() {
        Some("node")
    } else {
        None
    }
}

/// The ServiceMonitor named after the fleet; `None` without
/// `spec.monitoring.serviceMonitor`. It selects every child's headless Service by the
/// fleet label, whatever their revision, so that a roll-out's entrants are scraped too.
pub fn service_monitor(d: &SeiNodeDeployment) -> Option<DynamicObject> {
    let config = d.spec.monitoring.as_ref()?.service_monitor.as_ref()?;
    let name = d.name_any();
    let interval = config.interval.clone().filter(|i| !i.is_empty()).unwrap_or_else(|| "30s".into());
    let mut relabelings = Vec::new();
    if let Some(c) = component(d) {
        relabelings.push(json!({"action": "replace", "regex": ".*", "replacement": c, "targetLabel": "component"}));
    }
    let chain = &d.spec.template.spec.chain_id;
    if !chain.is_empty() {
        relabelings.push(json!({"action": "replace", "regex": ".*", "replacement": chain, "targetLabel": "chain_id"}));
    }
    relabelings.push(json!({"action": "replace", "sourceLabels": ["pod"], "targetLabel": "instance_name"}));
    relabelings.push(json!({"action": "replace", "sourceLabels": ["pod"], "targetLabel": "public_dns"}));
    let mut labels = config.labels.clone().unwrap_or_default();
    labels.insert(LABEL_DEPLOYMENT.into(), name.clone());
    let mut monitor = DynamicObject::new(&name, &service_monitor_resource());
    monitor.metadata.namespace = d.namespace();
    monitor.metadata.labels = Some(labels);
    monitor.metadata.annotations = Some(BTreeMap::from([(ANNOTATION_MANAGED_BY.into(), "seinodedeployment".into())]));
    monitor.metadata.owner_references = d.controller_owner_ref(&()).map(|o| vec![o]);
    monitor.data = json!({"spec": {
        "selector": {"matchLabels": {LABEL_DEPLOYMENT: name}},
        "endpoints": [{"port": "metrics", "interval": interval, "metricRelabelings": relabelings}]
    }});
    Some(monitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(monitoring: serde_json::Value) -> SeiNodeDeployment {
        serde_json::from_value(json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "rpc", "namespace": "ns", "uid": "u"},
            "spec": {"replicas": 1, "updateStrategy": {"type": "InPlace"}, "monitoring": monitoring,
                     "template": {"spec": {"chainId": "pacific-1", "image": "i", "fullNode": {}}}}}))
        .unwrap()
    }

    #[test]
    fn a_monitored_fleet_scrapes_its_childrens_metrics_port_with_its_labels() {
        let m = service_monitor(&deployment(json!({"serviceMonitor": {"labels": {"release": "prom"}}}))).unwrap();
        assert_eq!(m.name_any(), "rpc");
        let labels = m.labels();
        assert_eq!((labels["release"].as_str(), labels["sei.io/nodedeployment"].as_str()), ("prom", "rpc"));
        let spec = &m.data["spec"];
        assert_eq!(spec["selector"], json!({"matchLabels": {"sei.io/nodedeployment": "rpc"}}));
        let endpoint = &spec["endpoints"][0];
        assert_eq!((endpoint["port"].as_str(), endpoint["interval"].as_str()), (Some("metrics"), Some("30s")));
        let targets: Vec<&str> = endpoint["metricRelabelings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["targetLabel"].as_str().unwrap())
            .collect();
        assert_eq!(targets, ["component", "chain_id", "instance_name", "public_dns"]);
        assert_eq!(endpoint["metricRelabelings"][0]["replacement"], "node");
        assert!(service_monitor(&deployment(json!({}))).is_none());
        assert!(service_monitor(&deployment(json!(null))).is_none());
    }
}
