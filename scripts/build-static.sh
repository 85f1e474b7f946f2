#!/usr/bin/env bash
# Build the release binary fully static (glibc with +crt-static; TLS roots compiled in, DNS in
# process) for this machine's architecture and stage it where the Dockerfile COPYs it from:
#   target/image/<amd64|arm64>/pypi-oidc-publish
# Prints the staged path on the last line. The release workflow runs the same command per arch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case "$(uname -m)" in
  x86_64) triple=x86_64-unknown-linux-gnu; arch=amd64 ;;
  aarch64) triple=aarch64-unknown-linux-gnu; arch=arm64 ;;
  *) echo "build-static: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --quiet --target "$triple" >&2
binary="target/$triple/release/pypi-oidc-publish"
# A static binary has no program interpreter (PT_INTERP): nothing for a scratch image to miss.
if LC_ALL=C readelf --program-headers "$binary" | grep -q INTERP; then
  echo "build-static: $binary is dynamically linked" >&2
  exit 1
fi
staged="target/image/$arch/pypi-oidc-publish"
mkdir -p "$(dirname "$staged")"
cp "$binary" "$staged"
echo "build-static: $(stat -c %s "$staged") bytes, static, staged for the image" >&2
echo "$root/$staged"
