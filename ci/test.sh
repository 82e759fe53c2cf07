#!/usr/bin/env bash
# Builds the package with its tests, runs every test, and ends with one summary line.
# Usage: ci/test.sh [extra `swift test` arguments, e.g. --filter SSEBoundaryTrackerTests]
# The full log is kept in .build/ci/test.log for inspection after a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log_dir=.build/ci
mkdir -p "$log_dir"
log="$log_dir/test.log"

started=$SECONDS
echo "== swift build --build-tests"
swift build --build-tests
built=$SECONDS
# Tests run in parallel, as `swift test` does by default: exact timing is asserted on test clocks, and the tests on
# real sockets only check bounds that a loaded 2-core machine cannot break (see Tests/TestSupport/TimingSlack.swift).
echo "== swift test --skip-build $*"
# `|| status=$?` keeps a failing test run from ending the script before the summary.
status=0
swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?
finished=$SECONDS

# Swift Testing ends with "Test run with N tests … passed/failed …"; XCTest prints "Executed N tests".
summary=$(grep -E "Test run with [0-9]+ tests?|Executed [1-9][0-9]* tests?" "$log" | tail -n 2 || true)
echo
echo "== test summary"
echo "${summary:-no test summary found in $log}"
echo "build $((built - started)) s, tests $((finished - built)) s"
if [[ $status -ne 0 ]]; then
    echo "FAILED: swift test exited with $status (failures above; full log: $log)"
    grep -E "✘|: error:" "$log" | head -n 40 || true
else
    echo "PASSED"
fi
exit "$status"
