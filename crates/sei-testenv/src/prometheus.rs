//! A real Prometheus (built from its Go module by `hack/tools.sh prometheus`) on a free
//! loopback port, with the given configuration; stopped when its [`Process`] drops.

use std::path::Path;
use std::time::Duration;

use crate::Error;
use crate::process::Process;

/// Starts Prometheus with `config` (the contents of prometheus.yml, as JSON) in `dir`;
/// returns the process and its base URL.
pub fn start_prometheus(dir: &Path, config: &serde_json::Value) -> Result<(Process, String), Error> {
    let file = dir.join("prometheus.yml");
    let text = serde_json::to_string(config).map_err(|e| Error::Setup(e.to_string()))?;
    // JSON is YAML.
    std::fs::write(&file, text).map_err(|e| Error::io(&file, e))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::Setup(e.to_string()))?
        .port();
    let mut cmd = std::process::Command::new(crate::tool("prometheus")?);
    cmd.arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut process = Process::spawn("prometheus", cmd, &dir.join("prometheus.log"))?;
    process.wait_for_port(port, Duration::from_secs(60))?;
    Ok((process, format!("http://127.0.0.1:{port}")))
}
