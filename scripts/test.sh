#!/usr/bin/env bash
# The test command (README): sets up the test peers it needs, then runs every test.
#   scripts/test.sh            # setup + cargo test
#   scripts/test.sh --setup    # only the setup (virtualenv with pypiserver, node tools, corpus)
# Everything is installed below target/test-env/, so a fresh clone plus this one command passes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
env_dir="$root/target/test-env"
venv="$env_dir/venv"
mkdir -p "$env_dir"

# Python peers: pypiserver (the real index the tests upload to and pip installs from), plus
# whatever tests/requirements.txt lists. Re-installed only when the requirements change.
stamp="$env_dir/requirements.sha256"
want=$(cat tests/requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "test setup: creating $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3
  for requirements in tests/requirements*.txt; do
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  done
  echo "$want" > "$stamp"
fi

# Real long descriptions for the description-rendering differential test (tests/description.rs):
# the PKG-INFO of pinned releases, fetched once into target/readmes/ (about 4 MB, 20 s).
"$venv/bin/python" tests/readmes.py fetch tests/fixtures/readmes/pins.tsv "$root/target/readmes"

# Node tools (lint and API-shape checks), when the project lists any.
if [ -f tests/node/package.json ]; then
  node_stamp="$env_dir/node.sha256"
  want_node=$(cat tests/node/package.json tests/node/package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ ! -d "$env_dir/node/node_modules" ] || [ "$(cat "$node_stamp" 2>/dev/null)" != "$want_node" ]; then
    echo "test setup: installing node tools"
    rm -rf "$env_dir/node" && mkdir -p "$env_dir/node"
    cp tests/node/package.json "$env_dir/node/"
    [ -f tests/node/package-lock.json ] && cp tests/node/package-lock.json "$env_dir/node/"
    (cd "$env_dir/node" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi)
    echo "$want_node" > "$node_stamp"
  fi
fi

# The real-world corpus (tests/corpus.rs): release folders of popular projects from PyPI, cached in
# target/corpus/ (about 450 MB; only missing files are downloaded, each checked against the
# sha256 the manifest recorded from PyPI's simple index).
"$venv/bin/python" scripts/fetch-corpus.py

export PYPI_OIDC_PUBLISH_TEST_VENV="$venv"
export PYPI_OIDC_PUBLISH_TEST_NODE="$env_dir/node/node_modules"
[ "${1:-}" = "--setup" ] && exit 0

cargo test --locked --all-targets --no-fail-fast "$@"
