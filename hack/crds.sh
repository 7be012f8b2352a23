#!/usr/bin/env bash
# Fetches the CRD manifests of a kind the operator manages but does not own from the Go
# module that publishes them (through the Go module proxy) into the cache, for tests that
# install that kind on the local control plane. Prints the path of the manifest.
#
#   hack/crds.sh gateway-api           the HTTPRoute CRD (sigs.k8s.io/gateway-api)
#   hack/crds.sh prometheus-operator   the ServiceMonitor and PrometheusRule CRDs
#                                      (github.com/prometheus-operator/prometheus-operator)
#   hack/crds.sh NAME --check          exit 0 only if it is already cached
set -euo pipefail
CACHE_ROOT="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}"
die() { echo "crds: $*" >&2; exit 1; }
case "${1:-}" in
  gateway-api)
    MODULE=sigs.k8s.io/gateway-api VERSION="${SEI_GATEWAY_API_VERSION:-v1.6.3}"
    FILES=(config/crd/standard/gateway.networking.k8s.io_httproutes.yaml) ;;
  prometheus-operator)
    MODULE=github.com/prometheus-operator/prometheus-operator VERSION="${SEI_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
    FILES=(example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
           example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml) ;;
  *) die "usage: hack/crds.sh gateway-api|prometheus-operator [--check]" ;;
esac
NAME=$1
CRD="$CACHE_ROOT/crds/$NAME-$VERSION/crds.yaml"
if [ "${2:-}" = "--check" ]; then [ -s "$CRD" ]; exit $?; fi
if [ ! -s "$CRD" ]; then
  command -v go >/dev/null 2>&1 || die "go is not on PATH; install Go (https://go.dev/dl)"
  mkdir -p "$CACHE_ROOT/logs" "$(dirname "$CRD")"
  echo "crds: downloading $MODULE $VERSION (seconds; the module cache keeps it)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && go mod download -json "$MODULE@$VERSION") \
      >"$CACHE_ROOT/logs/$NAME.json" 2>"$CACHE_ROOT/logs/$NAME.log"; then
    die "downloading $MODULE failed: $(grep -o '"Error": .*' "$CACHE_ROOT/logs/$NAME.json" | cut -c1-200)"
  fi
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$CACHE_ROOT/logs/$NAME.json")
  : > "$CRD.tmp"
  for f in "${FILES[@]}"; do
    [ -s "$dir/$f" ] || die "no CRD at $dir/$f"
    { echo "---"; cat "$dir/$f"; } >> "$CRD.tmp"
  done
  mv "$CRD.tmp" "$CRD"
fi
echo "$CRD"
