//! `nd apply`'s rendering: a preset, then the flags, then `--set`, into one
//! SeiNodeDeployment object. Pure: no cluster.

use serde_json::{Map, Value, json};

/// The embedded presets, versioned with the binary.
pub const PRESETS: &[(&str, &str)] =
    &[("genesis-chain", include_str!("presets/genesis-chain.yaml")), ("rpc", include_str!("presets/rpc.yaml"))];

/// Provenance annotations (not a trust boundary).
pub const PRESET_ANNOTATION: &str = "seictl.sei.io/preset";
pub const VERSION_ANNOTATION: &str = "seictl.sei.io/version";
/// The label every preset puts on its nodes, and the RPC preset's peers select.
pub const CHAIN_LABEL: &str = "sei.io/chain-id";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("--preset {0:?} is not a preset; known: {known}", known = names().join(", "))]
    UnknownPreset(String),
    #[error("--set {0:?}: {1}")]
    BadSet(String, &'static str),
    #[error("--set {arg:?}: {path} is not an object, so {rest} cannot be set under it")]
    NotAnObject { arg: String, path: String, rest: String },
    #[error("{path} is required: pass {fix}")]
    Missing { path: &'static str, fix: &'static str },
}

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// What `nd apply` was asked for.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub name: String,
    pub namespace: String,
    pub preset: String,
    pub chain_id: Option<String>,
    pub image: Option<String>,
    pub replicas: Option<i32>,
    /// `path=value`, in order.
    pub sets: Vec<String>,
}

/// A `--set` value: empty is "", true/false are booleans, base-10 integers are
/// integers, anything else a string (so `1.5` stays a string).
fn typed(value: &str) -> Value {
    match value {
        "true" => json!(true),
        "false" => json!(false),
        v => v.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(v)),
    }
}

