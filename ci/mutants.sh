#!/usr/bin/env bash
# Plants known bugs one at a time in a scratch copy of the committed tree and requires `swift test` to fail for each.
# Usage: ci/mutants.sh [ID …]        (default: every mutant in ci/mutants.txt; IDs pick some)
#        ci/mutants.sh --check     (only checks that every mutant still applies to the working tree; no build)
# Exit 0 when every planted bug turned the suite red; 1 when any survived; 2 when the run itself is broken (the
# baseline is red, a mutant's original text is not found exactly once, or a mutant does not compile).
#
# Each mutant (ci/mutants.txt) has one or more hunks (a file, exact original text found exactly once, its replacement)
# and the test filter expected to catch it. The filtered tests run first, for speed; if they stay green the whole suite
# runs, so a mutant counts as killed only when some part of `swift test` fails. A scratch copy (`git archive HEAD`) in
# .build-mutants/ keeps its build between mutants: each one costs an incremental build plus its tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
scratch=$root/.build-mutants/src
build=$root/.build-mutants/build   # outside the source copy, so it survives between runs
list=$root/ci/mutants.txt
per_test_timeout=${MUTANT_TEST_TIMEOUT:-300}   # the whole suite takes about 70 s; a hang counts as red

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
# As ci/test.sh: at most 8 tests at a time. All ~150 suites at once starve the real-time tests on 2 cores, and a
# baseline that fails for that, or a mutant "killed" by a starved test, says nothing about the code.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}

# The mutant file, parsed once into a directory of one file per part (python3: exact text, no regex escaping).
parts=$root/.build-mutants/parts
rm -rf "$parts" && mkdir -p "$parts"
python3 - "$list" "$parts" <<'PY'
import json, os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
out = sys.argv[2]
ids = []
for block in re.split(r"^## ", text, flags=re.M)[1:]:
    header, _, rest = block.partition("\n")
    mid, _, desc = header.partition(":")
    mid = mid.strip()
    tests = re.search(r"^tests:(.*)$", rest, flags=re.M)
    hunks = re.findall(r"^<<< (\S+)\n(.*?)\n===\n(.*?)\n?>>>$", rest, flags=re.M | re.S)
    if not tests or not hunks or not re.fullmatch(r"[a-z0-9-]+", mid) or mid in ids:
        sys.exit(f"ci/mutants.txt: mutant {mid!r} is malformed (an id [a-z0-9-], tests:, and <<< FILE / original / === / replacement / >>> hunks)")
    d = os.path.join(out, mid)
    os.makedirs(d)
    json.dump({"description": desc.strip(), "tests": tests.group(1).strip(),
               "hunks": [{"file": f, "original": o, "replacement": r} for f, o, r in hunks]},
              open(os.path.join(d, "mutant.json"), "w"))
    ids.append(mid)
open(os.path.join(out, "ORDER"), "w").write("\n".join(ids) + "\n")
PY

mapfile -t all_ids < "$parts/ORDER"
# --check: only verify that every mutant's original text is found exactly once in the working tree (no build).
if [[ ${1:-} == --check ]]; then
    python3 - "$parts" "${all_ids[@]}" <<'PY'
import json, os, sys
bad = 0
for mid in sys.argv[2:]:
    m = json.load(open(os.path.join(sys.argv[1], mid, "mutant.json")))
    before = bad
    for h in m["hunks"]:
        n = open(h["file"], encoding="utf-8").read().count(h["original"]) if os.path.exists(h["file"]) else 0
        if n != 1:
            bad += 1
            print(f"{mid}: original text found {n} times in {h['file']}")
    print(f"{'ok ' if bad == before else 'BAD'} {mid}: {m['description']}")
sys.exit(1 if bad else 0)
PY
    exit $?
