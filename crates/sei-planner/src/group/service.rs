//! The deployment's internal Service (§7.6): one ClusterIP address for every child's
//! RPC, EVM and REST ports.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};
use sei_api::SeiNodeDeployment;
use sei_api::deployment::{InternalServicePorts, InternalServiceStatus};

use super::status::{EVM_HTTP_PORT, REST_PORT, RPC_PORT};
use crate::names::{ANNOTATION_MANAGED_BY, LABEL_DEPLOYMENT, LABEL_REVISION};

pub fn internal_service_name(deployment: &str) -> String {
    format!("{deployment}-internal")
}

/// The internal Service; it selects the children of the deployment that carry `revision`
/// (the serving one). A blue-green or hard-fork roll-out moves traffic to its entrants
/// by changing it (the reference selected every revision, so entrants took traffic as
/// soon as they started, before they had caught up).
pub fn internal_service(d: &SeiNodeDeployment, revision: &str) -> Service {
    let name = d.name_any();
    let membership = BTreeMap::from([(LABEL_DEPLOYMENT.to_string(), name.clone())]);
    let mut selector = membership.clone();
    selector.insert(LABEL_REVISION.into(), revision.into());
    let port = |port_name: &str, port: i32| ServicePort {
        name: Some(port_name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    Service {
        metadata: ObjectMeta {
            name: Some(internal_service_name(&name)),
            namespace: d.namespace(),
            labels: Some(membership.clone()),
            annotations: Some(BTreeMap::from([(ANNOTATION_MANAGED_BY.into(), "seinodedeployment".into())])),
            owner_references: d.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            publish_not_ready_addresses: Some(false),
            ports: Some(vec![port("rpc", RPC_PORT), port("evm-http", EVM_HTTP_PORT), port("rest", REST_PORT)]),
            ..Default::default()
        }),
        status: None,
    }
}

/// `status.internalService`.
pub fn internal_service_status(d: &SeiNodeDeployment) -> InternalServiceStatus {
    InternalServiceStatus {
        name: internal_service_name(&d.name_any()),
        namespace: d.namespace().unwrap_or_default(),
        ports: InternalServicePorts { rpc: RPC_PORT, evm_http: EVM_HTTP_PORT, rest: REST_PORT },
    }
}
