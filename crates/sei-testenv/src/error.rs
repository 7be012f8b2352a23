use std::path::{Path, PathBuf};

/// Why the control plane could not be started or used. Every variant renders as one line
/// that says what went wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The binaries are missing and could not be built.
    #[error("{0}")]
    Binaries(String),
    /// A port the control plane needs is taken.
    #[error(
        "port {port} needed by {component} is already in use; stop whatever listens there (`ss -ltnp 'sport = :{port}'`) or pick another port"
    )]
    PortInUse { component: String, port: u16 },
    /// A component exited or never became ready.
    #[error("{component} did not become ready: {reason} (log: {})", log.display())]
    NotReady { component: String, reason: String, log: PathBuf },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// Anything else while setting up.
    #[error("{0}")]
    Setup(String),
    /// The Kubernetes API refused a request.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }
}
