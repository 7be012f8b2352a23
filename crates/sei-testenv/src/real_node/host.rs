//! The host a real node stands on: a network namespace of its own with a veth to the
//! machine's, its cgroup subtree, and a slot number that keeps parallel test binaries'
//! nodes apart (addresses, names). Everything here is idempotent, so a slot left behind
//! by a killed run is cleaned before it is used again.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

const SLOT_DIR: &str = "/run/sei-testenv/real-nodes";
const SLOTS: u8 = 200;

/// One claimed slot: held (by an advisory lock) for as long as this value lives, and
/// released by the kernel if the process dies.
#[derive(Debug)]
pub(crate) struct Slot {
    pub k: u8,
    _lock: File,
}

#[allow(unsafe_code)]
fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor we own.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// The first free slot.
pub(crate) fn claim_slot() -> Result<Slot, Error> {
    std::fs::create_dir_all(SLOT_DIR).map_err(|e| Error::io(Path::new(SLOT_DIR), e))?;
    for k in 1..=SLOTS {
        let path = Path::new(SLOT_DIR).join(format!("{k}.lock"));
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        if try_lock(&file) {
            return Ok(Slot { k, _lock: file });
        }
    }
    Err(Error::Setup(format!("all {SLOTS} real-node slots under {SLOT_DIR} are taken")))
}

/// Names and addresses of slot `k`.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub k: u8,
    /// `ip netns` name.
    pub netns: String,
    /// The veth end in the machine's namespace.
    pub host_if: String,
    pub host_ip: Ipv4Addr,
    /// The node's address (its InternalIP), inside its namespace.
    pub node_ip: Ipv4Addr,
    /// The pods' subnet (a /24), routed from the machine through the node.
    pub pod_net: Ipv4Addr,
    /// The node's cgroup under every hierarchy (kubelet's `cgroupRoot`).
    pub cgroup: String,
}

impl Host {
    pub fn of(k: u8) -> Host {
        Host {
            k,
            netns: format!("sei-node-{k}"),
            host_if: format!("sei-h{k}"),
            host_ip: Ipv4Addr::new(10, 210, k, 1),
            node_ip: Ipv4Addr::new(10, 210, k, 2),
            pod_net: Ipv4Addr::new(10, 211, k, 0),
            cgroup: format!("/sei-node-{k}"),
        }
    }

    pub fn pod_cidr(&self) -> String {
        format!("{}/24", self.pod_net)
    }

    pub fn pod_gateway(&self) -> Ipv4Addr {
        let [a, b, c, _] = self.pod_net.octets();
        Ipv4Addr::new(a, b, c, 1)
    }

    pub fn netns_path(&self) -> PathBuf {
        Path::new("/var/run/netns").join(&self.netns)
    }

