//! How the test harness, the benchmarks and `sei-devcluster` start a built `sei-operator`
//! against the simulated cluster: the simulated platform settings, the pod runner's
//! sidecar addresses, and endpoints on free ports.

use std::path::Path;
use std::process::Command;

/// `sei-operator` (at `bin`) for the cluster of `kubeconfig`, reaching sidecars through
/// the pod runner's `sidecar_addresses` file. Leader election stays on, as in production.
pub fn operator_command(bin: &Path, kubeconfig: &Path, sidecar_addresses: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:0"])
        .env("KUBECONFIG", kubeconfig)
        .env("SEI_SIDECAR_ADDRESSES", sidecar_addresses)
        .envs(crate::SIMULATED_PLATFORM.iter().copied());
    cmd
}
