//! CometBFT key files: `node_key.json`, `priv_validator_key.json` and
//! `priv_validator_state.json`, byte-compatible with what `seid init` writes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A fresh Ed25519 key from the operating system's randomness.
pub fn generate() -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// First 20 bytes of SHA-256 of the public key: the node ID (lowercase hex) and the
/// validator address (uppercase hex).
pub fn address(key: &SigningKey) -> [u8; 20] {
    let digest = Sha256::digest(key.verifying_key().as_bytes());
    digest[..20].try_into().expect("20 of 32 bytes")
}

pub fn node_id(key: &SigningKey) -> String {
    hex(&address(key))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// seed ‖ public key, as CometBFT stores Ed25519 private keys.
fn private_bytes(key: &SigningKey) -> Vec<u8> {
    let mut out = key.to_bytes().to_vec();
    out.extend_from_slice(key.verifying_key().as_bytes());
    out
}

pub fn node_key_json(key: &SigningKey) -> Value {
    json!({
        "id": node_id(key),
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": B64.encode(private_bytes(key))}
    })
}

pub fn priv_validator_key_json(key: &SigningKey) -> Value {
    json!({
        "address": hex(&address(key)).to_uppercase(),
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": B64.encode(key.verifying_key().as_bytes())},
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": B64.encode(private_bytes(key))}
    })
}

pub fn priv_validator_state_json() -> Value {
    json!({"height": "0", "round": 0, "step": 0})
}

/// Reads the private key of a key file (`priv_key.value`: 64 bytes, seed then public key),
/// checking that the two halves belong together.
pub fn parse_key_file(text: &str) -> Result<SigningKey, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("failed to parse: {e}"))?;
    let value = doc["priv_key"]["value"].as_str().ok_or("failed to parse: no priv_key.value")?;
    let bytes = B64.decode(value).map_err(|e| format!("invalid Ed25519 key: {e}"))?;
    let bytes: [u8; 64] =
        bytes.try_into().map_err(|b: Vec<u8>| format!("invalid Ed25519 key: {} bytes, expected 64", b.len()))?;
    let key = SigningKey::from_bytes(bytes[..32].try_into().expect("32 bytes"));
    if key.verifying_key().as_bytes() != &bytes[32..] {
        return Err("invalid Ed25519 key: the public half does not match the private half".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, Verifier};

    #[test]
    fn key_files_round_trip_and_sign() {
        let key = generate().unwrap();
        let text = node_key_json(&key).to_string();
        let back = parse_key_file(&text).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
        let sig = back.sign(b"block");
        assert!(key.verifying_key().verify(b"block", &sig).is_ok());
        let id = node_id(&key);
        assert_eq!(id.len(), 40);
        assert_eq!(priv_validator_key_json(&key)["address"].as_str().unwrap(), id.to_uppercase());
    }

    #[test]
    fn a_known_cometbft_key_gives_its_known_id() {
        // Seed 0x01..0x20: the ID is SHA-256 of the public key, truncated to 20 bytes.
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8 + 1);
        let key = SigningKey::from_bytes(&seed);
        let expected = &Sha256::digest(key.verifying_key().as_bytes())[..20];
        assert_eq!(node_id(&key), hex(expected));
        assert!(parse_key_file(r#"{"priv_key":{"value":"AAAA"}}"#).unwrap_err().contains("64"));
    }
}
