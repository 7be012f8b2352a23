#!/usr/bin/env bash
# Checks that the Rust toolchain this repository needs is usable, and says what to do if not.
set -euo pipefail
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
die() { echo "ensure-rust: $*" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust 1.89 or newer with rustup (https://rustup.rs) and run again"
version=$(rustc --version | awk '{print $2}')
IFS=. read -r major minor _ <<<"$version"
{ [ "$major" -gt 1 ] || [ "$minor" -ge 89 ]; } || die "Rust $version is too old; this workspace needs 1.89 or newer (rustup update)"
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component" >/dev/null 2>&1 || die "the $component component is missing; run: rustup component add $component"
  fi
done
