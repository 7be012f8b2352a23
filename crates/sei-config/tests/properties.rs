//! Property tests: random override maps and random TOML files never panic, every
//! rejection names the key (or file and key) at fault, and whatever is accepted survives a
//! write and read unchanged.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sei_config::registry::FIELDS;
use sei_config::{ConfigError, File, Host, Mode, apply_overrides, defaults, read_from_dir, write_to_dir};

fn host() -> Host {
    Host::fixed(2, "node-0")
}

/// Registry keys most of the time, sometimes a near miss.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0..FIELDS.len()).prop_map(|i| FIELDS[i].key.to_string()),
        1 => (0..FIELDS.len()).prop_map(|i| FIELDS[i].key.replace('_', "-")),
        1 => "[a-z_.]{1,20}",
    ]
}

/// Values of every shape: numbers with garbage, durations, lists, bools, junk.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9]{1,6}[a-z]{0,3}",
        "-?[0-9]{1,4}(ns|ms|s|m|h)",
        "(true|false|yes|no|1|0|TRUE|maybe)",
        "[a-z0-9]{0,8}(,[a-z0-9]{0,8}){0,3}",
        "([a-z]{1,5}=[a-z]{0,5})(,[a-z]{1,5}=[a-z]{0,5}){0,2}",
        any::<f64>().prop_map(|x| x.to_string()),
        ".{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn overrides_never_panic_and_rejections_name_the_key(
        mode in 0usize..4,
        overrides in prop::collection::btree_map(key(), value(), 0..8),
    ) {
        let mut cfg = defaults(sei_config::ALL_MODES[mode], &host());
        if let Err(e) = apply_overrides(&mut cfg, &overrides) {
            let text = e.to_string();
            prop_assert!(overrides.keys().any(|k| text.contains(&format!("{k:?}"))), "{text}");
        }
    }

    #[test]
    fn accepted_overrides_survive_a_write_and_read(
        overrides in prop::collection::btree_map(key(), value(), 0..8),
    ) {
        let mut cfg = defaults(Mode::Full, &host());
        // Changing the mode changes how the files are read back; keep it.
        let overrides: BTreeMap<String, String> = overrides.into_iter().filter(|(k, _)| k != "mode").collect();
        if apply_overrides(&mut cfg, &overrides).is_ok() {
            let dir = tempfile::tempdir().unwrap();
            write_to_dir(&cfg, dir.path()).unwrap();
            let back = read_from_dir(dir.path(), &host()).unwrap();
            let changed: Vec<_> = back.diff(&cfg).into_iter().map(|(k, _, _)| k).collect();
            // Version < 1 reads back as 1; an empty list written comma-joined reads back unset.
            let lossy = |k: &str| k == "version" || k == "state_sync.rpc_servers";
            prop_assert!(changed.iter().all(|k| lossy(k)), "changed in the round trip: {changed:?}");
        }
    }

    #[test]
    fn random_files_never_panic_and_errors_name_the_file(
        config_lines in prop::collection::vec((0..FIELDS.len(), value()), 0..10),
        app_lines in prop::collection::vec((0..FIELDS.len(), value()), 0..10),
        junk in prop::option::weighted(0.1, "[ -~\n]{0,40}"),
    ) {
        // Real table and key names with random values, one header per table, so parsing
        // gets as far as the value checks; sometimes junk breaks the TOML itself.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        for (file, lines) in [(File::Config, &config_lines), (File::App, &app_lines)] {
            let mut tables: BTreeMap<Option<&str>, String> = BTreeMap::new();
            for (i, v) in lines {
                let Some((table, key, _)) = file.layout().iter().find(|s| s.2.field() == Some(FIELDS[*i].key)) else { continue };
                let v = if v.parse::<f64>().is_ok() || v == "true" || v == "false" { v.clone() } else { format!("{v:?}") };
                tables.entry(*table).or_default().push_str(&format!("{key} = {v}\n"));
            }
            let mut text = tables.remove(&None).unwrap_or_default();
            for (t, body) in tables {
                text += &format!("[{}]\n{body}", t.unwrap());
            }
            if let (File::App, Some(j)) = (file, &junk) {
                text += j;
            }
            std::fs::write(dir.path().join("config").join(file.name()), text).unwrap();
        }
        if let Err(e) = read_from_dir(dir.path(), &host()) {
            let text = e.to_string();
            prop_assert!(text.contains("config.toml") || text.contains("app.toml"), "{text}");
            if let ConfigError::BadFileValue { key, .. } = &e {
                prop_assert!(!key.is_empty());
            }
        }
    }
}
