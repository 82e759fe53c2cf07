#!/usr/bin/env bash
# Large request bodies (not a unit test): chat requests of 1, 8 and 32 MiB (a long prompt; `model` first, `stream`
# last) posted straight to a fake upstream and through llama-proxy to the same kind of upstream. Reports the median
# time per size for both, the difference (what the proxy adds) and the proxy's resident memory after each size.
# Usage: bench/body.sh [sizes=1,8,32] [repeats=5] [streams=0]. Loopback only; bounded (a few seconds per size).
# With streams > 0, that many streaming requests wait on a silent model (heartbeatInterval 200ms) while the bodies
# are posted, and their heartbeat lateness is reported: large bodies must not delay other connections' heartbeats.
# BIN=dir runs the binaries in dir (llama-proxy, harness) instead of this checkout's release build, e.g. to measure
# an older build; ProxyBench always comes from this checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sizes=${1:-1,8,32}
repeats=${2:-5}
streams=${3:-0}

swift build -c release --product ProxyBench >/dev/null
bench_bin=$(swift build -c release --show-bin-path)
if [[ -z "${BIN:-}" ]]; then
    swift build -c release --product llama-proxy >/dev/null
    swift build -c release --product harness >/dev/null
    BIN=$bench_bin
fi

work=$(mktemp -d)
proxy_pid=
direct_pid=
heartbeat_pid=
trap 'kill $proxy_pid $direct_pid $heartbeat_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# The upstream answers every chat request at once with a small JSON completion: the time measured is moving the
# request body, not generating.
cat > "$work/sink.yaml" <<YAML
description: answers every chat request at once with a small completion
responses:
  - name: chat
    match: {method: POST, path: /v1/chat/completions}
    steps:
      - status: 200
        headers: {Content-Type: application/json}
        framing: content-length
      - write: '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}'
      - end: close
YAML
cat > "$work/config.yaml" <<YAML
models:
  sink:
    cmd: $BIN/harness serve --scenario $work/sink.yaml --port \${PORT} --log-level warning
    heartbeatInterval: 1s
  silent:
    cmd: $BIN/harness serve --scenario $work/silent.yaml --port \${PORT} --log-level warning
    heartbeatInterval: 200ms
    concurrencyLimit: 20000
YAML
cat > "$work/silent.yaml" <<YAML
description: an upstream that accepts every request and never answers
responses:
  - match: {path: /v1/chat/completions}
    steps:
      - end: hang
YAML
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
direct_port=$(free_port)
"$BIN/harness" serve --scenario "$work/sink.yaml" --port "$direct_port" --log-level warning 2>"$work/direct.log" &
direct_pid=$!
"$BIN/llama-proxy" --config "$work/config.yaml" --listen "127.0.0.1:$port" --log-level warning 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$direct_port/health" >/dev/null && break; sleep 0.1; done
# Warm up: start the model, so the first timed request does not include its start.
curl -sf -m 30 "http://127.0.0.1:$port/v1/chat/completions" -d '{"model":"sink"}' >/dev/null
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$proxy_pid/status"; }

if (( streams > 0 )); then
    ulimit -n "$(ulimit -Hn)"
    curl -s -m 3 -N "http://127.0.0.1:$port/v1/chat/completions" -d '{"model":"silent","stream":true}' >/dev/null || true
    "$bench_bin/ProxyBench" heartbeat --port "$port" --streams "$streams" --interval 0.2 --seconds 40 \
        --model silent --ready-file "$work/ready" >"$work/heartbeat.txt" &
    heartbeat_pid=$!
    for _ in $(seq 600); do [[ -f "$work/ready" ]] && break; sleep 0.1; done
fi
echo "body: sizes $sizes MiB, $repeats requests each ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))," \
    "proxy RSS idle $(( $(rss_kb) / 1024 )) MB"
"$bench_bin/ProxyBench" body --port "$port" --direct-port "$direct_port" --sizes "$sizes" --repeats "$repeats" \
    --model sink --proxy-pid "$proxy_pid"
if (( streams > 0 )); then
    wait "$heartbeat_pid"
    heartbeat_pid=
    echo "heartbeats of $streams waiting streams (interval 200 ms) while the bodies above were posted, 40 s in all:"
    grep -E "lateness|early" "$work/heartbeat.txt"
fi
