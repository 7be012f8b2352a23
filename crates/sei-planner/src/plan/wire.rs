//! Stored plan parameters of sidecar tasks → the request the sidecar receives (§9.2).
//! Stored keys are the reference's Go field names (PascalCase) and are read in any case;
//! the wire uses camelCase. Invalid parameters are reported, never retried forever.

use serde_json::{Map, Value, json};

use super::task::*;

/// Case-insensitive lookup of a stored key.
fn get<'a>(params: &'a Value, key: &str) -> Option<&'a Value> {
    params.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn text(params: &Value, key: &str) -> String {
    get(params, key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn require(params: &Value, keys: &[&str]) -> Result<Vec<String>, String> {
    keys.iter()
        .map(|k| {
            let v = text(params, k);
            if v.is_empty() { Err(format!("{k} is required")) } else { Ok(v) }
        })
        .collect()
}

/// Whether `task_type` is submitted to the sidecar (rather than done by the controller).
pub fn is_sidecar_task(task_type: &str) -> bool {
    matches!(
        task_type,
        SNAPSHOT_RESTORE
            | CONFIGURE_GENESIS
            | CONFIG_APPLY
            | DISCOVER_PEERS
            | CONFIGURE_STATE_SYNC
            | CONFIG_VALIDATE
            | MARK_READY
            | SNAPSHOT_UPLOAD
            | GENERATE_IDENTITY
            | GENERATE_GENTX
            | UPLOAD_GENESIS_ARTIFACTS
            | SET_GENESIS_PEERS
            | "assemble-and-upload-genesis"
    )
}

/// The `params` to send for a stored sidecar task (`None`: send no params).
pub fn sidecar_params(task_type: &str, stored: &Value) -> Result<Option<Value>, String> {
    Ok(match task_type {
        SNAPSHOT_RESTORE => {
            let h = get(stored, "TargetHeight").and_then(Value::as_i64).unwrap_or(0);
            (h > 0).then(|| json!({"targetHeight": h}))
        }
        CONFIGURE_GENESIS | CONFIG_VALIDATE | MARK_READY | SNAPSHOT_UPLOAD | SET_GENESIS_PEERS => None,
        CONFIG_APPLY => {
            let intent = sei_config::ConfigIntent {
                mode: text(stored, "mode"),
                overrides: get(stored, "overrides")
                    .and_then(Value::as_object)
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                    .unwrap_or_default(),
                target_version: get(stored, "targetVersion").and_then(Value::as_i64).unwrap_or(0),
                incremental: get(stored, "incremental").and_then(Value::as_bool).unwrap_or(false),
            };
            let problems: Vec<String> =
                intent.validate().into_iter().map(|d| format!("{}: {}", d.field, d.message)).collect();
            if !problems.is_empty() {
                return Err(format!("invalid config intent: {}", problems.join("; ")));
            }
            let mut p =
                json!({"mode": intent.mode, "incremental": intent.incremental, "targetVersion": intent.target_version});
            if !intent.overrides.is_empty() {
                p["overrides"] = serde_json::to_value(&intent.overrides).expect("a map");
            }
            Some(p)
        }
        DISCOVER_PEERS => {
            let sources = get(stored, "Sources").and_then(Value::as_array).cloned().unwrap_or_default();
            if sources.is_empty() {
                return Err("at least one peer source is required".into());
            }
            for (i, s) in sources.iter().enumerate() {
                let ok = match s["type"].as_str() {
                    Some("ec2Tags") => {
                        !text(s, "region").is_empty() && s["tags"].as_object().is_some_and(|t| !t.is_empty())
                    }
                    Some("static") => s["addresses"].as_array().is_some_and(|a| !a.is_empty()),
                    Some("dnsEndpoints") => s["endpoints"].as_array().is_some_and(|a| !a.is_empty()),
                    _ => false,
                };
                if !ok {
                    return Err(format!("peer source {i} is incomplete: {s}"));
                }
            }
            Some(json!({"sources": sources}))
        }
        CONFIGURE_STATE_SYNC => {
            let mut p = Map::new();
            if get(stored, "UseLocalSnapshot").and_then(Value::as_bool) == Some(true) {
                p.insert("useLocalSnapshot".into(), json!(true));
            }
            let period = text(stored, "TrustPeriod");
            if !period.is_empty() {
                p.insert("trustPeriod".into(), json!(period));
            }
            let backfill = get(stored, "BackfillBlocks").and_then(Value::as_i64).unwrap_or(0);
            if backfill > 0 {
                p.insert("backfillBlocks".into(), json!(backfill));
            }
            (!p.is_empty()).then_some(Value::Object(p))
        }
        GENERATE_IDENTITY => {
            let v = require(stored, &["ChainID", "Moniker"])?;
            Some(json!({"chainId": v[0], "moniker": v[1]}))
        }
        GENERATE_GENTX => {
            let v = require(stored, &["ChainID", "StakingAmount", "AccountBalance"])?;
            let mut p = json!({"chainId": v[0], "stakingAmount": v[1], "accountBalance": v[2]});
            let gp = text(stored, "GenesisParams");
            if !gp.is_empty() {
                p["genesisParams"] = json!(gp);
            }
            Some(p)
        }
        UPLOAD_GENESIS_ARTIFACTS => Some(json!({"nodeName": require(stored, &["NodeName"])?[0]})),
        other => return Err(format!("{other} is not a sidecar task")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_params_become_wire_params() {
        assert_eq!(
            sidecar_params(SNAPSHOT_RESTORE, &json!({"TargetHeight": 100})),
            Ok(Some(json!({"targetHeight": 100})))
        );
        assert_eq!(sidecar_params(SNAPSHOT_RESTORE, &json!({"targetheight": 0})), Ok(None));
        assert_eq!(sidecar_params(MARK_READY, &json!({})), Ok(None));
        assert_eq!(
            sidecar_params(CONFIG_APPLY, &json!({"mode": "full", "overrides": {"evm.http_port": "8545"}})),
            Ok(Some(
                json!({"mode": "full", "incremental": false, "targetVersion": 0, "overrides": {"evm.http_port": "8545"}})
            ))
        );
        assert_eq!(
            sidecar_params(
                CONFIGURE_STATE_SYNC,
                &json!({"UseLocalSnapshot": false, "TrustPeriod": "", "BackfillBlocks": 0})
            ),
            Ok(None)
        );
        assert_eq!(
            sidecar_params(
                CONFIGURE_STATE_SYNC,
                &json!({"UseLocalSnapshot": true, "TrustPeriod": "168h", "BackfillBlocks": 5})
            ),
            Ok(Some(json!({"useLocalSnapshot": true, "trustPeriod": "168h", "backfillBlocks": 5})))
        );
        assert_eq!(
            sidecar_params(
                GENERATE_GENTX,
                &json!({"ChainID": "c", "StakingAmount": "1usei", "AccountBalance": "2usei", "GenesisParams": ""})
            ),
            Ok(Some(json!({"chainId": "c", "stakingAmount": "1usei", "accountBalance": "2usei"})))
        );
    }

    #[test]
    fn invalid_params_are_errors_that_say_what_is_wrong() {
        assert!(
            sidecar_params(GENERATE_IDENTITY, &json!({"ChainID": "c"})).unwrap_err().contains("Moniker is required")
        );
        assert!(sidecar_params(DISCOVER_PEERS, &json!({"Sources": []})).is_err());
        assert!(
            sidecar_params(DISCOVER_PEERS, &json!({"Sources": [{"type": "dnsEndpoints", "endpoints": []}]}))
                .unwrap_err()
                .contains("source 0")
        );
        let err =
            sidecar_params(CONFIG_APPLY, &json!({"mode": "full", "overrides": {"evm.http-port": "1"}})).unwrap_err();
        assert!(err.contains("overrides.evm.http-port"), "{err}");
        assert!(sidecar_params(CONFIG_APPLY, &json!({"mode": "observer"})).is_err());
    }
}
