#!/usr/bin/env bash
# The chaos soak: the scenario library's faults (resets, stalls inside events, wrong lengths, never-ready, slow
# loads, hangs, errors, client hang-ups, crashes of idle models) through the real llama-proxy, 8 concurrent clients
# for 60 s, every exchange judged by its scenario's expectations; the proxy's fds, RSS and threads after a warm-up
# and at the end must be flat. Prints a progress line every 10 s; exit 1 on any mismatch or growth.
# Usage: ci/soak.sh [extra `harness soak` arguments, e.g. --duration 30m]
# Debug build: the one ci/test.sh already made (no second compile of the package in CI's budget).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== swift build --product llama-proxy && swift build --product harness"
# `swift run harness` builds only the harness; the soak starts the llama-proxy executable beside it.
swift build --product llama-proxy
swift build --product harness

echo "== harness soak --clients 8 --duration 60s --seed 1 $*"
status=0
swift run --skip-build harness soak --clients 8 --duration 60s --seed 1 "$@" || status=$?
if [[ $status -eq 0 ]]; then
    echo "PASSED: soak"
else
    echo "FAILED: harness soak exited with $status"
fi
exit "$status"
