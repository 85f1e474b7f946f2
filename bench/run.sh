#!/usr/bin/env bash
# The upload benchmark (bench/README.md): set up the pinned tools, build the release binary once,
# generate the dists once, then run every case. Extra arguments go to bench.py, e.g.
#   bench/run.sh --cases small --rounds small=3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bench/setup.sh
cargo build --release --locked --quiet
dists="$root/target/bench-env/dists"
# Regenerated whenever the generator changes (the stamp is its hash).
want=$(sha256sum bench/gen_dists.py | cut -d' ' -f1)
if [ "$(cat "$dists/.done" 2>/dev/null)" != "$want" ]; then
  rm -rf "$dists"
  "$root/target/bench-env/venv/bin/python" bench/gen_dists.py "$dists"
  echo "$want" > "$dists/.done"
fi
exec "$root/target/bench-env/venv/bin/python" bench/bench.py --dists "$dists" --out "$root/target/bench-env/results.md" "$@"
