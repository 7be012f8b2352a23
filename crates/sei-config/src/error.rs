use std::path::PathBuf;

/// Errors of this crate. Each names the key or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown override key {0:?} (keys are dotted snake_case paths such as evm.http_port)")]
    UnknownKey(String),
    #[error("{key}: expected a {expected} value, got {value}")]
    WrongType { key: String, expected: &'static str, value: String },
    #[error("applying override {key:?}={value:?}: {reason}")]
    Override { key: String, value: String, reason: String },
    #[error("mode is required for a full (non-incremental) render")]
    ModeRequired,
    #[error(transparent)]
    InvalidMode(#[from] crate::mode::InvalidMode),
    #[error("incremental resolution needs the current configuration")]
    NoCurrentConfig,
    #[error("{file}: {key}: {reason}")]
    BadFileValue { file: PathBuf, key: String, reason: String },
    #[error("{file}: {reason}")]
    BadFile { file: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("migration: {0}")]
    Migration(String),
    #[error(
        "unknown chain {0:?}: not a well-known chain (pacific-1, atlantic-2, arctic-1); give a genesis file instead"
    )]
    UnknownChain(String),
    #[error("embedded genesis of {chain} is corrupt: SHA-256 {actual}, expected {expected}")]
    CorruptGenesis { chain: String, actual: String, expected: String },
}
