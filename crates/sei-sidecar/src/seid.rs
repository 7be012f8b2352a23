//! Finding and stopping the seid process (needs `shareProcessNamespace: true` in the pod).

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::tasks::{TaskContext, TaskError};

/// seid's pid: from `pid_file` when one is set (and the process is alive), else the
/// process found by name ([`find_by_name`]).
pub fn find(pid_file: Option<&std::path::Path>) -> Option<i32> {
    match pid_file {
        Some(path) => {
            let pid: i32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
            (pid > 0 && alive(pid)).then_some(pid)
        }
        None => find_by_name(),
    }
}

/// The first process whose argv[0] is `seid` or ends with `/seid`, other than the
/// sidecar's own children (a `seid export` it runs is not the node).
pub fn find_by_name() -> Option<i32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let me = std::process::id().to_string();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // Field 4 (after the parenthesised name, which may hold spaces) is the parent.
        let parent = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_string));
        if parent.as_deref() == Some(me.as_str()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        if argv0 == b"seid" || argv0.ends_with(b"/seid") {
            return Some(pid);
        }
    }
    None
}

/// Sends `signal` to the running seid, if there is one; returns its pid. Without a seid
/// there is nobody to tell: it reads the files when it starts.
pub fn notify(signal: Signal, pid_file: Option<&std::path::Path>) -> Result<Option<i32>, String> {
    let Some(pid) = find(pid_file) else { return Ok(None) };
    match kill(Pid::from_raw(pid), signal) {
        Ok(()) => Ok(Some(pid)),
        Err(nix::errno::Errno::ESRCH) => Ok(None),
        Err(e) => Err(format!("cannot send {signal} to seid (pid {pid}): {e}")),
    }
}

fn alive(pid: i32) -> bool {
    !matches!(kill(Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH))
}

/// SIGTERM, then SIGKILL after 30 s. A process that is already gone counts as stopped.
pub async fn terminate(ctx: &TaskContext) -> Result<(), TaskError> {
    let pid = find(ctx.settings.seid_pid_file.as_deref())
        .ok_or_else(|| ctx.err("SIGTERM_SEID", "no seid process found (is shareProcessNamespace on?)"))?;
    match kill(Pid::from_raw(pid), Signal::SIGTERM) {
        Ok(()) => {}
        Err(nix::errno::Errno::ESRCH) => return Ok(()), // already gone
        Err(e) => return Err(ctx.err("SIGTERM_SEID", format!("cannot signal seid (pid {pid}): {e}"))),
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        if Instant::now() > deadline {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
