#!/usr/bin/env bash
# Validates every scenario file with the harness's own parser: exit 0 when all are valid, 2 when any is not
# (each mistake is printed as file:line:column). Usage: ci/check-scenarios.sh [FILE|DIR …] (default: Scenarios)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(Scenarios)

echo "== swift build --product harness"
swift build --product harness
# The checker must be able to fail: a file with an unknown key has to be refused with exit 2, or a silently
# accepting `check` would pass every scenario unseen.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'description: "probe: must be refused"\ntimeScale: 1\nresponsez: []\n' > "$probe_dir/broken.yaml"
probe=0
swift run --skip-build harness check "$probe_dir/broken.yaml" > "$probe_dir/out" 2>&1 || probe=$?
if [[ $probe -ne 2 ]]; then
    echo "FAILED: harness check accepted (exit $probe, expected 2) a file with an unknown key:"
    sed 's/^/  /' "$probe_dir/out"
    exit 1
fi

echo "== harness check ${targets[*]}"
status=0
swift run --skip-build harness check "${targets[@]}" || status=$?
if [[ $status -eq 0 ]]; then
    echo "PASSED: scenarios valid"
else
    echo "FAILED: harness check exited with $status"
fi
exit "$status"
