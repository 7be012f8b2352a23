//! The `sei-devcluster` binary behind `make demo`, driven as a user drives it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sei_testenv::{Binaries, pid_alive, send_signal};

fn devcluster(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sei-devcluster"))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .expect("sei-devcluster runs")
}

fn kubectl(state: &Path, args: &[&str]) -> Output {
    Command::new(&Binaries::get().unwrap().kubectl)
        .arg("--kubeconfig")
        .arg(state.join("kubeconfig"))
        .args(args)
        .output()
        .unwrap()
}

fn component_pids(state: &Path) -> Vec<u32> {
    std::fs::read_to_string(state.join("components"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect()
}

fn all_dead(pids: &[u32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !pid_alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn state_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sei-devcluster-{tag}-{}", std::process::id()))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn up_apply_get_down_and_nothing_survives_a_killed_supervisor() {
    let state = state_dir("demo");
    let up = devcluster(&state, &["up", "--nodes", "1"]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(text(&up).contains("export KUBECONFIG="), "{}", text(&up));

    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/samples/full-node.yaml");
    let apply = kubectl(&state, &["apply", "-f", sample.to_str().unwrap()]);
    assert!(apply.status.success(), "{}", text(&apply));
    let get = kubectl(&state, &["get", "seinodes"]);
    assert!(text(&get).contains("demo-full-node"), "{}", text(&get));
    assert!(text(&devcluster(&state, &["status"])).contains("is running"));

    // A second `up` finds the running cluster instead of starting another.
    let pids = component_pids(&state);
    assert!(devcluster(&state, &["up"]).status.success());
    assert_eq!(component_pids(&state), pids);

    // SIGKILL the supervisor: the kernel takes every component down with it.
    let supervisor: u32 = std::fs::read_to_string(state.join("supervisor.pid")).unwrap().trim().parse().unwrap();
    assert!(send_signal(supervisor, libc::SIGKILL));
    assert!(all_dead(&pids), "components outlived their supervisor");

    // A fresh start, then a clean stop that removes the state directory.
    let up = devcluster(&state, &["up", "--nodes", "1"]);
    assert!(up.status.success(), "{}", text(&up));
    let pids = component_pids(&state);
    let down = devcluster(&state, &["down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(all_dead(&pids));
    assert!(!state.exists());
}

#[test]
fn a_taken_port_is_reported_in_one_line() {
    let state = state_dir("port");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let up = devcluster(&state, &["up", "--port", &port]);
    assert!(!up.status.success());
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("port {port} needed by kube-apiserver is already in use")), "{stderr}");
    let _ = std::fs::remove_dir_all(&state);
}
