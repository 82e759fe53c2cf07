#!/usr/bin/env bash
# Runs every test under ThreadSanitizer, in its own scratch path so the debug build in .build stays untouched.
# Usage: ci/tsan.sh [extra `swift test` arguments]
# halt_on_error=1: the first race fails the run, with its report on stderr.
# Suppressions (ci/tsan.supp) are for proven false positives only; each one carries its reason.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch=.build-tsan
log_dir=.build/ci
mkdir -p "$log_dir"
log="$log_dir/tsan.log"

started=$SECONDS
echo "== swift build --build-tests --sanitize=thread --scratch-path $scratch"
swift build --build-tests --sanitize=thread --scratch-path "$scratch"
built=$SECONDS

# ThreadSanitizer slows everything several times; timing tests stretch their real-time bounds by
# TEST_TIMING_SCALE (Tests/TestSupport/TimingSlack.swift) and skip none of them (exact timing is asserted on test
# clocks, which TSan cannot slow). Tests still run one at a time here (--no-parallel), unlike ci/test.sh: this run
# is for data races, and one-at-a-time is the setting measured to fit CI's time budget under TSan; parallel under
# TSan has not been measured on the 2-core machine yet (a TSan build is the lead's step).
export TEST_TIMING_SCALE=${TEST_TIMING_SCALE:-5}
export TSAN_OPTIONS="suppressions=$PWD/ci/tsan.supp halt_on_error=1 second_deadlock_stack=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
echo "== TSAN_OPTIONS=$TSAN_OPTIONS"
echo "== swift test --skip-build --sanitize=thread --scratch-path $scratch --no-parallel $*"
status=0
swift test --skip-build --sanitize=thread --scratch-path "$scratch" --no-parallel "$@" 2>&1 | tee "$log" || status=$?
finished=$SECONDS

summary=$(grep -E "Test run with [0-9]+ tests?|Executed [1-9][0-9]* tests?" "$log" | tail -n 2 || true)
echo
echo "== tsan summary"
echo "${summary:-no test summary found in $log}"
echo "build $((built - started)) s, tests $((finished - built)) s"
if grep -q "WARNING: ThreadSanitizer" "$log"; then
    echo "ThreadSanitizer reported:"
    grep -A 3 "WARNING: ThreadSanitizer" "$log" | head -n 40
    [[ $status -ne 0 ]] || status=1
fi
if [[ $status -ne 0 ]]; then
    # CI keeps only the tail of this output: name what failed here, not only in the log.
    echo "failures:"
    grep -E "✘|: error:" "$log" | grep -v "Test run with" | head -n 40 || true
    echo "FAILED: exit status $status (full log: $log)"
else
    echo "PASSED"
fi
exit "$status"
