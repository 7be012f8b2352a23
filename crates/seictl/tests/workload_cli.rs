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

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, summary) = probe(&format!("http://127.0.0.1:{port}"), &dir.path().join("down")).await;
    assert_eq!(code, 2, "{summary}");
    assert!(summary["message"].as_str().unwrap().contains("never answered"), "{summary}");
}
