//! A fleet's public networking (§7.7, §7.8 of the controller spec): the external Service
//! and one Gateway API `HTTPRoute` per protocol the fleet serves. Built here, applied by
//! the operator.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Resource, ResourceExt};
use sei_api::SeiNodeDeployment;
use sei_api::deployment::RouteStatus;
use sei_config::Mode;
use serde_json::json;

use crate::Platform;
use crate::names::{ANNOTATION_MANAGED_BY, LABEL_DEPLOYMENT, LABEL_REVISION};

pub fn external_service_name(deployment: &str) -> String {
    format!("{deployment}-external")
}

/// The Gateway API kind the routes are.
pub fn http_route_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"))
}

/// What the fleet's nodes are, for their ports: archive, validator, or full (the rest).
pub fn group_mode(d: &SeiNodeDeployment) -> Mode {
    let t = &d.spec.template.spec;
    if t.archive.is_some() {
        Mode::Archive
    } else if t.validator.is_some() {
        Mode::Validator
    } else {
        Mode::Full
    }
}

fn membership(d: &SeiNodeDeployment) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL_DEPLOYMENT.to_string(), d.name_any())])
}

/// The external Service: the mode's ports except `metrics`, selecting the serving
/// `revision` like the internal Service. `None` without `spec.networking`.
pub fn external_service(d: &SeiNodeDeployment, revision: &str) -> Option<Service> {
    d.spec.networking.as_ref()?;
    let mut selector = membership(d);
    selector.insert(LABEL_REVISION.into(), revision.into());
    let ports = group_mode(d)
        .ports()
        .into_iter()
        .filter(|(name, _)| *name != "metrics")
        .map(|(name, port)| ServicePort {
            name: Some(name.into()),
            port: port.into(),
            target_port: Some(IntOrString::Int(port.into())),
            protocol: Some("TCP".into()),
            app_protocol: (name == "grpc").then(|| "kubernetes.io/h2c".into()),
            ..Default::default()
        })
        .collect();
    Some(Service {
        metadata: ObjectMeta {
            name: Some(external_service_name(&d.name_any())),
            namespace: d.namespace(),
            labels: Some(membership(d)),
            owner_references: d.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(ports),
            ..Default::default()
        }),
        status: None,
    })
}

/// The routed protocols, in order: name, port, and the node port that serves it.
const PROTOCOLS: [(&str, u16, &str); 4] = [
    ("evm", sei_config::PORT_EVM_HTTP, "evm-rpc"),
    ("rpc", sei_config::PORT_RPC, "rpc"),
    ("rest", sei_config::PORT_REST, "rest"),
    ("grpc", sei_config::PORT_GRPC, "grpc"),
];

/// The hostnames of the route of `protocol`: the gateway's domain, and the public domain
/// (with the namespace) when one is set.
pub fn hostnames(d: &SeiNodeDeployment, protocol: &str, platform: &Platform) -> Vec<String> {
    let (name, ns) = (d.name_any(), d.namespace().unwrap_or_default());
    let mut out = vec![format!("{name}-{protocol}.{}", platform.gateway_domain)];
    if let Some(public) = &platform.gateway_public_domain {
        out.push(format!("{name}-{protocol}.{ns}.{public}"));
    }
    out
}

/// One `HTTPRoute` per protocol the fleet serves (none for validators, none without
/// `spec.networking`), each to the external Service through the platform's gateway.
pub fn http_routes(d: &SeiNodeDeployment, platform: &Platform) -> Vec<DynamicObject> {
    if d.spec.networking.is_none() {
        return Vec::new();
    }
    let ports = group_mode(d).ports();
    let serves = |port: &str| ports.iter().any(|(n, _)| *n == port);
    let backend = external_service_name(&d.name_any());
    let resource = http_route_resource();
    PROTOCOLS
        .iter()
        .filter(|(_, _, port)| serves(port))
        .map(|(protocol, port, _)| {
            let mut rules = vec![json!({"backendRefs": [{"name": backend, "port": port}]})];
            if *protocol == "evm" && serves("evm-ws") {
                rules.push(json!({
                    "matches": [{"headers": [{"type": "Exact", "name": "Upgrade", "value": "websocket"}]}],
                    "backendRefs": [{"name": backend, "port": sei_config::PORT_EVM_WS}]
                }));
            }
            let mut route = DynamicObject::new(&format!("{}-{protocol}", d.name_any()), &resource);
            route.metadata.namespace = d.namespace();
            route.metadata.labels = Some(membership(d));
            route.metadata.annotations =
                Some(BTreeMap::from([(ANNOTATION_MANAGED_BY.into(), "seinodedeployment".into())]));
            route.metadata.owner_references = d.controller_owner_ref(&()).map(|o| vec![o]);
            route.data = json!({"spec": {
                "parentRefs": [{"name": platform.gateway_name, "namespace": platform.gateway_namespace}],
                "hostnames": hostnames(d, protocol, platform),
                "rules": rules
            }});
            route
        })
        .collect()
}

