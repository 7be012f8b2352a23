#!/usr/bin/env bash
# Installs and caches moto's server, an EC2-compatible API on 127.0.0.1, used by the tests
# of ec2Tags peer discovery (never an in-process fake), with boto3 to create the instances
# a test needs. Prints the virtualenv's python; run the server as `PYTHON -m moto.server`.
#
#   hack/ec2-server.sh           install if missing, print the python path
#   hack/ec2-server.sh --check   exit 0 only if it is already cached
set -euo pipefail
VERSION="${SEI_MOTO_VERSION:-5.2.5}"
CACHE_ROOT="${SEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s}"
ROOT="$CACHE_ROOT/moto-$VERSION"
PYTHON="$ROOT/bin/python"
DONE="$ROOT/.installed"
die() { echo "ec2-server: $*" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then [ -f "$DONE" ]; exit $?; fi
if [ ! -f "$DONE" ]; then
  command -v python3 >/dev/null 2>&1 || die "python3 is not on PATH (apt-get install python3 python3-venv)"
  mkdir -p "$CACHE_ROOT/logs"
  log="$CACHE_ROOT/logs/moto.log"
  rm -rf "$ROOT"
  echo "ec2-server: installing moto $VERSION into $ROOT (about 30 s)" >&2
  # The virtualenv is made in place (its scripts name their own path); DONE marks success.
  python3 -m venv "$ROOT" >"$log" 2>&1 || die "python3 -m venv failed (apt-get install python3-venv); see $log"
  if ! "$ROOT/bin/pip" install --disable-pip-version-check "moto[server,ec2]==$VERSION" >>"$log" 2>&1; then
    rm -rf "$ROOT"
    die "pip install moto failed; last line: $(tail -n1 "$log" | cut -c1-200). Full log: $log"
  fi
  touch "$DONE"
fi
echo "$PYTHON"
