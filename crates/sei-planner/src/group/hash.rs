//! The template hash that detects a roll-out (§8.4).

use sei_api::SeiNodeDeploymentSpec;
use sha2::{Digest, Sha256};

/// The first 16 hex digits of SHA-256 over the fields whose change rolls out: chain ID,
/// image, entrypoint command and args, and the sidecar image when a sidecar block exists.
/// Byte-compatible with the reference (no separators), so a deployment taken over from it
/// does not roll out on the first reconcile.
pub fn template_hash(spec: &SeiNodeDeploymentSpec) -> String {
    let t = &spec.template.spec;
    let mut h = Sha256::new();
    h.update(t.chain_id.as_bytes());
    h.update(t.image.as_bytes());
    if let Some(e) = &t.entrypoint {
        for part in e.command.iter().chain(e.args.iter().flatten()) {
            h.update(part.as_bytes());
        }
    }
    if let Some(s) = &t.sidecar {
        h.update(s.image.as_deref().unwrap_or_default().as_bytes());
    }
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> SeiNodeDeploymentSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_hash_covers_what_rolls_out_and_nothing_else() {
        let base = serde_json::json!({"replicas": 2, "updateStrategy": {"type": "InPlace"}, "template": {"spec": {"chainId": "c", "image": "sei:1", "fullNode": {}}}});
        let h = template_hash(&spec(base.clone()));
        assert_eq!(h.len(), 16);
        // SHA-256("c" + "sei:1"), first 8 bytes: computed independently with sha256sum.
        assert_eq!(h, "bc0312daf6c62148");
        let mut more = base.clone();
        more["replicas"] = 5.into();
        more["template"]["spec"]["podLabels"] = serde_json::json!({"a": "b"});
        assert_eq!(template_hash(&spec(more)), h, "replicas and pod labels do not roll out");
        let mut image = base.clone();
        image["template"]["spec"]["image"] = "sei:2".into();
        assert_ne!(template_hash(&spec(image)), h);
        let mut sidecar = base.clone();
        sidecar["template"]["spec"]["sidecar"] = serde_json::json!({"port": 7777});
        assert_eq!(template_hash(&spec(sidecar.clone())), h, "an empty sidecar image adds no bytes");
        sidecar["template"]["spec"]["sidecar"]["image"] = "seictl:2".into();
        assert_ne!(template_hash(&spec(sidecar)), h);
        let mut entry = base;
        entry["template"]["spec"]["entrypoint"] = serde_json::json!({"command": ["seid"], "args": ["start"]});
        assert_ne!(template_hash(&spec(entry)), h);
    }
}
