//! The configuration files of a real node's programs. Everything a node writes lives
//! under its own directory, so several nodes (one per test binary) share a machine.

use std::path::Path;

use super::host::Host;

/// Where a node's programs keep their state.
pub(crate) struct Layout<'a> {
    pub dir: &'a Path,
    pub host: &'a Host,
    pub node_name: &'a str,
    pub kubeconfig: &'a Path,
    pub ca_cert: &'a Path,
}

impl Layout<'_> {
    pub fn containerd_socket(&self) -> std::path::PathBuf {
        self.dir.join("containerd/containerd.sock")
    }

    /// containerd (config version 2, as containerd 1.6 reads it): its own root, state and
    /// socket; the CRI plugin with the local pause image, runc through cgroupfs, and the
    /// node's CNI network.
    pub fn containerd(&self, pause_image: &str, runc: &Path, cni_bin: &Path) -> String {
        let d = self.dir.display();
        let sock = self.containerd_socket();
        let sock = sock.display();
        format!(
            r#"version = 2
root = "{d}/containerd/root"
state = "{d}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Pod sandboxes ask for oom_score_adj -998, which needs CAP_SYS_RESOURCE; machines that
  # run tests in a VM or container may lack it (this project's CI does). Clamped to
  # containerd's own value instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni}"
    conf_dir = "{d}/cni/net.d"
    max_conf_num = 1
"#,
            runc = runc.display(),
            cni = cni_bin.display(),
        )
    }

    /// A bridge network on the node's pod subnet; host-local keeps its leases under the
    /// node's directory (the network name is the same on every node).
    pub fn cni(&self) -> String {
        serde_json::json!({
            "cniVersion": "0.4.0",
            "name": "sei-real-node",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "sei-br0",
                    "isGateway": true,
                    "ipMasq": true,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": self.dir.join("cni/ipam").display().to_string(),
                        "ranges": [[{"subnet": self.host.pod_cidr(), "gateway": self.host.pod_gateway().to_string()}]],
                        "routes": [{"dst": "0.0.0.0/0"}]
                    }
                },
                {"type": "portmap", "capabilities": {"portMappings": true}}
            ]
        })
        .to_string()
    }

    /// kubelet: cgroupfs under the node's own cgroup, swap allowed, eviction and image
    /// garbage collection effectively off (a test machine's disk is not the node's to
    /// manage), anonymous access for the API server's logs/exec requests, and cluster DNS
    /// on the host end of the node's veth.
    pub fn kubelet(&self, taint: (&str, &str)) -> String {
        let d = self.dir.display();
        format!(
            r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {node_ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
  x509:
    clientCAFile: {ca}
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: unix://{sock}
cgroupDriver: cgroupfs
cgroupRoot: {cgroup}
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS:
- {dns}
resolvConf: {d}/resolv.conf
podLogsDir: {d}/pod-logs
staticPodPath: ""
serializeImagePulls: false
maxPods: 250
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 1Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
evictionPressureTransitionPeriod: 5s
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
shutdownGracePeriod: 0s
registerWithTaints:
- key: {taint_key}
  value: {taint_value}
  effect: NoSchedule
"#,
            node_ip = self.host.node_ip,
            ca = self.ca_cert.display(),
            sock = self.containerd_socket().display(),
            cgroup = self.host.cgroup,
            dns = self.host.host_ip,
            taint_key = taint.0,
            taint_value = taint.1,
        )
    }

    /// kube-proxy in iptables mode inside the node's namespace. The conntrack settings
    /// that are global to the machine are left alone (0).
    pub fn kube_proxy(&self) -> String {
        format!(
            r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {kubeconfig}
hostnameOverride: {node}
mode: iptables
clusterCIDR: {cidr}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  syncPeriod: 10s
  minSyncPeriod: 0s
"#,
            kubeconfig = self.kubeconfig.display(),
            node = self.node_name,
            cidr = self.host.pod_cidr(),
        )
    }

    /// CoreDNS on the host end of the veth: the cluster's names from the API server, and
    /// NXDOMAIN for everything else (nothing here may reach the internet).
    pub fn corefile(&self, kubeconfig: &Path) -> String {
        format!(
            "cluster.local:53 {{\n    bind {ip}\n    errors\n    kubernetes cluster.local {{\n        kubeconfig {kc}\n        pods insecure\n        ttl 5\n    }}\n}}\n.:53 {{\n    bind {ip}\n    template ANY ANY {{\n        rcode NXDOMAIN\n    }}\n}}\n",
            ip = self.host.host_ip,
            kc = kubeconfig.display(),
        )
    }

    pub fn resolv_conf(&self) -> String {
        format!("nameserver {}\n", self.host.host_ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_path_of_a_node_is_under_its_directory() {
        let host = Host::of(7);
        let dir = Path::new("/tmp/n7");
        let l = Layout {
            dir,
            host: &host,
            node_name: "real-node-7",
            kubeconfig: Path::new("/k/kubeconfig"),
            ca_cert: Path::new("/k/ca.crt"),
        };
        let containerd = l.containerd("pause:1", Path::new("/usr/bin/runc"), Path::new("/usr/lib/cni"));
        let parsed: toml_edit::DocumentMut = containerd.parse().unwrap();
        for key in ["root", "state"] {
            assert!(parsed[key].as_str().unwrap().starts_with("/tmp/n7/"), "{key}");
        }
        assert!(parsed["grpc"]["address"].as_str().unwrap().starts_with("/tmp/n7/"));
        let cni: serde_json::Value = serde_json::from_str(&l.cni()).unwrap();
        assert_eq!(cni["plugins"][0]["ipam"]["dataDir"], "/tmp/n7/cni/ipam");
        assert_eq!(cni["plugins"][0]["ipam"]["ranges"][0][0]["subnet"], "10.211.7.0/24");
        let kubelet: serde_json::Value = serde_norway::from_str(&l.kubelet(("k", "v"))).unwrap();
        assert_eq!(kubelet["cgroupRoot"], "/sei-node-7");
        assert_eq!(kubelet["clusterDNS"][0], "10.210.7.1");
        assert_eq!(kubelet["podLogsDir"], "/tmp/n7/pod-logs");
        let proxy: serde_json::Value = serde_norway::from_str(&l.kube_proxy()).unwrap();
        assert_eq!(proxy["hostnameOverride"], "real-node-7");
    }
}
