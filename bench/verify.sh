#!/usr/bin/env bash
# CPU cost of verification (DESIGN §8: 40 small dists plus a 100 MB wheel in under 0.5 s of CPU).
#
#   bench/verify.sh [path/to/pypi-oidc-publish]     (default: target/release/pypi-oidc-publish)
#
# Makes, in a temp dir (never committed): 40 small dists of one release (39 retagged copies of
# the fixture wheel + its sdist) and one 100 MB platform wheel with a correct RECORD (random,
# incompressible payload). Then measures with /usr/bin/time -v:
#   1. `--dry-run` over the 40 small dists + the 100 MB wheel (the bar),
#   2. `--dry-run` over the 100 MB wheel alone, against `sha256sum` of the same file: the MB/s
#      of the whole verification (RECORD pass: inflate + sha256 of every member; digest pass:
#      sha256 + blake2b-256 of the file) next to a bare sha256.
# Each measurement runs 3 times (the file is in the page cache after the first); the best is kept.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:-$root/target/release/pypi-oidc-publish}"
[ -x "$binary" ] || { echo "build it first: cargo build --release" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$root/tests/fixtures/dists/valid-hatchling-2.4" "$work" <<'PY'
import base64, csv, hashlib, io, os, shutil, sys, zipfile
from pathlib import Path

fixture, work = Path(sys.argv[1]), Path(sys.argv[2])
small, big = work / "small", work / "big"
small.mkdir(); big.mkdir()
wheel = next(fixture.glob("*.whl"))
shutil.copy(next(fixture.glob("*.tar.gz")), small)
info = "demo_hatch-1.0.0.dist-info"

def write(path, members):
    record = f"{info}/RECORD"
    members = {k: v for k, v in members.items() if k != record}
    out = io.StringIO()
    rows = csv.writer(out, lineterminator="\n")
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.writerow([name, f"sha256={digest}", len(data)])
    rows.writerow([record, "", ""])
    members[record] = out.getvalue().encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members.items():
            archive.writestr(name, data)

with zipfile.ZipFile(wheel) as archive:
    base = {name: archive.read(name) for name in archive.namelist()}
platforms = ["manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "musllinux_1_2_x86_64",
             "win_amd64", "macosx_11_0_arm64"]
count = 0
for python in ["cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp313t", "cp314t"]:
    for platform in platforms:
        if count == 39:
            break
        tag = f"{python}-{python}-{platform}"
        members = dict(base)
        members[f"{info}/WHEEL"] = (
            f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\nTag: {tag}\n\n".encode()
        )
        write(small / f"demo_hatch-1.0.0-{tag}.whl", members)
        count += 1
members = dict(base)
# 100 MB (10^8 bytes): under PyPI's 100 MiB file limit, which verification enforces.
members["demo_hatch/_native.so"] = os.urandom(100_000_000)
members[f"{info}/WHEEL"] = (
    b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\n"
    b"Tag: cp312-cp312-manylinux_2_28_x86_64\n\n"
)
write(big / "demo_hatch-1.0.0-cp312-cp312-manylinux_2_28_x86_64.whl", members)
PY

big_wheel="$(ls "$work"/big/*.whl)"
mkdir "$work/all"
cp "$work"/small/* "$big_wheel" "$work/all/"
size_mb=$(( $(stat -c %s "$big_wheel") / 1000000 ))

# Best of 3: prints "user+sys seconds" and "max RSS KiB" of one command.
measure() {
    local best="" rss="" split=""
    for _ in 1 2 3; do
        /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || { cat "$work/time.txt" >&2; exit 1; }
        local user sys cpu
        user=$(awk -F': ' '/User time/ {print $2}' "$work/time.txt")
        sys=$(awk -F': ' '/System time/ {print $2}' "$work/time.txt")
        cpu=$(echo "$user + $sys" | bc -l)
        if [ "$(echo "$cpu < 0.01" | bc -l)" = 1 ]; then cpu=0.01; fi
        if [ -z "$best" ] || [ "$(echo "$cpu < $best" | bc -l)" = 1 ]; then
            best=$cpu
            rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time.txt")
            split="user=${user}s,sys=${sys}s,wall=$(awk -F'): ' '/Elapsed/ {print $2}' "$work/time.txt")"
        fi
    done
    echo "$best $rss $split"
}

echo "dists: $(ls "$work/all" | wc -l) files, $(du -sh "$work/all" | cut -f1) (one wheel of ${size_mb} MB)"
read -r all_cpu all_rss all_split < <(measure "$binary" --dry-run --packages-dir "$work/all")
echo "verify 40 small + 100 MB wheel : ${all_cpu} s CPU (${all_split}), max RSS ${all_rss} KiB (bar: < 0.5 s)"
read -r small_cpu small_rss _ < <(measure "$binary" --dry-run --packages-dir "$work/small")
echo "verify 40 small dists only     : ${small_cpu} s CPU, max RSS ${small_rss} KiB"
read -r big_cpu big_rss big_split < <(measure "$binary" --dry-run --packages-dir "$work/big")
read -r sum_cpu _ _ < <(measure sha256sum "$big_wheel")
echo "verify the 100 MB wheel alone  : ${big_cpu} s CPU = $(echo "$size_mb / $big_cpu" | bc) MB/s (RECORD pass + sha256/blake2b pass; ${big_split}), max RSS ${big_rss} KiB"
echo "sha256sum of the same file     : ${sum_cpu} s CPU = $(echo "$size_mb / $sum_cpu" | bc) MB/s"
