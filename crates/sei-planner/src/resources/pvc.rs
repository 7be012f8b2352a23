//! The node's data volume (create path; an imported PVC is never built or changed).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sei_api::SeiNode;

use super::{BuildError, is_archive, namespace, owner, quantity};
use crate::names;
use crate::platform::Platform;

pub fn data_pvc(node: &SeiNode, platform: &Platform) -> Result<PersistentVolumeClaim, BuildError> {
    let (class, size) = if is_archive(node) {
        (&platform.storage_class_archive, &platform.storage_size_archive)
    } else {
        (&platform.storage_class_perf, &platform.storage_size_default)
    };
    Ok(PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(names::data_pvc(node)),
            namespace: Some(namespace(node)?),
            labels: Some(names::resource_labels(node)),
            owner_references: Some(vec![owner(node)]),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: Some(class.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_string(), quantity(size))])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    })
}
