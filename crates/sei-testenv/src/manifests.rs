//! Applying manifests the way `kubectl apply --server-side` does.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::{Client, ResourceExt};

use crate::Error;

/// Applies every document of a multi-document YAML text with server-side apply (field
/// manager `sei-testenv`), then waits until any CRDs among them are established.
pub async fn apply_manifests(client: &Client, yaml: &str) -> Result<Vec<DynamicObject>, Error> {
    let mut applied = Vec::new();
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let value: serde_json::Value =
            serde::Deserialize::deserialize(doc).map_err(|e| Error::Setup(format!("invalid manifest YAML: {e}")))?;
        if value.is_null() {
            continue;
        }
        let obj: DynamicObject =
            serde_json::from_value(value).map_err(|e| Error::Setup(format!("invalid manifest: {e}")))?;
        let types = obj.types.clone().ok_or_else(|| Error::Setup("manifest without apiVersion/kind".into()))?;
        let gvk = GroupVersionKind::try_from(&types).map_err(|e| Error::Setup(e.to_string()))?;
        let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await?;
        let api: Api<DynamicObject> = match (caps.scope, obj.namespace()) {
            (kube::discovery::Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), &ns, &resource),
            (kube::discovery::Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), &resource),
            (kube::discovery::Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
        };
        let name = obj.name_any();
        let params = PatchParams::apply("sei-testenv").force();
        applied.push(api.patch(&name, &params, &Patch::Apply(&obj)).await?);
        if gvk.kind == "CustomResourceDefinition" {
            wait_established(client, &name).await?;
        }
    }
    Ok(applied)
}

async fn wait_established(client: &Client, name: &str) -> Result<(), Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let crd = crds.get(name).await?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"));
        if established {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Setup(format!("CRD {name} not established after 30s")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