fn set_path(root: &mut Value, arg: &str) -> Result<(), RenderError> {
    let (path, value) = arg.split_once('=').ok_or(RenderError::BadSet(arg.into(), "expected path=value"))?;
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(RenderError::BadSet(arg.into(), "the path has an empty segment"));
    }
    if path.contains(['[', ']']) {
        return Err(RenderError::BadSet(
            arg.into(),
            "list indexing is not supported; set the whole list in the preset",
        ));
    }
    let segments: Vec<&str> = path.split('.').collect();
    let mut node = root;
    for (i, key) in segments.iter().enumerate() {
        let map = node.as_object_mut().ok_or_else(|| RenderError::NotAnObject {
            arg: arg.into(),
            path: segments[..i].join("."),
            rest: segments[i..].join("."),
        })?;
        if i + 1 == segments.len() {
            map.insert(key.to_string(), typed(value));
            return Ok(());
        }
        node = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

fn pointer_str<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The object to apply, or the first thing wrong with the request.
pub fn render(req: &Request, version: &str) -> Result<Value, RenderError> {
    let text = PRESETS
        .iter()
        .find(|(n, _)| *n == req.preset)
        .map(|(_, t)| *t)
        .ok_or_else(|| RenderError::UnknownPreset(req.preset.clone()))?;
    let mut obj: Value = serde_norway::from_str(text).expect("embedded presets parse");
    obj["apiVersion"] = json!("sei.io/v1alpha1");
    obj["kind"] = json!("SeiNodeDeployment");
    if let Some(image) = &req.image {
        obj["spec"]["template"]["spec"]["image"] = json!(image);
    }
    if let Some(n) = req.replicas {
        obj["spec"]["replicas"] = json!(n);
    }
    if let Some(chain) = &req.chain_id {
        obj["spec"]["template"]["spec"]["chainId"] = json!(chain);
        obj["spec"]["template"]["metadata"]["labels"][CHAIN_LABEL] = json!(chain);
        obj["metadata"]["labels"][CHAIN_LABEL] = json!(chain);
        if obj["spec"].get("genesis").is_some() {
            obj["spec"]["genesis"]["chainId"] = json!(chain);
        } else {
            // A fleet of an existing chain peers with the chain's validators.
            obj["spec"]["template"]["spec"]["peers"] =
                json!([{"label": {"selector": {CHAIN_LABEL: chain, "sei.io/role": "validator"}}}]);
        }
    }
    for arg in &req.sets {
        set_path(&mut obj, arg)?;
    }
    // The name and namespace are the command's, whatever --set said.
    obj["metadata"]["name"] = json!(req.name);
    obj["metadata"]["namespace"] = json!(req.namespace);
    obj["metadata"]["annotations"][PRESET_ANNOTATION] = json!(req.preset);
    obj["metadata"]["annotations"][VERSION_ANNOTATION] = json!(version);
    let mut required = vec![
        ("/spec/template/spec/chainId", "spec.template.spec.chainId", "--chain-id"),
        ("/spec/template/spec/image", "spec.template.spec.image", "--image"),
    ];
    if obj["spec"].get("genesis").is_some() {
        required.push(("/spec/genesis/chainId", "spec.genesis.chainId", "--chain-id"));
    }
    for (pointer, path, fix) in required {
        if pointer_str(&obj, pointer).is_none() {
            return Err(RenderError::Missing { path, fix });
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(preset: &str) -> Request {
        Request {
            name: "chain".into(),
            namespace: "ns".into(),
            preset: preset.into(),
            chain_id: Some("bench-1".into()),
            image: Some("sei:v1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_genesis_chain_names_its_chain_everywhere() {
        let o = render(&req("genesis-chain"), "0.1.0").unwrap();
        assert_eq!(o["spec"]["genesis"]["chainId"], "bench-1");
        assert_eq!(o["spec"]["template"]["spec"]["chainId"], "bench-1");
        assert_eq!(o["spec"]["template"]["metadata"]["labels"]["sei.io/chain-id"], "bench-1");
        assert_eq!(o["metadata"]["labels"]["sei.io/chain-id"], "bench-1");
        assert_eq!(o["metadata"]["labels"]["sei.io/role"], "validator");
        assert_eq!(o["spec"]["replicas"], 4);
        assert_eq!(o["metadata"]["annotations"]["seictl.sei.io/preset"], "genesis-chain");
        assert_eq!(o["metadata"]["annotations"]["seictl.sei.io/version"], "0.1.0");
        let _: sei_api::SeiNodeDeployment = serde_json::from_value(o).unwrap();
    }

    #[test]
    fn an_rpc_fleet_peers_with_its_chains_validators() {
        let o = render(&req("rpc"), "dev").unwrap();
        assert_eq!(o["spec"]["template"]["spec"]["peers"][0]["label"]["selector"]["sei.io/chain-id"], "bench-1");
        assert_eq!(o["spec"]["template"]["spec"]["peers"][0]["label"]["selector"]["sei.io/role"], "validator");
        assert!(o["spec"].get("genesis").is_none());
        let _: sei_api::SeiNodeDeployment = serde_json::from_value(o).unwrap();
    }

    #[test]
    fn flags_then_sets_apply_in_order_with_typed_values() {
        let mut r = req("rpc");
        r.replicas = Some(3);
        r.sets = vec![
            "spec.replicas=5".into(),
            "spec.template.spec.overrides.evm.http_port=8545".into(),
            "spec.template.spec.entrypoint.flag=true".into(),
            "spec.template.spec.note=1.5".into(),
            "spec.template.spec.empty=".into(),
            "metadata.namespace=elsewhere".into(),
            "metadata.name=other".into(),
        ];
        let o = render(&r, "dev").unwrap();
        assert_eq!(o["spec"]["replicas"], 5);
        assert_eq!(o["spec"]["template"]["spec"]["overrides"]["evm"]["http_port"], 8545);
        assert_eq!(o["spec"]["template"]["spec"]["entrypoint"]["flag"], true);
        assert_eq!(o["spec"]["template"]["spec"]["note"], "1.5");
        assert_eq!(o["spec"]["template"]["spec"]["empty"], "");
        assert_eq!((o["metadata"]["namespace"].as_str(), o["metadata"]["name"].as_str()), (Some("ns"), Some("chain")));
    }

    #[test]
    fn bad_requests_name_the_flag_or_field_to_fix() {
        let mut r = req("archive");
        assert_eq!(
            render(&r, "dev").unwrap_err().to_string(),
            "--preset \"archive\" is not a preset; known: genesis-chain, rpc"
        );
        r.preset = "rpc".into();
        r.image = None;
        assert_eq!(render(&r, "dev").unwrap_err().to_string(), "spec.template.spec.image is required: pass --image");
        r.image = Some("sei:v1".into());
        for (set, says) in [
            ("spec.replicas", "expected path=value"),
            ("spec..x=1", "empty segment"),
            ("spec.peers[0].x=1", "list indexing"),
            ("spec.replicas.x=1", "spec.replicas is not an object"),
        ] {
            r.sets = vec![set.into()];
            let e = render(&r, "dev").unwrap_err().to_string();
            assert!(e.contains(says) && e.starts_with("--set"), "{set}: {e}");
        }
        let mut g = req("genesis-chain");
        g.chain_id = None;
        assert!(render(&g, "dev").unwrap_err().to_string().contains("pass --chain-id"));
    }
}
