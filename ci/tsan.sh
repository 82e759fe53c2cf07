#!/usr/bin/env bash
# Runs every test under ThreadSanitizer, in its own scratch path so the debug build in .build stays untouched.
# Usage: ci/tsan.sh [extra Swift Testing arguments, e.g. --filter NAME]; TSAN_TEST_WIDTH=N runs N tests at a time
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
# clocks, which TSan cannot slow). Most of this run's time is waiting, not computing (the scenario replays and the
# soak play real time, stretched five times: one test at a time kept the 2 cores ~75 % idle for 870 s), so tests
# run two at a time, no more: on the 2-core machine (2026-12-01) two at a time took 500 s and passed, every test in
# parallel failed 61 timing bounds.
#
# Two at a time needs Swift Testing's `--experimental-maximum-parallelization-width`, which `swift test` does not
# pass on, so the test bundle runs directly, as `swift test` runs it; the package has Swift Testing tests only.
export TEST_TIMING_SCALE=${TEST_TIMING_SCALE:-5}
export TSAN_OPTIONS="suppressions=$PWD/ci/tsan.supp halt_on_error=1 second_deadlock_stack=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
export NO_COLOR=1
width=${TSAN_TEST_WIDTH:-2}
if grep -rlq "^import XCTest" Tests; then
    echo "ci/tsan.sh runs Swift Testing tests only; an XCTest file was added: run it here too" >&2
    exit 1
fi
bundle=$(ls -d "$(swift build --show-bin-path --sanitize=thread --scratch-path "$scratch")"/*PackageTests.xctest)
# The bundle ignores arguments it does not know: under a toolchain whose Swift Testing lacks the width flag, every
# test would run at once and dozens of timing bounds fail for no stated reason. Its library must name the flag.
testing_library=$(ldd "$bundle" | awk '$1 ~ /^libTesting\.so/ {print $3}')
if [[ -z "$testing_library" ]] || ! grep -aq -- "--experimental-maximum-parallelization-width" "$testing_library"; then
    echo "ci/tsan.sh: this toolchain's Swift Testing (${testing_library:-not linked by $bundle}) has no" \
        "--experimental-maximum-parallelization-width: find its new name (swift test --help) and use it here" >&2
    exit 1
fi
echo "== TSAN_OPTIONS=$TSAN_OPTIONS"
status=0
# The CPU-heavy test (32 MiB bodies, heartbeat lateness measured meanwhile) runs alone afterwards, as in ci/test.sh:
# beside another test under TSan it took 337 s and a heartbeat came 3.9 s late (its bound: 2.5 s); alone, 37 s and
# 3.4 ms at worst (2026-12-02).
heavy=HeartbeatLatenessBodiesTests
if [[ $# -eq 0 ]]; then
    echo "== $bundle --testing-library swift-testing --experimental-maximum-parallelization-width $width --skip $heavy"
    "$bundle" --testing-library swift-testing --experimental-maximum-parallelization-width "$width" --skip "$heavy" \
        2>&1 | tee "$log" || status=$?
    echo "== $bundle --testing-library swift-testing --filter $heavy (alone)"
    "$bundle" --testing-library swift-testing --filter "$heavy" 2>&1 | tee -a "$log" || status=$?
else
    echo "== $bundle --testing-library swift-testing --experimental-maximum-parallelization-width $width $*"
    "$bundle" --testing-library swift-testing --experimental-maximum-parallelization-width "$width" "$@" 2>&1 \
        | tee "$log" || status=$?
fi
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
