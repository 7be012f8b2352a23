//! Intent resolution (full and incremental), overrides, environment variables and
//! migrations.

use std::collections::BTreeMap;

use sei_config::{
    ConfigError, ConfigIntent, Host, Migration, Migrations, Mode, NodeConfig, Value, apply_one, defaults, resolve,
    resolve_env,
};

fn host() -> Host {
    Host::fixed(2, "node-0")
}

fn intent(mode: &str, overrides: &[(&str, &str)]) -> ConfigIntent {
    ConfigIntent {
        mode: mode.into(),
        overrides: overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

#[test]
fn the_wire_format_is_the_references() {
    let i: ConfigIntent = serde_json::from_str(
        r#"{"mode":"full","overrides":{"evm.http_port":"8545","storage.pruning":"custom"},"targetVersion":0,"incremental":false}"#,
    )
    .unwrap();
    assert_eq!(i, intent("full", &[("evm.http_port", "8545"), ("storage.pruning", "custom")]));
    assert_eq!(serde_json::to_string(&intent("archive", &[])).unwrap(), r#"{"mode":"archive"}"#);
}

#[test]
fn full_resolution_applies_overrides_and_validates() {
    let r = resolve(&intent("full", &[("evm.http_port", "18545"), ("chain.chain_id", "pacific-1")]), None, &host())
        .unwrap();
    assert!(r.valid);
    let cfg = r.config.unwrap();
    assert_eq!(cfg.get("evm.http_port"), Some(&Value::Int(18545)));
    assert_eq!(cfg.chain_id(), "pacific-1");
    assert_eq!((r.version, r.mode.as_str()), (1, "full"));

    let r = resolve(&intent("full", &[("mempool.size", "-3")]), None, &host()).unwrap();
    assert!(!r.valid && r.config.is_none());
    assert_eq!(r.diagnostics[0].field, "mempool.size");
}

#[test]
fn hard_errors_name_what_is_wrong() {
    assert!(matches!(resolve(&intent("", &[]), None, &host()), Err(ConfigError::ModeRequired)));
    assert!(resolve(&intent("sentry", &[]), None, &host()).unwrap_err().to_string().contains("\"sentry\""));
    let err = resolve(&intent("full", &[("mempool.max-tx-bytes", "1")]), None, &host()).unwrap_err();
    assert!(err.to_string().contains("mempool.max-tx-bytes"), "{err}");
    let err = resolve(&intent("full", &[("mempool.size", "12abc")]), None, &host()).unwrap_err();
    assert_eq!(err.to_string(), r#"applying override "mempool.size"="12abc": expected an integer, got "12abc""#);
    let err = resolve(&intent("full", &[("network.p2p.max_connections", "70000")]), None, &host()).unwrap_err();
    assert!(err.to_string().contains("16-bit"), "{err}");
    let err = resolve(&intent("full", &[("consensus.wal_path", "x"), ("evm.checktx_timeout", "5")]), None, &host())
        .unwrap_err();
    assert!(err.to_string().contains("evm.checktx_timeout") && err.to_string().contains("missing unit"), "{err}");
}

#[test]
fn a_target_version_above_the_supported_one_is_refused() {
    let mut i = intent("full", &[]);
    i.target_version = 2;
    let r = resolve(&i, None, &host()).unwrap();
    assert!(!r.valid, "the reference wrote version 2; we refuse it");
    assert!(i.validate().iter().any(|d| d.field == "targetVersion"));
}

#[test]
fn list_settings_can_be_overridden() {
    let r = resolve(
        &intent(
            "full",
            &[
                ("tx_index.indexer", "null"),
                ("network.rpc.cors_allowed_origins", "https://a.example, https://b.example"),
            ],
        ),
        None,
        &host(),
    )
    .unwrap();
    let cfg = r.config.unwrap();
    assert_eq!(cfg.list("tx_index.indexer"), Some(&["null".to_string()][..]));
    assert_eq!(cfg.list("network.rpc.cors_allowed_origins").unwrap().len(), 2);
    assert!(resolve(&intent("full", &[("evm.deny_list", "a,,b")]), None, &host()).is_err());
}

#[test]
fn incremental_resolution_starts_from_the_current_config_without_reapplying_defaults() {
    let mut current = defaults(Mode::Full, &host());
    apply_one(&mut current, "mempool.size", "9000").unwrap();
    let mut i = intent("validator", &[("evm.ws_port", "18546")]);
    i.incremental = true;
    let r = resolve(&i, Some(&current), &host()).unwrap();
    let cfg = r.config.expect("valid, with a warning about EVM on a validator");
    assert_eq!(cfg.get("mempool.size"), Some(&Value::Int(9000)), "kept");
    assert_eq!(cfg.mode(), Some(Mode::Validator), "mode replaced");
    assert!(cfg.bool("evm.http_enabled"), "the validator block was not applied");
    assert_eq!(cfg.int("evm.ws_port"), 18546);
    assert!(matches!(resolve(&i, None, &host()), Err(ConfigError::NoCurrentConfig)));
    // Turning a pruning full node into an archive node this way is caught.
    i.mode = "archive".into();
    let r = resolve(&i, Some(&current), &host()).unwrap();
    assert!(!r.valid && r.diagnostics.iter().any(|d| d.field == "chain.min_retain_blocks"));
    let mut only = ConfigIntent { incremental: true, ..Default::default() };
    only.overrides = BTreeMap::from([("logging.level".to_string(), "debug".to_string())]);
    assert!(only.validate().is_empty(), "incremental intents need no mode");
}

#[test]
fn intent_validation_reports_unknown_keys_and_bad_modes_without_resolving() {
    let mut i = intent("", &[("evm.http-port", "1"), ("evm.http_port", "not checked here")]);
    i.target_version = -1;
    let fields: Vec<String> = i.validate().into_iter().map(|d| d.field).collect();
    assert_eq!(fields, ["mode", "targetVersion", "overrides.evm.http-port"]);
}

#[test]
fn environment_variables_override_with_sei_beating_seid() {
    let mut cfg = defaults(Mode::Full, &host());
    let warnings = resolve_env(
        &mut cfg,
        [
            ("SEI_CHAIN_MIN_GAS_PRICES", "0.02usei"),
            ("SEID_CHAIN_MIN_GAS_PRICES", "9usei"),
            ("SEID_MEMPOOL_SIZE", "42"),
            ("SEI_EVM_HTTP_PORT", "nope"),
            ("SEI_CHAIN_CHAIN_ID", "arctic-1"),
            ("UNRELATED", "x"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    assert_eq!(cfg.str("chain.min_gas_prices"), "0.02usei");
    assert_eq!(cfg.int("mempool.size"), 42);
    assert_eq!(cfg.chain_id(), "arctic-1");
    assert_eq!(cfg.int("evm.http_port"), 8545, "bad values are ignored");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("SEID_MEMPOOL_SIZE is deprecated")));
    assert!(warnings.iter().any(|w| w.contains("SEI_EVM_HTTP_PORT")));
}

fn bump(cfg: &mut NodeConfig) -> Result<(), String> {
    cfg.set("version", Value::Int(cfg.version() + 1)).map_err(|e| e.to_string())
}

fn forget(_: &mut NodeConfig) -> Result<(), String> {
    Ok(())
}

#[test]
fn migrations_form_a_contiguous_chain() {
    let mut cfg = defaults(Mode::Full, &host());
    let report = Migrations::builtin().migrate(&mut cfg, 1).unwrap();
    assert!(report.steps.is_empty(), "v1 is current: nothing to do");
    assert!(Migrations::builtin().migrate(&mut cfg, 2).is_err(), "no step to v2 yet");
    assert!(Migrations::new(vec![Migration { from: 1, to: 3, apply: bump }]).is_err());
    assert!(
        Migrations::new(vec![Migration { from: 1, to: 2, apply: bump }, Migration { from: 3, to: 4, apply: bump }])
            .is_err()
    );
    let chain = Migrations::new(vec![Migration { from: 1, to: 2, apply: bump }]).unwrap();
    let mut migrated = cfg.clone();
    let report = chain.migrate(&mut migrated, 2).unwrap();
    assert_eq!((report.from, report.to, report.steps), (1, 2, vec![(1, 2)]));
    assert_eq!(migrated.version(), 2);
    let lazy = Migrations::new(vec![Migration { from: 1, to: 2, apply: forget }]).unwrap();
    assert!(lazy.migrate(&mut cfg.clone(), 2).unwrap_err().to_string().contains("did not set version"));
    apply_one(&mut cfg, "version", "3").unwrap();
    assert!(Migrations::builtin().migrate(&mut cfg, 1).unwrap_err().to_string().contains("downgrade"));
}
