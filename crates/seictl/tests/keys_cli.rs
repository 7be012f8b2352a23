//! `seictl keys generate`: key files seid and the operator accept, private, never overwritten.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use sei_sidecar::keys;

#[test]
fn generated_keys_parse_are_private_and_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_seictl"))
            .args(["keys", "generate", "--out-dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();

    let node_key = std::fs::read_to_string(dir.path().join("node_key.json")).unwrap();
    let node = keys::parse_key_file(&node_key).unwrap();
    assert!(stdout.contains(&keys::node_id(&node)), "{stdout}");
    let signing_text = std::fs::read_to_string(dir.path().join("priv_validator_key.json")).unwrap();
    let signing = keys::parse_key_file(&signing_text).unwrap();
    let json: serde_json::Value = serde_json::from_str(&signing_text).unwrap();
    assert_eq!(json, keys::priv_validator_key_json(&signing), "seid's priv_validator_key.json layout");
    assert_ne!(keys::node_id(&node), keys::node_id(&signing), "two distinct keys");
    for file in ["node_key.json", "priv_validator_key.json"] {
        let mode = std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }

    let again = run();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    assert_eq!(std::fs::read_to_string(dir.path().join("node_key.json")).unwrap(), node_key, "untouched");
}
