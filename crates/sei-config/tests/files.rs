//! Reading and writing the two files: round trips lose nothing, incremental writes keep
//! what the model does not know, and seid's own templates (with quoted numbers) read.

use std::path::Path;

use sei_config::{ConfigError, File, Host, Mode, NodeConfig, Value, apply_one, defaults, read_from_dir, write_to_dir};

fn host() -> Host {
    Host::fixed(2, "node-0")
}

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_files(home: &Path, config: &str, app: &str) {
    std::fs::create_dir_all(home.join("config")).unwrap();
    std::fs::write(home.join("config/config.toml"), config).unwrap();
    std::fs::write(home.join("config/app.toml"), app).unwrap();
}

#[test]
fn every_mode_round_trips_through_the_files() {
    for mode in sei_config::ALL_MODES {
        let dir = home();
        let mut cfg = defaults(mode, &host());
        for (k, v) in [
            ("chain.chain_id", "pacific-1"),
            ("state_sync.rpc_servers", "a:26657,b:26657"),
            ("chain.index_events", "tx.height,message.action"),
            ("metrics.global_labels", "chain=pacific-1,team=infra"),
            ("consensus.unsafe_bypass_commit_timeout_override", "true"),
            ("mempool.drop_priority_threshold", "0.25"),
            ("evm.max_trace_lookback_blocks", "-5"),
        ] {
            apply_one(&mut cfg, k, v).unwrap();
        }
        if mode == Mode::Archive {
            apply_one(&mut cfg, "evm.max_trace_lookback_blocks", "-1").unwrap();
        }
        write_to_dir(&cfg, dir.path()).unwrap();
        let back = read_from_dir(dir.path(), &host()).unwrap();
        assert_eq!(back.diff(&cfg), vec![], "{mode}: values changed in the round trip");
    }
}

#[test]
fn files_are_written_atomically_with_mode_0644_and_no_temp_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = home();
    write_to_dir(&defaults(Mode::Full, &host()), dir.path()).unwrap();
    let mut names: Vec<_> =
        std::fs::read_dir(dir.path().join("config")).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["app.toml", "config.toml"]);
    for name in ["app.toml", "config.toml"] {
        let mode = std::fs::metadata(dir.path().join("config").join(name)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{name}");
    }
    // Rewriting replaces the file (a new inode), so a reader never sees half a file.
    use std::os::unix::fs::MetadataExt;
    let before = std::fs::metadata(dir.path().join("config/app.toml")).unwrap().ino();
    write_to_dir(&defaults(Mode::Archive, &host()), dir.path()).unwrap();
    assert_ne!(std::fs::metadata(dir.path().join("config/app.toml")).unwrap().ino(), before);
}

#[test]
fn an_incremental_write_keeps_unknown_keys_comments_and_order() {
    let dir = home();
    let cfg = defaults(Mode::Full, &host());
    write_to_dir(&cfg, dir.path()).unwrap();
    // An operator (or a newer seid) adds things the model does not know.
    let app_path = dir.path().join("config/app.toml");
    let mut app = std::fs::read_to_string(&app_path).unwrap();
    app = app.replace("[evm]\n", "[evm]\n  # tuned for the RPC fleet\n  trace_bake_enabled = true\n");
    app.push_str("\n[admin_server]\n  address = \"0.0.0.0:9999\" # keep me\n");
    std::fs::write(&app_path, &app).unwrap();

    let mut cfg = read_from_dir(dir.path(), &host()).unwrap();
    apply_one(&mut cfg, "evm.http_port", "18545").unwrap();
    write_to_dir(&cfg, dir.path()).unwrap();

    let after = std::fs::read_to_string(&app_path).unwrap();
    assert!(after.contains("  # tuned for the RPC fleet\n  trace_bake_enabled = true"), "{after}");
    assert!(after.contains("[admin_server]\n  address = \"0.0.0.0:9999\" # keep me"), "{after}");
    assert!(after.contains("http_port = 18545"));
    // Every key that was there before is still there, in the same order.
    let keys = |text: &str| -> Vec<String> {
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        doc.iter()
            .flat_map(|(k, item)| match item.as_table() {
                Some(t) => t.iter().map(|(tk, _)| format!("{k}.{tk}")).collect::<Vec<_>>(),
                None => vec![k.to_string()],
            })
            .collect()
    };
    assert_eq!(keys(&after), keys(&app));
}

