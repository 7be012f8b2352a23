//! `seictl config` driven as a user drives it: exit codes 0 (ok), 1 (invalid input, reason
//! on stderr) and 2 (usage).

use std::path::Path;
use std::process::{Command, Output};

fn seictl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seictl")).args(args).output().expect("seictl runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn render(dir: &Path, mode: &str, extra: &[&str]) -> Output {
    let mut args = vec!["config", "render", "--mode", mode, "--chain-id", "pacific-1", "--cpus", "2", "--out"];
    args.push(dir.to_str().unwrap());
    args.extend_from_slice(extra);
    seictl(&args)
}

#[test]
fn every_modes_render_is_accepted_by_validate() {
    for mode in ["full", "validator", "archive", "seed"] {
        let dir = tempfile::tempdir().unwrap();
        let out = render(dir.path(), mode, &[]);
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.path().join("config.toml")).unwrap()).unwrap();
        assert_eq!(config["chain-id"].as_str(), Some("pacific-1"));
        let out = seictl(&["config", "validate", "--dir", dir.path().to_str().unwrap()]);
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("valid (mode {mode}")));
    }
}

#[test]
fn render_refuses_invalid_overrides_with_the_key_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for (set, expected) in [
        ("mempool.size=12abc", r#"applying override "mempool.size"="12abc": expected an integer"#),
        ("mempool.max-tx-bytes=5", r#"unknown override key "mempool.max-tx-bytes""#),
        ("mempool.size=-1", "error: mempool.size: must be >= 0"),
        ("logging.format=xml", "error: logging.format"),
        ("network.p2p.max_connections=70000", "16-bit"),
        ("novalue", "expected KEY=VALUE"),
    ] {
        let out = render(dir.path(), "full", &["--set", set]);
        assert_eq!(out.status.code(), Some(1), "{set}");
        assert!(stderr(&out).contains(expected), "{set}: {}", stderr(&out));
    }
    assert!(!dir.path().join("config.toml").exists(), "nothing is written on failure");
}

#[test]
fn validate_reports_every_problem_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    assert!(render(dir.path(), "archive", &[]).status.success());
    let app = dir.path().join("app.toml");
    let text = std::fs::read_to_string(&app)
        .unwrap()
        .replace("min-retain-blocks = 0", "min-retain-blocks = 100")
        .replace("pruning = \"nothing\"", "pruning = \"sometimes\"");
    std::fs::write(&app, text).unwrap();
    let out = seictl(&["config", "validate", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: chain.min_retain_blocks") && err.contains("error: storage.pruning"), "{err}");
    assert!(err.contains("invalid (3 errors)"), "{err}");

    let out = seictl(&["config", "validate", "--dir", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/config.toml"), "{}", stderr(&out));
}

#[test]
fn warnings_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), "validator", &["--set", "evm.http_enabled=true"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("warning: evm"));
}

#[test]
fn diff_shows_what_overrides_change_and_where() {
    let out = seictl(&["config", "diff", "--mode", "full", "--cpus", "2", "--set", "network.p2p.max_connections=250"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), "network.p2p.max_connections: 100 -> 250    (config.toml [p2p] max-connections)");

    let dir = tempfile::tempdir().unwrap();
    assert!(render(dir.path(), "full", &[]).status.success());
    let out = seictl(&["config", "diff", "--dir", dir.path().to_str().unwrap(), "--set", "logging.level=debug"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#"logging.level: "info" -> "debug""#));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        seictl(&["config", "render", "--mode", "observer", "--chain-id", "c", "--out", "/tmp/x"]).status.code(),
        Some(2)
    );
    assert_eq!(seictl(&["config", "frobnicate"]).status.code(), Some(2));
    assert_eq!(
        seictl(&["config", "render", "--mode", "full", "--out", "/tmp/x"]).status.code(),
        Some(2),
        "no --chain-id"
    );
    assert_eq!(seictl(&["config", "diff"]).status.code(), Some(2), "neither --mode nor --dir");
    assert_eq!(seictl(&["config", "diff", "--mode", "full", "--cpus", "0"]).status.code(), Some(2));
}

#[test]
fn the_chain_id_cannot_be_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), "full", &["--set", "chain.chain_id="]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("chain ID is empty"), "{}", stderr(&out));
    assert!(!dir.path().join("config.toml").exists());
}

#[test]
fn a_bad_existing_file_leaves_both_files_untouched() {
    let dir = tempfile::tempdir().unwrap();
    assert!(render(dir.path(), "full", &[]).status.success());
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    std::fs::write(dir.path().join("app.toml"), "broken = [").unwrap();
    let out = render(dir.path(), "archive", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("app.toml"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("config.toml")).unwrap(), config);
}

#[test]
fn diff_against_archive_files_keeps_archive_retention() {
    let dir = tempfile::tempdir().unwrap();
    assert!(render(dir.path(), "archive", &[]).status.success());
    let out = seictl(&["config", "diff", "--dir", dir.path().to_str().unwrap(), "--snapshot-keep-recent", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("storage.snapshot_keep_recent: 2 -> 3"), "{stdout}");
    assert!(!stdout.contains("min_retain_blocks"), "{stdout}");
}

#[test]
fn patch_verbs_merge_toml_and_json_files_to_stdout_a_file_or_in_place() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let toml_path = config.join("config.toml");
    std::fs::write(&toml_path, "# tuned by hand\n[p2p]\nmax-connections = 10\nseeds = \"a\"\n").unwrap();
    std::fs::set_permissions(&toml_path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let seictl = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_seictl")).args(args).output().unwrap();
        (o.status.code().unwrap(), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
    };
    let home = dir.path().to_str().unwrap();
    let (code, _, stderr) =
        seictl(&["config", "patch", r#"{"p2p": {"max-connections": 50, "seeds": null}}"#, "--home", home, "-i"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    assert!(
        text.starts_with("# tuned by hand") && text.contains("max-connections = 50") && !text.contains("seeds"),
        "{text}"
    );
    assert_eq!(std::fs::metadata(&toml_path).unwrap().permissions().mode() & 0o777, 0o640, "permissions kept");

    std::fs::write(config.join("genesis.json"), r#"{"chain_id": "a", "app_state": {"bank": {"x": 1}}}"#).unwrap();
    let (code, stdout, _) =
        seictl(&["genesis", "patch", r#"{"chain_id": "b", "app_state": {"bank": {"x": null}}}"#, "--home", home]);
    assert_eq!(code, 0);
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed, serde_json::json!({"chain_id": "b", "app_state": {"bank": {}}}));
    let patch = dir.path().join("patch.yaml");
    std::fs::write(&patch, "chain_id: c\n").unwrap();
    let out = dir.path().join("out.json");
    let genesis = config.join("genesis.json");
    let (code, _, _) =
        seictl(&["patch", genesis.to_str().unwrap(), patch.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"chain_id\": \"c\""));
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&genesis).unwrap().contains("\"a\""), "-o must not touch the source");

    // Bad input: one line naming what to fix, exit 1; usage errors exit 2.
    let (code, _, stderr) = seictl(&["patch", genesis.to_str().unwrap(), "[1, 2]"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("PATCH") && stderr.lines().count() == 1, "{stderr}");
    let (code, _, stderr) = seictl(&["patch", patch.to_str().unwrap(), "{}"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("patches *.toml or *.json"), "{stderr}");
    assert_eq!(seictl(&["patch", genesis.to_str().unwrap(), "{}", "-i", "-o", "x"]).0, 2);
}
