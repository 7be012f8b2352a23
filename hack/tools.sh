#!/usr/bin/env bash
# Builds a command-line tool the tests need from its Go module (through the Go module
# proxy) once into the cache, like the control-plane binaries, and prints its path.
#
#   hack/tools.sh helm         helm.sh/helm/v4 (chart lint and template)
#   hack/tools.sh promtool     github.com/prometheus/prometheus (rule checks and unit tests)
#   hack/tools.sh prometheus   github.com/prometheus/prometheus (a real server for tests)
#   hack/tools.sh coredns      github.com/coredns/coredns (cluster DNS of the real node)
#   hack/tools.sh crictl       sigs.k8s.io/cri-tools (inspecting the real node's containers)
#   hack/tools.sh NAME --check exit 0 only if it is already cached
#
# Safe to interrupt: each build goes to a temp directory that is renamed into place.
set -euo pipefail
CACHE_ROOT="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}"
die() { echo "tools: $*" >&2; exit 1; }
case "${1:-}" in
  helm) PKG=helm.sh/helm/v4/cmd/helm VERSION="${SEI_HELM_VERSION:-v4.3.2}"
    LDFLAGS="-X helm.sh/helm/v4/internal/version.version=$VERSION" ;;
  promtool|prometheus) PKG=github.com/prometheus/prometheus/cmd/$1 VERSION="${SEI_PROMETHEUS_VERSION:-v0.316.0}"
    LDFLAGS="" ;;
  coredns) PKG=github.com/coredns/coredns VERSION="${SEI_COREDNS_VERSION:-v1.14.7}" LDFLAGS="" ;;
  crictl) PKG=sigs.k8s.io/cri-tools/cmd/crictl VERSION="${SEI_CRICTL_VERSION:-v1.34.0}"
    LDFLAGS="-X sigs.k8s.io/cri-tools/pkg/version.Version=$VERSION" ;;
  *) die "usage: hack/tools.sh helm|promtool|prometheus|coredns|crictl [--check]" ;;
esac
NAME=$1
BIN="$CACHE_ROOT/tools/$NAME-$VERSION/$NAME"
if [ "${2:-}" = "--check" ]; then [ -x "$BIN" ]; exit $?; fi
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 || die "go is not on PATH; install Go (https://go.dev/dl)"
  mkdir -p "$CACHE_ROOT/logs"
  log="$CACHE_ROOT/logs/tool-$NAME.log"
  tmp="$(dirname "$BIN").tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  echo "tools: building $NAME from $PKG@$VERSION (a few minutes the first time; cached after)" >&2
  if ! GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w $LDFLAGS" "$PKG@$VERSION" >"$log" 2>&1; then
    die "building $NAME failed; last line: $(tail -n1 "$log" | cut -c1-200). Full log: $log"
  fi
  rm -rf "$(dirname "$BIN")"
  mv "$tmp" "$(dirname "$BIN")"
  trap - EXIT
fi
echo "$BIN"
