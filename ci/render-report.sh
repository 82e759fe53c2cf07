#!/usr/bin/env bash
# Renders a `harness replay --html` timeline report with headless Chromium (Debian package `chromium`) to a PNG and
# fails when the page logs any console message or fails to load anything (it must be self-contained).
# Usage: ci/render-report.sh [REPORT.html [OUT.png]]   (default: replays a few scenarios into a fresh report and
# writes report.png next to it, printing both paths)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
    echo "FAILED: chromium not found; install it with: apt-get install -y chromium"
    exit 1
fi

work=$(mktemp -d)
report=${1:-}
if [[ -z "$report" ]]; then
    report="$work/report.html"
    echo "== harness replay --html $report"
    swift build --product harness
    # Each file at its automatic scale: a forced small scale would leave the timing checks no room and fail them.
    swift run --skip-build harness replay --html "$report" \
        Scenarios/slow-prefill.yaml Scenarios/hang-forever.yaml Scenarios/mid-stream-stall.yaml \
        Scenarios/rst-mid-stream.yaml
fi
png=${2:-"${report%.html}.png"}
[[ -f "$report" ]] || { echo "FAILED: $report does not exist"; exit 1; }

echo "== chromium --headless --screenshot $png"
log="$work/chromium.log"
# A throwaway profile, no sandbox (CI runs as root), no network helpers; console messages go to stderr.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
    --disable-background-networking --no-first-run --enable-logging=stderr --v=0 \
    --window-size=1100,1500 --screenshot="$png" "file://$(realpath "$report")" > "$log" 2>&1 || {
    echo "FAILED: chromium exited with an error:"; sed 's/^/  /' "$log"; exit 1; }

rm -rf "$work/profile"
if grep -E "CONSOLE|Failed to load resource|net::ERR_" "$log" > "$work/errors"; then
    echo "FAILED: the page logged errors:"
    sed 's/^/  /' "$work/errors"
    exit 1
fi
[[ -s "$png" ]] || { echo "FAILED: no screenshot written"; exit 1; }
echo "PASSED: $report rendered to $png without console errors"