#[test]
fn seid_templates_with_quoted_numbers_are_read() {
    let dir = home();
    write_to_dir(&defaults(Mode::Full, &host()), dir.path()).unwrap();
    let config_path = dir.path().join("config/config.toml");
    let text = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("  size = 5000", "  size = \"7000\"")
        .replace("  pex = true", "  pex = \"false\"");
    std::fs::write(&config_path, text).unwrap();
    let cfg = read_from_dir(dir.path(), &host()).unwrap();
    assert_eq!(cfg.get("mempool.size"), Some(&Value::Int(7000)));
    assert_eq!(cfg.get("network.p2p.pex"), Some(&Value::Bool(false)));
}

#[test]
fn bad_values_in_files_name_the_file_and_key() {
    let dir = home();
    write_to_dir(&defaults(Mode::Full, &host()), dir.path()).unwrap();
    let config_path = dir.path().join("config/config.toml");
    let good = std::fs::read_to_string(&config_path).unwrap();
    for (from, to, key) in [
        ("  size = 5000", "  size = \"\"", "[mempool] size"),
        ("  size = 5000", "  size = \"12abc\"", "[mempool] size"),
        ("  pex = true", "  pex = 3", "[p2p] pex"),
        ("  max-connections = 100", "  max-connections = 70000", "[p2p] max-connections"),
    ] {
        std::fs::write(&config_path, good.replace(from, to)).unwrap();
        let err = read_from_dir(dir.path(), &host()).unwrap_err();
        assert!(matches!(err, ConfigError::BadFileValue { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("config.toml") && text.contains(key), "{text}");
    }
    std::fs::write(&config_path, "not = [toml").unwrap();
    assert!(read_from_dir(dir.path(), &host()).unwrap_err().to_string().contains("config.toml"));
    std::fs::remove_file(&config_path).unwrap();
    assert!(read_from_dir(dir.path(), &host()).unwrap_err().to_string().contains("config.toml"));
}

#[test]
fn chain_id_and_mode_are_read_back() {
    let dir = home();
    let mut cfg = defaults(Mode::Archive, &host());
    apply_one(&mut cfg, "chain.chain_id", "atlantic-2").unwrap();
    write_to_dir(&cfg, dir.path()).unwrap();
    let back = read_from_dir(dir.path(), &host()).unwrap();
    assert_eq!(back.chain_id(), "atlantic-2");
    assert_eq!(back.mode(), Some(Mode::Archive), "[sei] mode wins over config.toml's full");
}

#[test]
fn missing_settings_take_the_declared_modes_defaults() {
    let dir = home();
    // Only config.toml says the mode: it is used when app.toml has no [sei] mode.
    write_files(dir.path(), "mode = \"validator\"\n", "");
    let cfg: NodeConfig = read_from_dir(dir.path(), &host()).unwrap();
    assert_eq!(cfg.diff(&defaults(Mode::Validator, &host())), vec![]);
    let rendered = sei_config::render(&cfg, File::App);
    assert!(rendered.contains("[receipt-store]"), "every section is written back");
}

#[test]
fn inline_tables_become_tables_and_keep_their_keys() {
    let dir = home();
    write_files(dir.path(), "", "sei = { mode = \"full\", extra = 1 }\n");
    let cfg = read_from_dir(dir.path(), &host()).unwrap();
    write_to_dir(&cfg, dir.path()).unwrap();
    let app: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.path().join("config/app.toml")).unwrap()).unwrap();
    assert_eq!(app["sei"]["extra"].as_integer(), Some(1));
    assert_eq!(app["sei"]["mode"].as_str(), Some("full"));
}

#[test]
fn non_finite_floats_and_bad_pairs_in_files_are_errors() {
    for (config, app, key) in [
        ("[mempool]\ndrop-priority-threshold = nan\n", "", "drop-priority-threshold"),
        ("", "[state-commit]\nsc-snapshot-prefetch-threshold = -inf\n", "sc-snapshot-prefetch-threshold"),
        ("", "[telemetry]\nglobal-labels = [[\"a\", 1]]\n", "global-labels"),
    ] {
        let dir = home();
        write_files(dir.path(), config, app);
        let err = read_from_dir(dir.path(), &host()).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
}
