#!/usr/bin/env bash
# Load test for the proxy (not a unit test): C concurrent clients stream chat completions back to back through
# llama-proxy for S seconds, from a harness upstream that closes the connection after every streamed response (as
# llama-server does while advertising keep-alive). Reports statuses (the 5xx count must be 0) and latency.
# Usage: bench/load.sh [clients=64] [seconds=30]. Loopback only; bounded in time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
clients=${1:-64}
seconds=${2:-30}

swift build -c release --product llama-proxy >/dev/null
swift build -c release --product harness >/dev/null
swift build -c release --product ProxyBench >/dev/null
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d)
trap 'kill "$proxy_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# No script: llama-server's default answers (16 tokens, close after the stream), 10x faster than 100 tokens/s.
printf 'description: llama-server defaults, closing after every stream\n' > "$work/upstream.yaml"
cat > "$work/config.yaml" <<YAML
models:
  fast:
    cmd: $bin/harness serve --scenario $work/upstream.yaml --port \${PORT} --time-scale 0.1
    heartbeatInterval: 1s
    concurrencyLimit: 128
YAML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/llama-proxy" --config "$work/config.yaml" --listen "127.0.0.1:$port" --log-level warning 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

echo "load: $clients clients for $seconds s through llama-proxy ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
"$bin/ProxyBench" load --port "$port" --clients "$clients" --seconds "$seconds" --model fast
