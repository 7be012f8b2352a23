#!/usr/bin/env bash
# Makes this machine able to run the real node of the tests and the demo: a kubelet with
# containerd and runc, pods on a bridge CNI network, kube-proxy's iptables rules, and the
# static bash and busybox the stand-in seid image is made of. Installs what is missing from
# Debian's packages (as root, with apt-get), then prints one line per path the test
# environment reads.
#
#   hack/real-node.sh           install what is missing, print the paths
#   hack/real-node.sh --check   exit 0 only if everything is there; else say what is missing
#
# The real node needs Linux, root, network namespaces and cgroups; where any of that is
# missing it says why and exits 2, and the caller falls back to the fake (kwok) nodes.
set -euo pipefail

PACKAGES=(containerd runc containernetworking-plugins iptables conntrack bash-static busybox-static iproute2)
CNI_DIR=/usr/lib/cni

die() { echo "real-node: $*" >&2; exit "${2:-1}"; }

why_not() { # prints why this machine cannot run a real node, or nothing
  [ "$(uname -s)" = Linux ] || { echo "not Linux"; return; }
  [ "$(id -u)" = 0 ] || { echo "not root (the kubelet and containerd need it)"; return; }
  [ -d /sys/fs/cgroup ] || { echo "no cgroup file system at /sys/fs/cgroup"; return; }
  command -v apt-get >/dev/null 2>&1 || [ -x /usr/bin/containerd ] || { echo "no apt-get to install containerd with"; return; }
}

missing() {
  local p
  for p in containerd runc ctr iptables ip bash-static busybox conntrack; do
    command -v "$p" >/dev/null 2>&1 || echo "$p"
  done
  for p in bridge host-local loopback portmap; do
    [ -x "$CNI_DIR/$p" ] || echo "cni:$p"
  done
}

reason=$(why_not)
if [ "${1:-}" = "--check" ]; then
  [ -z "$reason" ] || { echo "real-node: this machine cannot run a real node: $reason" >&2; exit 2; }
  m=$(missing | tr '\n' ' ')
  [ -z "$m" ] || { echo "real-node: missing: $m(run hack/real-node.sh to install)" >&2; exit 1; }
  exit 0
fi
[ -z "$reason" ] || die "this machine cannot run a real node: $reason" 2

if [ -n "$(missing)" ]; then
  echo "real-node: installing ${PACKAGES[*]} from Debian's packages (first run only)" >&2
  log="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}/logs/real-node-apt.log"
  mkdir -p "$(dirname "$log")"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
    die "apt-get install failed; last line: $(tail -n1 "$log" | cut -c1-200). Full log: $log"
  fi
  m=$(missing | tr '\n' ' ')
  [ -z "$m" ] || die "still missing after the install: $m"
fi

echo "containerd=$(command -v containerd)"
echo "ctr=$(command -v ctr)"
echo "runc=$(command -v runc)"
echo "cni=$CNI_DIR"
echo "bash=$(command -v bash-static)"
echo "busybox=$(command -v busybox)"