    /// Creates the namespace, the veth pair and the routes; forwarding and bridge
    /// netfilter on inside (kube-proxy's Services need both).
    pub fn create(&self) -> Result<(), Error> {
        let node_if = format!("sei-n{}", self.k);
        let ns = self.netns.as_str();
        let host_cidr = format!("{}/24", self.host_ip);
        let node_cidr = format!("{}/24", self.node_ip);
        let host_ip = self.host_ip.to_string();
        let node_ip = self.node_ip.to_string();
        let pod_cidr = self.pod_cidr();
        let steps: [&[&str]; 11] = [
            &["netns", "add", ns],
            &["link", "add", &self.host_if, "type", "veth", "peer", "name", &node_if],
            &["link", "set", &node_if, "netns", ns],
            &["addr", "add", &host_cidr, "dev", &self.host_if],
            &["link", "set", &self.host_if, "up"],
            &["-n", ns, "link", "set", "lo", "up"],
            &["-n", ns, "addr", "add", &node_cidr, "dev", &node_if],
            &["-n", ns, "link", "set", &node_if, "up"],
            &["-n", ns, "route", "add", "default", "via", &host_ip],
            &["route", "replace", &pod_cidr, "via", &node_ip],
            &["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
        ];
        for args in steps {
            run("ip", args)?;
        }
        // Pods on one bridge reach each other's Services only if bridged traffic passes
        // the node's netfilter (the reply is un-NATed there).
        run("ip", &["netns", "exec", ns, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"])?;
        Ok(())
    }

    /// Removes the namespace (which takes the veth pair and its route with it).
    pub fn delete_network(&self) {
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).output();
        let _ = Command::new("ip").args(["link", "del", &self.host_if]).output();
        let _ = Command::new("ip").args(["route", "del", &self.pod_cidr()]).output();
    }

    /// The node's directory in every cgroup hierarchy.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        cgroup_mounts().into_iter().map(|m| m.join(self.cgroup.trim_start_matches('/'))).collect()
    }

    /// Creates the node's cgroup in every hierarchy (kubelet requires its root to exist);
    /// a v1 cpuset starts empty, so it gets its parent's CPUs and memory nodes.
    pub fn create_cgroups(&self) -> Result<(), Error> {
        for dir in self.cgroup_dirs() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let parent = dir.parent().expect("a cgroup dir has a parent").join(file);
                if let Ok(value) = std::fs::read_to_string(&parent) {
                    let target = dir.join(file);
                    std::fs::write(&target, value.trim()).map_err(|e| Error::io(&target, e))?;
                }
            }
        }
        Ok(())
    }

    /// SIGKILL to every process in the node's cgroups (its pods), then the cgroups go.
    pub fn kill_and_remove_cgroups(&self) {
        for _ in 0..50 {
            let mut any = false;
            for dir in self.cgroup_dirs() {
                for pid in cgroup_pids(&dir) {
                    any = true;
                    crate::process::send_signal(pid, libc::SIGKILL);
                }
            }
            if !any {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        for dir in self.cgroup_dirs() {
            remove_cgroup_tree(&dir);
        }
    }

    /// A TCP listener bound inside the node's namespace (a socket keeps the namespace it
    /// was made in).
    pub fn listen(&self, addr: SocketAddr) -> Result<TcpListener, Error> {
        let path = self.netns_path();
        let ns = File::open(&path).map_err(|e| Error::io(&path, e))?;
        std::thread::spawn(move || -> io::Result<TcpListener> {
            enter(&ns)?;
            TcpListener::bind(addr)
        })
        .join()
        .map_err(|_| Error::Setup("the namespace listener thread panicked".into()))?
        .map_err(|e| Error::Setup(format!("binding {addr} inside the node's namespace: {e}")))
    }

    /// Makes `cmd` start inside the node's namespace (its network only: it stays in the
    /// machine's mount namespace, so containerd sees the kubelet's volume mounts).
    pub fn inside(&self, cmd: &mut Command) -> Result<(), Error> {
        let path = self.netns_path();
        let ns = File::open(&path).map_err(|e| Error::io(&path, e))?;
        #[allow(unsafe_code)]
        // SAFETY: setns is async-signal-safe; the file stays open in the closure.
        unsafe {
            cmd.pre_exec(move || enter(&ns));
        }
        Ok(())
    }
}

#[allow(unsafe_code)]
fn enter(ns: &File) -> io::Result<()> {
    // SAFETY: setns on a namespace file we opened; affects only the calling thread.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs a setup command, failing with what it printed.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let out =
        Command::new(program).args(args).output().map_err(|e| Error::Setup(format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Setup(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Mount points of the cgroup hierarchies (v1 controllers, named ones and the v2 tree).
fn cgroup_mounts() -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            let point = left.split(' ').nth(4)?;
            (fstype == "cgroup" || fstype == "cgroup2").then(|| PathBuf::from(point))
        })
        .collect()
}

fn cgroup_pids(dir: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(cgroup_pids(&e.path()));
        }
    }
    out
}

fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Unmounts everything mounted under `dir` (deepest first), lazily: what a killed kubelet
/// or containerd left there (secret tmpfs, container root file systems).
#[allow(unsafe_code)]
pub(crate) fn unmount_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(unescape_mount_path))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else { continue };
        // SAFETY: umount2 with a valid C string.
        unsafe {
            libc::umount2(c.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape_mount_path(s: &str) -> PathBuf {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(v) = s.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}

/// PIDs whose command line mentions `needle` (containerd's shims daemonize, so they are
/// found by the socket path they were given rather than as children).
pub(crate) fn pids_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(needle))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_have_their_own_addresses_and_names() {
        let (a, b) = (Host::of(1), Host::of(2));
        assert_eq!((a.host_ip.to_string(), a.node_ip.to_string()), ("10.210.1.1".into(), "10.210.1.2".into()));
        assert_eq!(b.pod_cidr(), "10.211.2.0/24");
        assert_eq!(b.pod_gateway().to_string(), "10.211.2.1");
        assert_ne!(a.netns, b.netns);
        assert_ne!(a.cgroup, b.cgroup);
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape_mount_path("/a\\040b/c"), PathBuf::from("/a b/c"));
        assert_eq!(unescape_mount_path("/plain"), PathBuf::from("/plain"));
    }
}
