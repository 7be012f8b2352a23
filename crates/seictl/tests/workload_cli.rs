//! `seictl workload probe` against the seid simulator: a chain that produces blocks
//! passes (exit 0), one that is stuck fails (exit 1), an RPC that never answers is an
//! infrastructure failure (exit 2); the report and termination message land in RESULT_DIR.

use std::process::Command;

use sei_testenv::{LiveChain, SeidSimulator};
use serde_json::Value;

/// Runs the probe off the async threads: the simulator answers on them meanwhile.
async fn probe(rpc: &str, dir: &std::path::Path) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
    cmd.args(["workload", "probe", "--interval", "1"])
        .env("SEI_TENDERMINT_RPC", rpc)
        .env("DURATION_SECONDS", "3")
        .env("RESULT_DIR", dir);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (out.status.code().unwrap(), serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{stdout}")))
}

#[tokio::test]
async fn the_probe_judges_a_live_a_stuck_and_an_unreachable_chain() {
    let live = SeidSimulator::start("live").await.unwrap();
    live.follow(LiveChain::starting_now());
    let dir = tempfile::tempdir().unwrap();
    let (code, summary) = probe(&live.url(), &dir.path().join("live")).await;
    assert_eq!(code, 0, "{summary}");
    assert_eq!((summary["passed"].as_i64(), summary["exitCode"].as_i64()), (Some(1), Some(0)));
    let report = std::fs::read_to_string(dir.path().join("live/report.log")).unwrap();
    assert!(report.lines().filter(|l| l.contains(" height ")).count() >= 3, "{report}");
    let message: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("live/termination-message.json")).unwrap())
            .unwrap();
    assert_eq!(message, summary);

    let stuck = SeidSimulator::start("stuck").await.unwrap();
    stuck.set_height(42);
    let (code, summary) = probe(&stuck.url(), &dir.path().join("stuck")).await;
    assert_eq!(code, 1, "{summary}");
    assert!(summary["message"].as_str().unwrap().contains("did not advance past height 42"), "{summary}");

    // Bad input: said at once, before any run; a missing RPC is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_seictl"))
        .args(["workload", "probe", "--rpc", &live.url(), "--results-uri", "https://bucket/x"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--results-uri \"https://bucket/x\": expected s3://bucket/prefix/")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_seictl"))
        .args(["workload", "probe"])
        .env_remove("SEI_TENDERMINT_RPC")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, summary) = probe(&format!("http://127.0.0.1:{port}"), &dir.path().join("down")).await;
    assert_eq!(code, 2, "{summary}");
    assert!(summary["message"].as_str().unwrap().contains("never answered"), "{summary}");
}

/// `seictl await validator` against the simulator's staking API.
async fn await_validator(args: Vec<String>) -> (i32, String, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seictl"));
    cmd.args(["await", "validator"]).args(&args).env_remove("SEI_HOME");
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stderr).unwrap(), started.elapsed())
}

use std::time::Duration;

#[tokio::test]
async fn await_validator_waits_for_the_staking_api_and_fails_on_a_bad_address_or_timeout() {
    let sim = SeidSimulator::start("api").await.unwrap();
    let addr = "seivaloper1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq";
    let later = {
        let url = sim.url();
        tokio::spawn(await_validator(vec![addr.into(), "--api".into(), url, "--timeout".into(), "30s".into()]))
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.add_validator(addr);
    let (code, stderr, took) = later.await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(took >= Duration::from_secs(2), "returned before the validator existed");

    // The API address from app.toml ([api] address, 0.0.0.0 meaning this host).
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    let port = sim.url().rsplit(':').next().unwrap().to_string();
    std::fs::write(home.path().join("config/app.toml"), format!("[api]\naddress = \"tcp://0.0.0.0:{port}\"\n"))
        .unwrap();
    let (code, stderr, _) =
        await_validator(vec![addr.into(), "--home".into(), home.path().display().to_string()]).await;
    assert_eq!(code, 0, "{stderr}");

    let (code, stderr, took) = await_validator(vec!["notanaddress".into(), "--api".into(), sim.url()]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not a valid validator address") && took < Duration::from_secs(5), "{stderr}");
    let other = "seivaloper1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
    let (code, stderr, _) =
        await_validator(vec![other.into(), "--api".into(), sim.url(), "--timeout".into(), "2s".into()]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not found within 2s") && stderr.contains("404"), "{stderr}");
    let (code, _, _) = await_validator(vec![other.into(), "--timeout".into(), "soon".into()]).await;
    assert_eq!(code, 2);
}
