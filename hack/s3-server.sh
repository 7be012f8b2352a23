#!/usr/bin/env bash
# Builds and caches s3s-fs, a real S3-compatible server backed by a directory, used by the
# tests of S3 tasks (never a mock). Prints the path of the binary.
#
#   hack/s3-server.sh           build if missing, print the binary path
#   hack/s3-server.sh --check   exit 0 only if it is already cached
set -euo pipefail
VERSION="${SEI_S3S_VERSION:-0.14.1}"
CACHE_ROOT="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}"
ROOT="$CACHE_ROOT/s3s-fs-$VERSION"
BIN="$ROOT/bin/s3s-fs"
die() { echo "s3-server: $*" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then [ -x "$BIN" ]; exit $?; fi
if [ ! -x "$BIN" ]; then
  command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust with rustup"
  mkdir -p "$CACHE_ROOT/logs"
  tmp="$ROOT.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  echo "s3-server: building s3s-fs $VERSION (about 3 minutes on a cold machine)" >&2
  if ! cargo install s3s-fs --version "$VERSION" --features binary --locked --root "$tmp" \
      >"$CACHE_ROOT/logs/s3s-fs.log" 2>&1; then
    die "building s3s-fs failed; last line: $(tail -n1 "$CACHE_ROOT/logs/s3s-fs.log" | cut -c1-200). Full log: $CACHE_ROOT/logs/s3s-fs.log"
  fi
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT"
  trap - EXIT
fi
echo "$BIN"
