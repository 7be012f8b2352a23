#!/usr/bin/env bash
# Fetches the Gateway API's CRD manifests from their Go module (sigs.k8s.io/gateway-api,
# through the Go module proxy) into the cache, for tests that need the HTTPRoute kind on
# the local control plane. Prints the path of the HTTPRoute CRD manifest.
#
#   hack/gateway-crds.sh           fetch if missing, print the path
#   hack/gateway-crds.sh --check   exit 0 only if it is already cached
set -euo pipefail
VERSION="${SEI_GATEWAY_API_VERSION:-v1.6.3}"
CACHE_ROOT="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}"
ROOT="$CACHE_ROOT/gateway-api-$VERSION"
CRD="$ROOT/gateway.networking.k8s.io_httproutes.yaml"
die() { echo "gateway-crds: $*" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then [ -s "$CRD" ]; exit $?; fi
if [ ! -s "$CRD" ]; then
  command -v go >/dev/null 2>&1 || die "go is not on PATH; install Go (https://go.dev/dl)"
  mkdir -p "$CACHE_ROOT/logs" "$ROOT"
  echo "gateway-crds: downloading sigs.k8s.io/gateway-api $VERSION (a few seconds)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$VERSION") \
      >"$CACHE_ROOT/logs/gateway-api.json" 2>"$CACHE_ROOT/logs/gateway-api.log"; then
    die "downloading the module failed: $(tail -n1 "$CACHE_ROOT/logs/gateway-api.log" | cut -c1-200)"
  fi
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$CACHE_ROOT/logs/gateway-api.json")
  src="$dir/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"
  [ -s "$src" ] || die "no HTTPRoute CRD at $src"
  cp "$src" "$CRD.tmp"
  mv "$CRD.tmp" "$CRD"
fi
echo "$CRD"
