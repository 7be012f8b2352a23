//! Fault injection: stopping etcd or kube-apiserver and starting it again as it was, to
//! test how clients and controllers live through a control-plane outage.

use std::io::Write;
use std::time::Duration;

use super::{ControlPlane, check_port};
use crate::Error;
use crate::process::Process;

/// A component the control plane can stop and start again to simulate an outage (see
/// [`ControlPlane::stop_component`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// etcd: same data directory and port after a restart; the API server stays up,
    /// answers errors meanwhile and reconnects by itself.
    Etcd,
    /// kube-apiserver: same port, certificates, flags and audit log after a restart;
    /// clients reconnect.
    ApiServer,
}

impl Component {
    /// The component's process and log name (`etcd`, `kube-apiserver`).
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::ApiServer => "kube-apiserver",
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ControlPlane {
    /// Whether `component` is running (false between [`stop_component`] and
    /// [`start_component`], or after it exited by itself).
    ///
    /// [`stop_component`]: ControlPlane::stop_component
    /// [`start_component`]: ControlPlane::start_component
    pub fn is_running(&self, component: Component) -> bool {
        self.lock().iter_mut().find(|s| s.name == component.name()).is_some_and(|s| s.running())
    }

    /// Stops `component` the way a crash or a lost machine would: SIGKILL, no goodbye.
    /// Clients' connections break; the other components keep running. Stopping a stopped
    /// component does nothing.
    pub fn stop_component(&self, component: Component) -> Result<(), Error> {
        let mut slots = self.lock();
        let slot = slots
            .iter_mut()
            .find(|s| s.name == component.name())
            .ok_or_else(|| Error::Setup(format!("{component} is not part of this control plane")))?;
        if let Some(mut process) = slot.process.take() {
            process.kill();
            note(process.log_path(), "stopped with SIGKILL by ControlPlane::stop_component");
        }
        Ok(())
    }

    /// Starts `component` again with the same binary, flags, port, certificates and data
    /// (etcd's data directory, the API server's audit log, which it appends to), and
    /// returns once the API server answers `/readyz` with OK again: after an etcd restart,
    /// once the running API server has reconnected to it. Starting a running component
    /// only waits for that.
    ///
    /// The API server needs etcd: starting it while etcd is stopped is an error.
    pub async fn start_component(&self, component: Component) -> Result<(), Error> {
        if component == Component::ApiServer && !self.is_running(Component::Etcd) {
            return Err(Error::Setup(format!(
                "{component} cannot start while etcd is stopped: start Component::Etcd first"
            )));
        }
        {
            let mut slots = self.lock();
            let slot = slots
                .iter_mut()
                .find(|s| s.name == component.name())
                .ok_or_else(|| Error::Setup(format!("{component} is not part of this control plane")))?;
            if !slot.running() {
                if let Some(port) = slot.port {
                    check_port(&slot.name, port)?;
                }
                let log = self.log_path(&slot.name);
                note(&log, "started again by ControlPlane::start_component");
                slot.process = Some(Process::spawn(&slot.name, slot.command(), &log)?);
            }
        }
        match component {
            Component::Etcd => {
                self.wait_etcd().await?;
                if self.is_running(Component::ApiServer) {
                    self.wait_apiserver().await?;
                }
                Ok(())
            }
            Component::ApiServer => self.wait_apiserver().await,
        }
    }

    /// An outage of `outage`: [`stop_component`](ControlPlane::stop_component), a pause,
    /// then [`start_component`](ControlPlane::start_component). Takes `&self`, so it can
    /// run concurrently with the code under test (e.g. in `tokio::join!`).
    pub async fn pause_for(&self, component: Component, outage: Duration) -> Result<(), Error> {
        self.stop_component(component)?;
        tokio::time::sleep(outage).await;
        self.start_component(component).await
    }
}

/// A line in a component's log, so that whoever reads it sees where the outage was.
fn note(log: &std::path::Path, what: &str) {
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    if let Ok(mut f) = std::fs::File::options().append(true).open(log) {
        let _ = writeln!(f, "=== sei-testenv: {what} (unix time {:.3}) ===", at.as_secs_f64());
    }
}
