#!/usr/bin/env bash
# Verification time over the real-world corpus (target/corpus/, fetched by
# `scripts/test.sh --setup` from tests/corpus/releases.json).
#
#   bench/corpus.sh [path/to/pypi-oidc-publish]     (default: target/release/pypi-oidc-publish)
#
# Runs `--dry-run --repository-url https://upload.pypi.org/legacy/` once per release folder
# (every file of the release verified together, as a real release is), the whole loop three
# times (the files are in the page cache after the first); prints the best loop's wall and CPU
# time (GNU time, children included) and the throughput, and what share of an upload of the same
# bytes the verification is at a given upload speed (PyPI uploads from CI runners typically run
# at tens of MB/s). Refused releases are verified in full too (every problem is reported), so
# they count like accepted ones.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:-$root/target/release/pypi-oidc-publish}"
corpus="$root/target/corpus"
[ -x "$binary" ] || { echo "build it first: cargo build --release" >&2; exit 1; }
[ -d "$corpus" ] || { echo "fetch the corpus first: scripts/test.sh --setup" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

releases=$(find "$corpus" -mindepth 1 -maxdepth 1 -type d | wc -l)
files=$(find "$corpus" -mindepth 2 -type f | wc -l)
bytes=$(find "$corpus" -mindepth 2 -type f -printf '%s\n' | awk '{s += $1} END {print s}')

cat > "$work/loop.sh" <<EOF
for dir in "$corpus"/*/; do
  "$binary" --dry-run --repository-url https://upload.pypi.org/legacy/ "\$dir" >/dev/null 2>&1 || true
done
EOF

best="" best_wall="" rss=""
for _ in 1 2 3; do
  /usr/bin/time -v bash "$work/loop.sh" 2>"$work/time.txt"
  user=$(awk -F': ' '/User time/ {print $2}' "$work/time.txt")
  sys=$(awk -F': ' '/System time/ {print $2}' "$work/time.txt")
  wall=$(awk -F'): ' '/Elapsed/ {print $2}' "$work/time.txt" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
  cpu=$(echo "$user + $sys" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$cpu < $best" | bc -l)" = 1 ]; then
    best=$cpu best_wall=$wall
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time.txt")
  fi
done

mb=$(echo "$bytes / 1000000" | bc -l)
printf 'corpus: %d releases, %d files, %.0f MB\n' "$releases" "$files" "$mb"
printf 'verification (%s): wall %.2f s, CPU %.2f s, %.0f MB/s of CPU, max RSS %s KiB\n' \
  "$("$binary" --version)" "$best_wall" "$best" "$(echo "$mb / $best" | bc -l)" "$rss"
for speed in 10 50 100; do
  printf '  share of an upload of the same bytes at %3d MB/s: %.1f%%\n' \
    "$speed" "$(echo "100 * $best / ($mb / $speed)" | bc -l)"
done
