//! Complete rendered files of every mode against golden files taken from the
//! specification's rendered output (§14), with our fixes applied: `chain-id` in
//! config.toml, and seeds listening on all interfaces.

use sei_config::{CURRENT_VERSION, File, Host, Mode, apply_one, defaults, is_valid, render, validate};

fn golden(mode: &str, file: File) -> String {
    let path = format!("{}/tests/golden/{mode}/{}", env!("CARGO_MANIFEST_DIR"), file.name());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (table, key) pairs in document order.
fn key_order(text: &str) -> Vec<(String, String)> {
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    let mut out = Vec::new();
    for (k, item) in doc.iter() {
        match item.as_table() {
            Some(t) => out.extend(t.iter().map(|(tk, _)| (k.to_string(), tk.to_string()))),
            None => out.push((String::new(), k.to_string())),
        }
    }
    out
}

fn rendered(mode: Mode) -> (String, String) {
    let mut cfg = defaults(mode, &Host::fixed(2, "node-0"));
    apply_one(&mut cfg, "chain.chain_id", "pacific-1").unwrap();
    assert!(
        is_valid(&validate(&cfg, CURRENT_VERSION)),
        "{mode} defaults validate: {:?}",
        validate(&cfg, CURRENT_VERSION)
    );
    (render(&cfg, File::Config), render(&cfg, File::App))
}

#[test]
fn every_mode_renders_its_golden_files_key_for_key_and_in_order() {
    for mode in sei_config::ALL_MODES {
        let (config, app) = rendered(mode);
        for (file, text) in [(File::Config, config), (File::App, app)] {
            let expected = golden(mode.as_str(), file);
            let ours: toml::Table = toml::from_str(&text).unwrap();
            let theirs: toml::Table = toml::from_str(&expected).unwrap();
            assert_eq!(ours, theirs, "{mode} {}: parsed documents differ\n--- ours:\n{text}", file.name());
            assert_eq!(key_order(&text), key_order(&expected), "{mode} {}: key order differs", file.name());
        }
    }
}

#[test]
fn every_mode_writes_the_same_keys() {
    let keys: Vec<_> = sei_config::ALL_MODES
        .iter()
        .map(|m| {
            let (c, a) = rendered(*m);
            (key_order(&c), key_order(&a))
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn fixes_over_the_reference() {
    let (config, _) = rendered(Mode::Full);
    assert!(config.contains("chain-id = \"pacific-1\""), "chain-id is written");
    let (seed, _) = rendered(Mode::Seed);
    let seed: toml::Table = toml::from_str(&seed).unwrap();
    assert_eq!(seed["p2p"]["laddr"].as_str(), Some("tcp://0.0.0.0:26656"), "seeds are reachable");
    let (_, archive) = rendered(Mode::Archive);
    let archive: toml::Table = toml::from_str(&archive).unwrap();
    assert_eq!(archive["min-retain-blocks"].as_integer(), Some(0), "archive keeps every block and receipt");
    assert_eq!(archive["receipt-store"]["keep-recent"].as_integer(), Some(0));
    let (config, _) = rendered(Mode::Archive);
    assert!(config.contains("mode = \"full\""), "CometBFT has no archive mode");
}

#[test]
fn without_a_chain_id_no_chain_id_line() {
    let cfg = defaults(Mode::Full, &Host::fixed(2, "node-0"));
    assert!(!render(&cfg, File::Config).contains("chain-id"));
}

#[test]
fn snapshot_generation_overrides_match_the_spec_for_full_and_keep_archives_whole() {
    let host = Host::fixed(2, "node-0");
    let mut full = defaults(Mode::Full, &host);
    sei_config::apply_overrides(&mut full, &sei_config::snapshot_generation_overrides(5, false)).unwrap();
    let app: toml::Table = toml::from_str(&render(&full, File::App)).unwrap();
    assert_eq!(app["pruning-keep-recent"].as_str(), Some("50000"));
    assert_eq!(app["pruning-keep-every"].as_str(), Some("0"));
    assert_eq!(app["min-retain-blocks"].as_integer(), Some(50000));
    assert_eq!(app["state-sync"]["snapshot-interval"].as_integer(), Some(2000));
    assert_eq!(app["state-sync"]["snapshot-keep-recent"].as_integer(), Some(5));
    let config: toml::Table = toml::from_str(&render(&full, File::Config)).unwrap();
    assert_eq!(config["p2p"]["max-connections"].as_integer(), Some(500));
    assert_eq!(config["p2p"]["send-rate"].as_integer(), Some(20971520));

    let mut archive = defaults(Mode::Archive, &host);
    sei_config::apply_overrides(&mut archive, &sei_config::snapshot_generation_overrides(5, true)).unwrap();
    assert!(is_valid(&validate(&archive, CURRENT_VERSION)));
    let app: toml::Table = toml::from_str(&render(&archive, File::App)).unwrap();
    assert_eq!(app["min-retain-blocks"].as_integer(), Some(0));
    assert_eq!(app["state-sync"]["snapshot-interval"].as_integer(), Some(2000));
}

#[test]
fn cpu_dependent_defaults() {
    for (cpus, workers, pool) in [(1, 10, 2), (2, 10, 4), (16, 32, 32), (64, 128, 64), (100, 128, 64)] {
        let cfg = defaults(Mode::Validator, &Host::fixed(cpus, "h"));
        assert_eq!(cfg.int("chain.concurrency_workers"), workers, "{cpus} cpus");
        assert_eq!(cfg.int("evm.worker_pool_size"), pool);
        assert_eq!(cfg.int("evm.max_concurrent_simulation_calls"), pool);
        assert_eq!(defaults(Mode::Full, &Host::fixed(cpus, "h")).int("chain.concurrency_workers"), 500);
    }
}
