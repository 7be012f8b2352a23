//! Starting and stopping the control plane leaves nothing behind, and its errors are one
//! line that says what to do.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sei_testenv::{ControlPlane, Error, Options, pid_alive};

fn wait_dead(pids: &[(String, u32)]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Vec<String> =
            pids.iter().filter(|(_, pid)| pid_alive(*pid)).map(|(n, p)| format!("{n} ({p})")).collect();
        if alive.is_empty() || Instant::now() > deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn twenty_start_stop_cycles_leave_no_processes_or_directories() {
    let root = std::env::temp_dir().join(format!("sei-testenv-cycles-{}", std::process::id()));
    let mut options = Options::full();
    options.root_dir = Some(root.clone());
    options.keep_dir = false;
    for cycle in 0..20 {
        let cp = ControlPlane::start(options.clone()).await.unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        let pids = cp.pids();
        assert_eq!(pids.len(), 5, "etcd, apiserver, controller-manager, scheduler and kwok run");
        let dir = cp.dir().to_path_buf();
        cp.stop();
        let alive = wait_dead(&pids);
        assert!(alive.is_empty(), "cycle {cycle}: still running after stop: {alive:?}");
        assert!(!dir.exists(), "cycle {cycle}: {} left behind", dir.display());
    }
    let left: Vec<_> = std::fs::read_dir(&root).unwrap().collect();
    assert!(left.is_empty(), "run directories left: {left:?}");
    std::fs::remove_dir(&root).unwrap();
}

#[tokio::test]
async fn a_taken_api_port_is_a_one_line_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut options = Options::api_only();
    options.apiserver_port = Some(port);
    let err = ControlPlane::start(options).await.expect_err("the port is taken");
    assert!(matches!(err, Error::PortInUse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(text.contains(&format!("port {port}")) && text.contains("already in use"), "{text}");
}

/// Runs the build script with a modified environment and returns (success, stderr).
fn run_script(env: &[(&str, &str)], path: &str) -> (bool, String) {
    let out = Command::new("bash")
        .arg(sei_testenv::Binaries::script_path())
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).trim().to_string())
}

/// PATH entries of this process that do not hold a `go` binary.
fn path_without_go() -> String {
    std::env::var("PATH")
        .unwrap()
        .split(':')
        .filter(|d| !Path::new(d).join("go").exists())
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn a_missing_go_toolchain_is_a_one_line_error() {
    let cache = tempdir("nogo");
    let (ok, stderr) = run_script(&[("SEI_CACHE_DIR", cache.to_str().unwrap())], &path_without_go());
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Go toolchain is not on PATH") && stderr.contains("install Go"), "{stderr}");
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn a_failed_module_download_is_a_one_line_error() {
    let cache = tempdir("noproxy");
    let modcache = cache.join("gomod");
    let (ok, stderr) = run_script(
        &[
            ("SEI_CACHE_DIR", cache.to_str().unwrap()),
            ("GOMODCACHE", modcache.to_str().unwrap()),
            // Nothing listens on the discard port: every download is refused at once.
            ("GOPROXY", "http://127.0.0.1:9"),
            ("GOFLAGS", "-modcacherw"),
        ],
        &std::env::var("PATH").unwrap(),
    );
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("module download problem") && stderr.contains("GOPROXY"), "{stderr}");
    let _ = Command::new("chmod").args(["-R", "u+w"]).arg(&cache).status();
    std::fs::remove_dir_all(cache).unwrap();
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sei-testenv-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
