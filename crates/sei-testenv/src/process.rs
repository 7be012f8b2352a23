//! Child processes that never outlive the process that started them.
//!
//! Every child is forked from one long-lived thread with `PR_SET_PDEATHSIG`, so the kernel
//! kills it when this process dies for any reason (normal exit, panic, SIGKILL). Forking
//! from that thread matters: the death signal follows the forking *thread*, and test
//! threads end long before the process does.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::Error;

type SpawnRequest = (Command, Sender<io::Result<Child>>);

fn spawner() -> &'static Mutex<Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("sei-testenv-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the spawner thread");
        Mutex::new(tx)
    })
}

#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// A running child in its own process group, its output going to a log file.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Process, Error> {
        let out = File::options().create(true).append(true).open(log).map_err(|e| Error::io(log, e))?;
        let err = out.try_clone().map_err(|e| Error::io(log, e))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        die_with_parent(&mut cmd);
        let (tx, rx) = channel();
        spawner().lock().unwrap_or_else(|p| p.into_inner()).send((cmd, tx)).expect("spawner thread is alive");
        let child = rx
            .recv()
            .expect("spawner thread answers")
            .map_err(|e| Error::Setup(format!("cannot start {name}: {e}")))?;
        Ok(Process { name: name.to_string(), child, log: log.to_path_buf() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Waits until something listens on `port` on loopback; fails with the log's tail if
    /// the process exits or `timeout` passes first.
    pub fn wait_for_port(&mut self, port: u16, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if self.exited().is_some() || Instant::now() > deadline {
                return Err(Error::NotReady {
                    component: self.name.clone(),
                    reason: self.log_tail(5),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// SIGKILL to the process group, as a crash or an evicted pod would end it, then reap.
    pub fn kill(&mut self) {
        signal_group(self.child.id() as libc::pid_t, libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// SIGTERM to the process group, SIGKILL after `grace`, then reap.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let pgid = self.child.id() as libc::pid_t;
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                signal_group(pgid, libc::SIGKILL); // stragglers in the group
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(pgid, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

#[allow(unsafe_code)]
fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: plain syscall on a process group we created; errors (already gone) are fine.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Sends `signal` (e.g. `libc::SIGTERM`) to one process; false if it does not exist.
#[allow(unsafe_code)]
pub fn send_signal(pid: u32, signal: libc::c_int) -> bool {
    // SAFETY: plain syscall.
    unsafe { libc::kill(pid as libc::pid_t, signal) == 0 }
}

/// SIGKILL to a process group without waiting (for exit hooks).
pub fn kill_group_now(pgid: u32) {
    signal_group(pgid as libc::pid_t, libc::SIGKILL);
}

/// Whether a process with this PID exists.
#[allow(unsafe_code)]
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// The last `lines` lines of a text file (empty if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A loopback port nothing listens on now, and that this process has not handed out
/// before: tests running side by side in one process (each with its own control plane and
/// sidecars) otherwise get the same port from the kernel between its release here and
/// the child's bind, and one test then talks to another test's server.
pub fn free_port() -> Result<u16, Error> {
    static GIVEN: OnceLock<Mutex<std::collections::HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    for _ in 0..1000 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::Setup(format!("no free loopback port: {e}")))?;
        let port = listener.local_addr().map_err(|e| Error::Setup(e.to_string()))?.port();
        if given.lock().unwrap_or_else(|p| p.into_inner()).insert(port) {
            return Ok(port);
        }
    }
    Err(Error::Setup("no loopback port left that was not handed out already".into()))
}
