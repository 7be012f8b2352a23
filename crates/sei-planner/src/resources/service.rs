//! The node's headless Service, which gives its pod a stable DNS name.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use sei_api::SeiNode;

use super::{BuildError, namespace, owner};
use crate::names;

pub fn headless_service(node: &SeiNode) -> Result<Service, BuildError> {
    let name = node.name_any();
    let ports = sei_config::NODE_PORTS
        .iter()
        .map(|(port_name, port)| ServicePort {
            name: Some((*port_name).into()),
            port: (*port).into(),
            target_port: Some(IntOrString::Int((*port).into())),
            protocol: Some("TCP".into()),
            app_protocol: (*port_name == "grpc").then(|| "kubernetes.io/h2c".into()),
            ..Default::default()
        })
        .collect();
    Ok(Service {
        metadata: ObjectMeta {
            name: Some(names::service(&name)),
            namespace: Some(namespace(node)?),
            labels: Some(names::resource_labels(node)),
            owner_references: Some(vec![owner(node)]),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(names::selector(&name)),
            ports: Some(ports),
            ..Default::default()
        }),
        status: None,
    })
}
