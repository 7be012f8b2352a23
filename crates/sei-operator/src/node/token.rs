//! The per-node bearer token of the sidecar API, kept in a Secret the node owns.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::{Resource, ResourceExt};
use sei_api::SeiNode;
use sei_planner::{names, resources};

use crate::context::Context;
use crate::error::Error;

/// The node's sidecar token, creating its Secret on first use.
pub async fn sidecar_token(ctx: &Context, node: &SeiNode) -> Result<String, Error> {
    let uid = node.uid().unwrap_or_default();
    if let Some(token) = ctx.tokens.get(&uid) {
        return Ok(token);
    }
    let token = read_or_create(ctx, node).await?;
    ctx.tokens.put(&uid, &token);
    Ok(token)
}

async fn read_or_create(ctx: &Context, node: &SeiNode) -> Result<String, Error> {
    let ns = node.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let name = names::token_secret(&node.name_any());
    if let Some(s) = secrets.get_opt(&name).await? {
        let ours = s.owner_references().iter().any(|r| Some(&r.uid) == node.uid().as_ref());
        if !ours && owned_by_a_gone_namesake(&s, node) {
            // Left by an earlier node of the same name and about to be collected: a pod
            // started now would mount a token that is replaced moments later. Remove it
            // (only that exact Secret) and make this node's own.
            let dp = DeleteParams {
                preconditions: Some(Preconditions { uid: s.uid(), resource_version: None }),
                ..Default::default()
            };
            ctx.check_writing()?;
            match secrets.delete(&name, &dp).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
            return Err(Error::Transient(format!(
                "Secret {ns}/{name} belonged to an earlier SeiNode of this name; removed it, a new one follows"
            )));
        }
        return match s.data.as_ref().and_then(|d| d.get(names::TOKEN_KEY)) {
            Some(t) => Ok(String::from_utf8_lossy(&t.0).into_owned()),
            None => Err(Error::Misconfigured(format!(
                "Secret {ns}/{name} has no \"{}\" key; delete it and the operator makes a new one",
                names::TOKEN_KEY
            ))),
        };
    }
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| Error::Transient(format!("no randomness for the sidecar token: {e}")))?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns),
            labels: Some(names::selector(&node.name_any())),
            owner_references: Some(vec![resources::owner(node)]),
            ..Default::default()
        },
        data: Some([(names::TOKEN_KEY.to_string(), ByteString(token.clone().into_bytes()))].into()),
        ..Default::default()
    };
    ctx.check_writing()?;
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(token),
        // Created meanwhile by someone else: the next reconcile reads it.
        Err(kube::Error::Api(s)) if s.code == 409 => Err(Error::Transient(format!(
            "Secret {}/{name} was created concurrently",
            node.namespace().unwrap_or_default()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Whether `secret` is controlled by a SeiNode of `node`'s name that is not `node`.
fn owned_by_a_gone_namesake(secret: &Secret, node: &SeiNode) -> bool {
    secret.owner_references().iter().any(|r| {
        r.controller == Some(true)
            && r.kind == SeiNode::kind(&())
            && r.name == node.name_any()
            && Some(&r.uid) != node.uid().as_ref()
    })
}
