#!/usr/bin/env bash
# Heartbeat benchmark (not a unit test): N streaming requests wait on an upstream that never answers, through
# llama-proxy with heartbeatInterval 1s. Reports heartbeat lateness at the clients and the proxy's resident memory
# per waiting stream. Usage: bench/heartbeat.sh [streams=9000] [seconds=12]. Loopback only; bounded in time.
# Each stream holds two sockets in the proxy (client and upstream); this sandbox's hard limit of 20,000 open files
# per process caps N below 10,000.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
streams=${1:-9000}
seconds=${2:-12}

swift build -c release --product llama-proxy >/dev/null
swift build -c release --product harness >/dev/null
swift build -c release --product ProxyBench >/dev/null
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d)
trap 'kill "$proxy_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/silent.yaml" <<YAML
description: an upstream that accepts every request and never answers
responses:
  - match: {path: /v1/chat/completions}
    steps:
      - end: hang
YAML
cat > "$work/config.yaml" <<YAML
models:
  silent:
    cmd: $bin/harness serve --scenario $work/silent.yaml --port \${PORT} --log-level warning
    heartbeatInterval: 1s
    concurrencyLimit: 20000
YAML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ulimit -n "$(ulimit -Hn)"
"$bin/llama-proxy" --config "$work/config.yaml" --listen "127.0.0.1:$port" --log-level warning 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
# Warm up: start the model and serve one stream, so the baseline includes everything but the waiting streams.
curl -s -m 3 -N "http://127.0.0.1:$port/v1/chat/completions" -d '{"model":"silent","stream":true}' >/dev/null || true
sleep 1
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$proxy_pid/status"; }
before=$(rss_kb)

echo "heartbeat: $streams streams for $seconds s ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
"$bin/ProxyBench" heartbeat --port "$port" --streams "$streams" --interval 1 --seconds "$seconds" \
    --model silent --ready-file "$work/ready" &
bench_pid=$!
for _ in $(seq 600); do [[ -f "$work/ready" ]] && break; sleep 0.1; done
sleep 3
during=$(rss_kb)
# Again near the end: what a stream holds grows with its heartbeats (the activity timeline's marks, bounded).
(( seconds > 6 )) && sleep $(( seconds - 6 ))
late=$(rss_kb)
late_at=$(( seconds > 6 ? seconds - 3 : 3 ))
wait "$bench_pid"
echo "proxy RSS: $before KB idle, $during KB with $streams waiting streams:" \
    "$(( (during - before) * 1024 / streams )) bytes per waiting stream 3 s after they opened;" \
    "$(( (late - before) * 1024 / streams )) bytes after about $late_at s"
