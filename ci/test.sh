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
# The one CPU-heavy test (six 32 MiB request bodies through the proxy, measuring heartbeat lateness meanwhile) runs
# on its own after the parallel run: beside it, on 2 cores, the parallel suite's real-time tests were starved (a
# replay's request reached its fake 2.4 s late), and it measures lateness better alone too.
heavy=HeartbeatLatenessBodiesTests
# Swift Testing starts every suite at once by default: ~150 suites on 2 cores (child processes, TLS, real sockets)
# stalled one another for ~13 s at the start and starved real-time tests (a heartbeat read late, a request reaching
# its fake 2.4 s late). At most 8 tests run at a time here: 96 s instead of 75 s, and the suite passed each time.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}
# `|| status=$?` keeps a failing test run from ending the script before the summary.
status=0
if [[ $# -eq 0 ]]; then
    echo "== swift test --skip-build --skip $heavy (at most $SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH tests at a time)"
    swift test --skip-build --skip "$heavy" 2>&1 | tee "$log" || status=$?
    echo "== swift test --skip-build --filter $heavy (alone)"
    swift test --skip-build --filter "$heavy" 2>&1 | tee -a "$log" || status=$?
else
    echo "== swift test --skip-build $*"
    swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?
fi
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
