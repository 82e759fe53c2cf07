#!/usr/bin/env bash
# The web UI in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium
# (PyPI `selenium`, in a venv under .build/) against the real llama-proxy with an API key and one model whose `cmd` is
# `harness serve` of a slow-loading scenario (Scenarios/slow-model-load.yaml at time scale 0.1: 6 s of /health 503).
# ci/browser/ui_test.py enters the key, loads and unloads the model with the keyboard and the buttons, follows its
# logs, sends a streaming chat from the playground that the load keeps waiting (heartbeats arrive), checks that the
# live timeline shows every heartbeat at its time (against GET /api/activity/{id}/timeline), opens the request's
# capture and exports it as a scenario, unloads, and fails on any console error or any wait that runs out.
# A 1280x800 screenshot of the request's view goes to .build/ci/ui.png; UI_SCREENSHOT=docs/ui.png renews the README's.
# Installs what is missing: chromium and chromium-driver with apt-get (as root), selenium with pip (in the venv).
# Usage: ci/browser-test.sh            (about 1 minute after the installs and the debug build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
started=$SECONDS

if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
    echo "== chromium or chromedriver missing: installing Debian's chromium and chromium-driver with apt-get"
    if [[ $(id -u) -ne 0 ]]; then
        echo "FAILED: not root; install them with: sudo apt-get install -y chromium chromium-driver"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    mkdir -p .build/ci
    apt_log=.build/ci/browser-test-apt.log
    timeout 600 apt-get update -q > "$apt_log" 2>&1 || { tail -n 20 "$apt_log"; exit 1; }
    timeout 900 apt-get install -y -q chromium chromium-driver >> "$apt_log" 2>&1 || {
        echo "FAILED: apt-get install chromium chromium-driver:"; tail -n 20 "$apt_log"; exit 1; }
    echo "== installed: $(chromium --version 2>/dev/null | head -n 1)"
fi
echo "== $(chromium --version 2>/dev/null | head -n 1); $(chromedriver --version | head -n 1 | cut -d' ' -f1-2)"

venv=$root/.build/browser-venv
if ! "$venv/bin/python" -c "import selenium" 2> /dev/null; then
    echo "== creating $venv with selenium from PyPI (pip)"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2> /dev/null; then
        echo "== python3 has no venv module: installing Debian's python3-venv with apt-get"
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q python3-venv > /dev/null
        python3 -m venv "$venv"
    fi
    timeout 300 "$venv/bin/pip" install -q --disable-pip-version-check "selenium>=4.10,<5"
fi
echo "== selenium $("$venv/bin/python" -c 'import selenium; print(selenium.__version__)')"

echo "== swift build --product llama-proxy && swift build --product harness"
swift build --product llama-proxy
swift build --product harness
bin=$(swift build --show-bin-path)

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="sk-browser-test-$RANDOM$RANDOM"
cat > "$work/config.yaml" << EOF
# ci/browser-test.sh: one model that takes 6 s to load (slow-model-load.yaml at time scale 0.1).
apiKeys: ["$key"]
heartbeatInterval: 1s
healthCheckTimeout: 60
models:
  slow-loader:
    name: Slow loader
    description: harness serve with a 6 s load (/health answers 503 until then)
    cmd: $bin/harness serve --scenario $root/Scenarios/slow-model-load.yaml --port \${PORT} --time-scale 0.1
EOF

proxy_pid=
cleanup() {
    if [[ -n "$proxy_pid" ]] && kill -0 "$proxy_pid" 2> /dev/null; then
        kill -TERM "$proxy_pid" 2> /dev/null || true
        for _ in $(seq 1 100); do kill -0 "$proxy_pid" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$proxy_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== llama-proxy on 127.0.0.1:$port (log: $work/proxy.log)"
"$bin/llama-proxy" --config "$work/config.yaml" --listen "127.0.0.1:$port" > "$work/proxy.log" 2>&1 &
proxy_pid=$!
healthy() {
    "$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$port/health" 2> /dev/null
}
for _ in $(seq 1 100); do
    healthy && break
    kill -0 "$proxy_pid" 2> /dev/null || { echo "FAILED: llama-proxy exited:"; cat "$work/proxy.log"; exit 1; }
    sleep 0.1
done
healthy || { echo "FAILED: llama-proxy did not answer /health within 10 s"; exit 1; }

status=0
mkdir -p .build/ci && rm -f .build/ci/failure.png
SE_OFFLINE=true timeout 240 "$venv/bin/python" ci/browser/ui_test.py --url "http://127.0.0.1:$port" --key "$key" \
    --model slow-loader --screenshot "${UI_SCREENSHOT:-$root/.build/ci/ui.png}" --work "$root/.build/ci" || status=$?
if [[ $status -ne 0 ]]; then
    echo "== llama-proxy log (last 40 lines, access lines left out)"
    grep -v ' access$' "$work/proxy.log" | tail -n 40 | sed 's/^/  /'
    [[ $status -eq 124 ]] && echo "FAILED: ui_test.py did not finish within 240 s"
    [[ -f .build/ci/failure.png ]] && echo "== the page at the failure: .build/ci/failure.png"
    echo "FAILED: browser test (exit $status) after $((SECONDS - started)) s"
    exit 1
fi
echo "PASSED: browser test in $((SECONDS - started)) s"