fi
ids=("$@")
[[ ${#ids[@]} -gt 0 ]] || ids=("${all_ids[@]}")
say "== ${#ids[@]} mutant(s) from ci/mutants.txt; scratch copy of $(git rev-parse --short HEAD) in .build-mutants/src"

rm -rf "$scratch" && mkdir -p "$scratch"
git archive HEAD | tar -x -C "$scratch"
cd "$scratch"
# git archive stamps files with the commit's time; the compiler's incremental build trusts modification times, so
# every file gets "now" or a build left by an earlier run (perhaps of a mutant) could be taken as up to date.
find Sources Tests bench -type f -exec touch {} +

say "== baseline: swift build --build-tests"
swift build --build-tests --scratch-path "$build" > "$root/.build-mutants/build.log" 2>&1 || { say "BROKEN: baseline build failed"; tail -n 30 "$root/.build-mutants/build.log"; exit 2; }
say "== baseline: swift test (must pass)"
baseline_ok=0
for attempt in 1 2 3; do
    if timeout "$per_test_timeout" swift test --skip-build --scratch-path "$build" > "$root/.build-mutants/baseline.log" 2>&1; then
        baseline_ok=1
        break
    fi
    say "   baseline attempt $attempt failed: $(grep -oE '✘ Test [^ (]+' "$root/.build-mutants/baseline.log" | sort -u | tr '\n' ' ')"
done
if [[ $baseline_ok -ne 1 ]]; then
    say "BROKEN: the unmutated suite fails; mutants would prove nothing (a flaky test is a bug too)"
    grep -E "✘|error:" "$root/.build-mutants/baseline.log" | head -n 20
    exit 2
fi

# apply ID / restore ID: each hunk's original text must occur exactly once in its file (checked for all hunks before
# any file changes); restore puts the saved files back.
apply() {
    python3 - "$parts/$1/mutant.json" <<'PY'
import json, shutil, sys
m = json.load(open(sys.argv[1]))
sources = {}
for h in m["hunks"]:
    text = sources.get(h["file"]) or open(h["file"], encoding="utf-8").read()
    count = text.count(h["original"])
    if count != 1:
        sys.exit(f"original text found {count} times in {h['file']} (must be exactly once):\n{h['original']}")
    sources[h["file"]] = text.replace(h["original"], h["replacement"])
for path, text in sources.items():
    shutil.copyfile(path, path + ".orig")
    open(path, "w", encoding="utf-8").write(text)
PY
}
restore() {
    python3 - "$parts/$1/mutant.json" <<'PY'
import json, os, sys
for path in {h["file"] for h in json.load(open(sys.argv[1]))["hunks"]}:
    if os.path.exists(path + ".orig"):
        os.replace(path + ".orig", path)
        os.utime(path)  # now: the restored file must be newer than the mutant's build, or it is not recompiled
PY
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$parts/$1/mutant.json" "$2"; }

killed=0
survived=()
results=()
for id in "${ids[@]}"; do
    [[ -d "$parts/$id" ]] || { say "BROKEN: no mutant $id"; exit 2; }
    filter=$(field "$id" tests)
    desc=$(field "$id" description)
    if ! err=$(apply "$id" 2>&1); then
        say "BROKEN: mutant $id: $err"
        exit 2
    fi
    say "-- $id: $desc"
    if ! swift build --build-tests --scratch-path "$build" > "$root/.build-mutants/$id.build.log" 2>&1; then
        restore "$id"
        say "BROKEN: mutant $id does not compile (see .build-mutants/$id.build.log)"
        exit 2
    fi
    verdict=""
    if ! timeout "$per_test_timeout" swift test --skip-build --scratch-path "$build" --filter "$filter" > "$root/.build-mutants/$id.test.log" 2>&1; then
        verdict="killed by --filter '$filter'"
    elif ! timeout "$per_test_timeout" swift test --skip-build --scratch-path "$build" >> "$root/.build-mutants/$id.test.log" 2>&1; then
        verdict="killed by the whole suite (not by '$filter')"
    fi
    restore "$id"
    if [[ -n "$verdict" ]]; then
        killed=$((killed + 1))
        first=$(grep -m1 -oE "✘ Test [^ (]+" "$root/.build-mutants/$id.test.log" || true)
        say "   KILLED: $verdict${first:+; first failure: ${first#✘ Test }}"
        results+=("$(printf 'killed    %-30s %s' "$id" "$desc")")
    else
        survived+=("$id")
        say "   SURVIVED: swift test stayed green"
        results+=("$(printf 'SURVIVED  %-30s %s' "$id" "$desc")")
    fi
done
# Leave the scratch build in place for the next run, but not a half-restored source.
echo
say "== mutants: ${killed} of ${#ids[@]} killed"
printf '%s\n' "${results[@]}"
if [[ ${#survived[@]} -gt 0 ]]; then
    echo "SURVIVED: ${survived[*]}"
    exit 1
fi
echo "PASSED: every planted bug turned swift test red"