/// `status.networkingStatus.routes`: one entry per hostname of each route.
pub fn route_statuses(d: &SeiNodeDeployment, routes: &[DynamicObject], platform: &Platform) -> Vec<RouteStatus> {
    let prefix = format!("{}-", d.name_any());
    routes
        .iter()
        .filter_map(|r| r.name_any().strip_prefix(&prefix).map(str::to_string))
        .flat_map(|protocol| {
            hostnames(d, &protocol, platform)
                .into_iter()
                .map(move |hostname| RouteStatus { hostname, protocol: Some(protocol.clone()) })
        })
        .collect()
}

/// The hostname the DNS gate resolves: the first of the first route (the `evm` route's
/// gateway-domain name for full and archive fleets). `None`: nothing to wait for.
pub fn gate_hostname(routes: &[DynamicObject]) -> Option<String> {
    routes.first()?.data["spec"]["hostnames"][0].as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(public: Option<&str>) -> Platform {
        let mut p = crate::platform::tests::platform();
        p.gateway_public_domain = public.map(String::from);
        p
    }

    fn deployment(mode: &str, networking: bool) -> SeiNodeDeployment {
        let mut spec = json!({"replicas": 1, "updateStrategy": {"type": "InPlace"},
            "template": {"spec": {"chainId": "c", "image": "i", mode: {}}}});
        if networking {
            spec["networking"] = json!({});
        }
        serde_json::from_value(json!({"apiVersion": "sei.io/v1alpha1", "kind": "SeiNodeDeployment",
            "metadata": {"name": "rpc", "namespace": "ns", "uid": "u"}, "spec": spec}))
        .unwrap()
    }

    #[test]
    fn a_full_fleet_gets_four_routes_through_the_gateway_and_an_external_service_without_metrics() {
        let d = deployment("fullNode", true);
        let svc = external_service(&d, "3").unwrap();
        let spec = svc.spec.unwrap();
        let ports: Vec<_> = spec.ports.unwrap().into_iter().map(|p| p.name.unwrap()).collect();
        assert_eq!(ports, ["evm-rpc", "evm-ws", "grpc", "rest", "p2p", "rpc"]);
        assert_eq!(spec.selector.unwrap()["sei.io/revision"], "3");
        let p = platform(Some("sei.example"));
        let routes = http_routes(&d, &p);
        let names: Vec<_> = routes.iter().map(|r| r.name_any()).collect();
        assert_eq!(names, ["rpc-evm", "rpc-rpc", "rpc-rest", "rpc-grpc"]);
        let evm = &routes[0].data["spec"];
        assert_eq!(evm["parentRefs"], json!([{"name": "public", "namespace": "gateway"}]));
        assert_eq!(evm["hostnames"], json!(["rpc-evm.sei.example.com", "rpc-evm.ns.sei.example"]));
        assert_eq!(evm["rules"][1]["backendRefs"][0]["port"], 8546, "websocket upgrades go to evm-ws");
        assert_eq!(route_statuses(&d, &routes, &p).len(), 8);
        assert_eq!(gate_hostname(&routes).as_deref(), Some("rpc-evm.sei.example.com"));
        assert_eq!(route_statuses(&d, &http_routes(&d, &platform(None)), &platform(None)).len(), 4);
    }

    #[test]
    fn validators_get_no_route_and_no_fleet_without_networking_gets_anything() {
        let v = deployment("validator", true);
        assert!(http_routes(&v, &platform(None)).is_empty());
        let ports: Vec<_> = external_service(&v, "1")
            .unwrap()
            .spec
            .unwrap()
            .ports
            .unwrap()
            .into_iter()
            .map(|p| p.name.unwrap())
            .collect();
        assert_eq!(ports, ["p2p"]);
        let private = deployment("fullNode", false);
        assert!(external_service(&private, "1").is_none() && http_routes(&private, &platform(None)).is_empty());
    }
}
