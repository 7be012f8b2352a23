//! Stage 2, dereference: what the node's spec points at, as the world shows it now — its
//! label peers (from the watch cache, no API request) and, for a running node, its
//! sidecar's health.

use kube::ResourceExt;
use sei_api::SeiNode;
use sei_api::common::NodePhase;
use sei_planner::names;
use sei_planner::status::{Candidate, resolve_label_peers};

use crate::context::Context;
use crate::metrics::Probe;
use crate::reach::Cause;
use crate::sidecar::{SidecarClient, SidecarError};

pub struct Seen {
    /// Pod DNS names of the SeiNodes the label peer sources select.
    pub peers: Vec<String>,
    /// The sidecar's base URL.
    pub sidecar_url: String,
    /// The health probe of a running node's sidecar.
    pub health: Option<Result<bool, SidecarError>>,
    /// Whether seid still catches up, when a ready sidecar could say.
    pub catching_up: Option<bool>,
}

pub async fn dereference(ctx: &Context, node: &SeiNode) -> Seen {
    let ns = node.namespace().unwrap_or_default();
    let sidecar_url = ctx.sidecar_url(&ns, &node.name_any(), names::sidecar_url(node));
    let running = node.status.as_ref().and_then(|s| s.phase) == Some(NodePhase::Running);
    let health = if running {
        // Health is unauthenticated: no token needed.
        let probe = SidecarClient::new(ctx.sidecar.clone(), sidecar_url.clone(), None).healthz().await;
        let outcome = match &probe {
            Ok(true) => Probe::Ready,
            Ok(false) => Probe::NotReady,
            // Not probed (too many calls in flight): the last answer stands.
            Err(e) if e.cause == Cause::Throttled => {
                ctx.metrics.sidecar_unreachable("healthz", Cause::Throttled);
                return Seen { peers: label_peers(ctx, node), sidecar_url, health: None, catching_up: None };
            }
            Err(_) => Probe::Unreachable,
        };
        ctx.metrics.probe(&ns, &node.name_any(), outcome);
        Some(probe)
    } else {
        None
    };
    // A ready sidecar also says whether seid has caught up (unauthenticated, like health).
    let catching_up = match &health {
        Some(Ok(true)) => SidecarClient::new(ctx.sidecar.clone(), sidecar_url.clone(), None)
            .status()
            .await
            .ok()
            .and_then(|s| s.catching_up),
        _ => None,
    };
    Seen { peers: label_peers(ctx, node), sidecar_url, health, catching_up }
}

fn label_peers(ctx: &Context, node: &SeiNode) -> Vec<String> {
    let sources: Vec<_> = node.spec.peers.iter().flatten().filter_map(|p| p.label.as_ref()).collect();
    if sources.is_empty() {
        return Vec::new();
    }
    let all = ctx.nodes.state();
    let empty = Default::default();
    let own_ns = node.namespace().unwrap_or_default();
    resolve_label_peers((&node.name_any(), &own_ns), &sources, |ns| {
        all.iter()
            .filter(|n| n.metadata.namespace.as_deref() == Some(ns))
            .map(|n| Candidate {
                name: n.metadata.name.as_deref().unwrap_or_default(),
                namespace: n.metadata.namespace.as_deref().unwrap_or_default(),
                labels: n.metadata.labels.as_ref().unwrap_or(&empty),
            })
            .collect()
    })
}
