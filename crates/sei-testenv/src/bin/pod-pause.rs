//! `pod-pause`: the pause container of the real node's pods (the sandbox's first process).
//! It holds the pod's namespaces, reaps the zombies of a shared process namespace (the
//! operator's pods share one), and exits on SIGTERM or SIGINT.

use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut child = signal(SignalKind::child())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = child.recv() => reap(),
        }
    }
}

/// Waits for every child that has exited.
#[allow(unsafe_code)]
fn reap() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid pointer to a local; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
    }
}
