#!/usr/bin/env bash
# Builds and caches the pieces of the local Kubernetes control plane used by the tests and
# the demo: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, and for the
# real node kubelet and kube-proxy, from the k8s.io/kubernetes Go module; and kwok. Nothing is downloaded at run time and nothing is
# committed: binaries live in a cache directory keyed by version.
#
#   hack/control-plane.sh           build what is missing, print the bin directory
#   hack/control-plane.sh --check   exit 0 only if everything is already cached
#
# Safe to interrupt: every build goes to a temp directory that is renamed into place.
set -euo pipefail

K8S_VERSION="${SEI_K8S_VERSION:-1.34.4}"
KWOK_VERSION="${SEI_KWOK_VERSION:-v0.8.0}"
CACHE_ROOT="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}"
BIN_DIR="$CACHE_ROOT/k8s-$K8S_VERSION/bin"
KWOK_DIR="$CACHE_ROOT/kwok-$KWOK_VERSION/bin"
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

die() { echo "control-plane: $*" >&2; exit 1; }

have_all() {
  for b in "${K8S_BINS[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
  [ -x "$KWOK_DIR/kwok" ] && [ -f "$KWOK_DIR/stages.yaml" ] && [ -f "$KWOK_DIR/storage-class.yaml" ]
}

if [ "${1:-}" = "--check" ]; then have_all; exit $?; fi
if have_all; then echo "$BIN_DIR:$KWOK_DIR"; exit 0; fi

command -v go >/dev/null 2>&1 || die "the Go toolchain is not on PATH; install Go 1.24 or newer (https://go.dev/doc/install) and run again"

LOG_DIR="$CACHE_ROOT/logs"
mkdir -p "$LOG_DIR"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0

run_logged() { # name, command...
  local name=$1; shift
  local log="$LOG_DIR/$name.log"
  if ! "$@" >"$log" 2>&1; then
    local hint
    hint=$(grep -m1 -iE 'dial tcp|no such host|connection refused|timeout|404 Not Found|410 Gone|no space left' "$log" || true)
    if [ -n "$hint" ]; then
      die "$name failed, probably a module download problem (check GOPROXY and the network): ${hint:0:200}. Full log: $log"
    fi
    die "$name failed; last line: $(tail -n1 "$log" | cut -c1-200). Full log: $log"
  fi
}

build_k8s() {
  local work="$CACHE_ROOT/k8s-$K8S_VERSION/src"
  local tmp_bin="$CACHE_ROOT/k8s-$K8S_VERSION/bin.tmp.$$"
  mkdir -p "$work"
  trap 'rm -rf "$tmp_bin"' EXIT
  cd "$work"
  [ -f go.mod ] || run_logged "go-mod-init" go mod init sei-k8s.local/control-plane

  # One main package per binary, each the upstream command's constructor.
  write_main() { # dir, import path, constructor call
    mkdir -p "cmd/$1"
    cat > "cmd/$1/main.go" <<GO
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	app "$2"
)

var _ = context.Background

func main() { os.Exit(cli.Run($3)) }
GO
  }
  write_main kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver/app 'app.NewAPIServerCommand()'
  write_main kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager/app 'app.NewControllerManagerCommand()'
  write_main kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler/app 'app.NewSchedulerCommand()'
  write_main kubelet k8s.io/kubernetes/cmd/kubelet/app 'app.NewKubeletCommand(context.Background())'
  write_main kube-proxy k8s.io/kubernetes/cmd/kube-proxy/app 'app.NewProxyCommand()'
  mkdir -p cmd/kubectl
  cat > cmd/kubectl/main.go <<'GO'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO

  # k8s.io/kubernetes requires its staging modules at v0.0.0; pin each to the matching
  # v0.x release, taking the list from the module's own go.mod.
  run_logged "download-kubernetes" go mod download -json "k8s.io/kubernetes@v$K8S_VERSION"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || die "could not find the go.mod of k8s.io/kubernetes@v$K8S_VERSION"
  local staging_version="v0.${K8S_VERSION#1.}"
  local replaces=()
  while read -r mod; do
    replaces+=("-replace=$mod=$mod@$staging_version")
  done < <(awk '/^replace/,/^\)/' "$gomod" | grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging' | awk '{print $1}' | sort -u)
  [ ${#replaces[@]} -gt 10 ] || die "unexpected go.mod layout of k8s.io/kubernetes@v$K8S_VERSION (found ${#replaces[@]} staging modules)"
  go mod edit "${replaces[@]}" "-require=k8s.io/kubernetes@v$K8S_VERSION"
  run_logged "go-mod-tidy" go mod tidy

  mkdir -p "$tmp_bin"
  [ -d "$BIN_DIR" ] && cp -p "$BIN_DIR"/* "$tmp_bin"/ 2>/dev/null || true
  for cmd in "${K8S_BINS[@]}"; do
    [ -x "$tmp_bin/$cmd" ] && continue
    echo "control-plane: building $cmd v$K8S_VERSION (cold builds take several minutes)" >&2
    run_logged "build-$cmd" go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#1.}" -o "$tmp_bin/$cmd" "./cmd/$cmd"
  done
  rm -rf "$BIN_DIR"
  mv "$tmp_bin" "$BIN_DIR"
  trap - EXIT
}

build_kwok() {
  local tmp_bin="$CACHE_ROOT/kwok-$KWOK_VERSION/bin.tmp.$$"
  mkdir -p "$tmp_bin"
  echo "control-plane: building kwok $KWOK_VERSION" >&2
  GOBIN="$tmp_bin" run_logged "build-kwok" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # kwok's own Stage manifests: nodes become Ready and keep a Lease, pods become Running
  # (Job pods Succeeded), and PVCs of StorageClass kwok-volume are provisioned and bound.
  local src
  src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  local stage="$src/kustomize/stage"
  [ -d "$stage" ] || die "kwok $KWOK_VERSION has no stage manifests at $stage"
  local f
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
           volume/fast/pv-bind.yaml volume/fast/pv-delete.yaml volume/fast/pvc-provision.yaml \
           volume/fast/pvc-delete.yaml; do
    [ -f "$stage/$f" ] || die "kwok $KWOK_VERSION lacks $f"
    echo "---"; cat "$stage/$f"
  done > "$tmp_bin/stages.yaml"
  cp "$stage/volume/fast/storage-class.yaml" "$tmp_bin/storage-class.yaml"
  rm -rf "$KWOK_DIR"
  mv "$tmp_bin" "$KWOK_DIR"
}

missing_k8s=0
for b in "${K8S_BINS[@]}"; do [ -x "$BIN_DIR/$b" ] || missing_k8s=1; done
[ $missing_k8s = 0 ] || (build_k8s)
[ -f "$KWOK_DIR/stages.yaml" ] || build_kwok
have_all || die "build finished but binaries are missing under $CACHE_ROOT"
echo "$BIN_DIR:$KWOK_DIR"
