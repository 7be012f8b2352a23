//! Startup settings from the environment (and `seictl serve` flags).

use std::path::PathBuf;
use std::time::Duration;

use sei_config::duration::GoDuration;

/// Everything the sidecar reads at start.
#[derive(Clone, Debug)]
pub struct Settings {
    pub home: PathBuf,
    pub port: u16,
    /// Address to bind (all interfaces by default: the operator reaches the pod by DNS).
    pub bind: String,
    pub chain_id: String,
    pub genesis_bucket: String,
    pub genesis_region: String,
    pub snapshot_bucket: String,
    pub snapshot_region: String,
    pub snapshot_upload_interval: Duration,
    /// The bearer token mutating requests must carry; `None` only with `--insecure-no-auth`.
    pub token: Option<String>,
    /// The local seid RPC.
    pub node_rpc: String,
    /// RPC port of peers (26657; only tests and unusual networks change it).
    pub peer_rpc_port: u16,
    /// Finished task records kept; older ones are pruned.
    pub history: usize,
    /// What `config-reload` sends a running seid so that it re-reads its config
    /// (`SEI_RELOAD_SIGNAL`, default SIGHUP); `None` when set to `none`.
    pub reload_signal: Option<nix::sys::signal::Signal>,
    /// A file holding seid's pid (`SEI_SEID_PID_FILE`), for hosts where seid cannot be
    /// found by name because other pods' processes are visible too (the local simulated
    /// cluster). Unset: seid is the process named `seid` in the pod.
    pub seid_pid_file: Option<PathBuf>,
}

/// `SIGHUP` unless set: a name with or without `SIG` (`HUP`, `SIGUSR1`), or `none`.
fn reload_signal(value: Option<String>) -> Result<Option<nix::sys::signal::Signal>, SettingsError> {
    let Some(v) = value.map(|v| v.trim().to_uppercase()).filter(|v| !v.is_empty()) else {
        return Ok(Some(nix::sys::signal::Signal::SIGHUP));
    };
    if v == "NONE" {
        return Ok(None);
    }
    let name = if v.starts_with("SIG") { v.clone() } else { format!("SIG{v}") };
    name.parse().map(Some).map_err(|_| SettingsError::Invalid {
        var: "SEI_RELOAD_SIGNAL",
        reason: format!("{v:?} is not a signal name (e.g. HUP, USR1, or none)"),
    })
}

/// A setting that is missing or wrong, named.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is required but empty or unset")]
    Missing(&'static str),
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error(
        "SEI_SIDECAR_TOKEN_FILE is not set: refusing to serve an unauthenticated task API (mount the token Secret and set it, or pass --insecure-no-auth)"
    )]
    NoToken,
}

impl Settings {
    /// Reads the environment through `get`. `home` and `port` come from flags when given.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
        port: Option<u16>,
        insecure_no_auth: bool,
    ) -> Result<Settings, SettingsError> {
        let required = |var: &'static str| get(var).filter(|v| !v.is_empty()).ok_or(SettingsError::Missing(var));
        let chain_id = required("SEI_CHAIN_ID")?;
        let genesis_bucket = required("SEI_GENESIS_BUCKET")?;
        let genesis_region = required("SEI_GENESIS_REGION")?;
        let snapshot_bucket = required("SEI_SNAPSHOT_BUCKET")?;
        let snapshot_region = required("SEI_SNAPSHOT_REGION")?;
        let snapshot_upload_interval = match get("SEI_SNAPSHOT_UPLOAD_INTERVAL").filter(|v| !v.is_empty()) {
            None => Duration::from_secs(168 * 3600),
            Some(text) => {
                let d = GoDuration::parse(&text)
                    .map_err(|reason| SettingsError::Invalid { var: "SEI_SNAPSHOT_UPLOAD_INTERVAL", reason })?;
                if d.0 <= 0 { Duration::from_secs(168 * 3600) } else { Duration::from_nanos(d.0 as u64) }
            }
        };
        let port = match port {
            Some(p) => p,
            None => match get("SEI_SIDECAR_PORT").filter(|v| !v.is_empty()) {
                None => sei_config::PORT_SIDECAR,
                Some(p) => p.parse().map_err(|_| SettingsError::Invalid {
                    var: "SEI_SIDECAR_PORT",
                    reason: format!("{p:?} is not a port number"),
                })?,
            },
        };
        let token = match get("SEI_SIDECAR_TOKEN_FILE").filter(|v| !v.is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| SettingsError::Invalid {
                    var: "SEI_SIDECAR_TOKEN_FILE",
                    reason: format!("cannot read {path}: {e}"),
                })?;
                let token = text.trim().to_string();
                if token.len() < 16 {
                    return Err(SettingsError::Invalid {
                        var: "SEI_SIDECAR_TOKEN_FILE",
                        reason: format!("{path} holds a token shorter than 16 characters"),
                    });
                }
                Some(token)
            }
            None if insecure_no_auth => None,
            None => return Err(SettingsError::NoToken),
        };
        let home = home
            .or_else(|| get("SEI_HOME").filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/sei"));
        Ok(Settings {
            home,
            port,
            bind: get("SEI_SIDECAR_BIND").filter(|v| !v.is_empty()).unwrap_or_else(|| "0.0.0.0".into()),
            chain_id,
            genesis_bucket,
            genesis_region,
            snapshot_bucket,
            snapshot_region,
            snapshot_upload_interval,
            token,
            node_rpc: get("SEI_NODE_RPC").filter(|v| !v.is_empty()).unwrap_or_else(|| "http://localhost:26657".into()),
            peer_rpc_port: match get("SEI_PEER_RPC_PORT").filter(|v| !v.is_empty()) {
                None => sei_config::PORT_RPC,
                Some(p) => p.parse().map_err(|_| SettingsError::Invalid {
                    var: "SEI_PEER_RPC_PORT",
                    reason: format!("{p:?} is not a port number"),
                })?,
            },
            history: 1000,
            reload_signal: reload_signal(get("SEI_RELOAD_SIGNAL"))?,
            seid_pid_file: get("SEI_SEID_PID_FILE").filter(|v| !v.is_empty()).map(PathBuf::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;

    use super::*;

    #[test]
    fn the_reload_signal_is_hup_unless_named_or_none() {
        assert_eq!(reload_signal(None).unwrap(), Some(Signal::SIGHUP));
        assert_eq!(reload_signal(Some("usr1".into())).unwrap(), Some(Signal::SIGUSR1));
        assert_eq!(reload_signal(Some("SIGTERM".into())).unwrap(), Some(Signal::SIGTERM));
        assert_eq!(reload_signal(Some("none".into())).unwrap(), None);
        let e = reload_signal(Some("HUPP".into())).unwrap_err().to_string();
        assert!(e.contains("SEI_RELOAD_SIGNAL") && e.contains("not a signal name"), "{e}");
    }
}
