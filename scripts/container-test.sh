#!/usr/bin/env bash
# Build the static binary, then build the image with podman and run it like the GitHub runner
# runs a Docker action, against a local pypiserver (tests/container.rs). Needs root and podman
# + runc (`apt-get install podman runc`); without podman the test falls back to a chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test.sh --setup
export PYPI_OIDC_PUBLISH_STATIC_BIN="$(scripts/build-static.sh)"
export PYPI_OIDC_PUBLISH_TEST_VENV="$PWD/target/test-env/venv"
cargo test --locked --test container -- --nocapture
