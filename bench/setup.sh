#!/usr/bin/env bash
# Benchmark setup: a virtualenv with the pinned tools the binary is compared against
# (twine, uv), the index (pypiserver on waitress), and GNU time for CPU and peak RSS.
# Idempotent: re-installs only when bench/requirements.txt changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
env_dir="$root/target/bench-env"
venv="$env_dir/venv"
mkdir -p "$env_dir"

if [ ! -x /usr/bin/time ]; then
  echo "bench setup: installing GNU time"
  apt-get update -qq && apt-get install -y -qq time
fi
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

stamp="$env_dir/requirements.sha256"
want=$(sha256sum "$root/bench/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bench setup: creating $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/bench/requirements.txt"
  echo "$want" > "$stamp"
fi
echo "bench setup: $("$venv/bin/twine" --version | head -1 | cut -d' ' -f1-3), $("$venv/bin/uv" --version), pypiserver $("$venv/bin/python" -c 'import pypiserver; print(pypiserver.__version__)')"
