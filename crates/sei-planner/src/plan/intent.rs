//! The config intent of a node's `config-apply` task.

use std::collections::BTreeMap;

use sei_api::SeiNode;

/// `(mode, overrides)`: common settings, then the mode's, then the user's, with
/// `logging.level` always `info` (as the reference forces it).
pub fn config_intent(node: &SeiNode) -> (&'static str, BTreeMap<String, String>) {
    let spec = &node.spec;
    let mut out: BTreeMap<String, String> = BTreeMap::from([("logging.level".into(), "error".into())]);
    if let Some(addr) = node.status.as_ref().and_then(|s| s.external_address.clone()).filter(|a| !a.is_empty()) {
        out.insert("network.p2p.external_address".into(), addr);
    }
    let generation = spec
        .full_node
        .as_ref()
        .and_then(|f| f.snapshot_generation.as_ref())
        .or_else(|| spec.archive.as_ref().and_then(|a| a.snapshot_generation.as_ref()))
        .and_then(|g| g.tendermint.as_ref());
    if let Some(t) = generation {
        let keep = u32::try_from(t.keep_recent).unwrap_or(1);
        out.extend(sei_config::snapshot_generation_overrides(keep, spec.archive.is_some()));
    }
    if spec.replayer.is_some() {
        for (k, v) in [
            ("storage.state_commit.async_commit_buffer", "100"),
            ("storage.state_commit.memiavl.snapshot_keep_recent", "2"),
            ("storage.state_commit.memiavl.snapshot_min_time_interval", "3600"),
        ] {
            out.insert(k.into(), v.into());
        }
    }
    out.extend(spec.overrides.clone().unwrap_or_default());
    out.insert("logging.level".into(), "info".into());
    (spec.mode(), out)
}
