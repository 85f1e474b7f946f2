#!/usr/bin/env bash
# Rebuild examples/dist/ from examples/sample-project/ with pinned build tools.
# The dists are committed so that the quick-start dry run needs no network; run this only
# when the sample project changes. SOURCE_DATE_EPOCH makes the build reproducible.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet build==1.2.2.post1 hatchling==1.27.0
rm -rf "$here/dist"
SOURCE_DATE_EPOCH=1763596800 "$venv/bin/python" -m build --no-isolation --outdir "$here/dist" "$here/sample-project"
ls -l "$here/dist"
