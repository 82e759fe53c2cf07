#!/usr/bin/env bash
# Per-request cost of the proxy (not a unit test): CPU time the llama-proxy process spends per small pass-through
# request (GET /upstream/m/health → the model's /health on a `harness serve` upstream), read from /proc/PID/stat
# (user + system ticks) around a wrk run, with the machine's load. With PROFILE=1 it also samples the proxy with
# `perf record -e cpu-clock` (a software clock: this VM has no hardware counters) and prints the top symbols.
#
# Why not instructions: valgrind 3.19 (Debian 12) dies with an internal SIGSEGV on the Swift binaries, even
# `valgrind --tool=none llama-proxy --help`, and `perf stat -e instructions` reports "not supported" here. CPU time
# over tens of thousands of requests is the repeatable measure left; run it twice and compare on a quiet machine.
#
# With MALLOCS=1 it counts the proxy's calls to libc's `malloc` instead (a uprobe, `perf probe -x libc malloc`, added
# if missing; it slows every call, so the CPU figure of such a run is not comparable): mallocs per request is a
# figure that load does not change, unlike CPU time.
#
# With STREAMS=1 the workload is 16-token streamed chat completions instead (POST /v1/chat/completions, the fake
# playing llama-server's defaults at time scale 0.1, `concurrencyLimit: 256`), and the figures are per stream.
# Under PROFILE=1, bench/attribute.py then splits the CPU per request into the proxy's own logic, the NIO I/O it
# asks for, and what runs outside its code, and lists the heaviest frames of its own logic.
#
# Usage: bench/cost.sh [seconds=10] [connections=8]. BIN=dir measures the llama-proxy/harness in dir (an older
# build); PROXY_ENV='NAME=value' starts the proxy with that in its environment (allocator experiments). Loopback only; bounded (seconds + about 10 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-10}
connections=${2:-8}
command -v wrk >/dev/null || { echo "cost.sh: installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
if [[ -z "${BIN:-}" ]]; then
    echo "cost.sh: building release llama-proxy and harness"
    swift build -c release --product llama-proxy >/dev/null
    swift build -c release --product harness >/dev/null
    BIN=$(swift build -c release --show-bin-path)
fi
work=$(mktemp -d)
proxy_pid=
trap 'kill $proxy_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
printf 'description: llama-server defaults\n' > "$work/upstream.yaml"
if [[ -n "${STREAMS:-}" ]]; then
    unit=stream
    cat > "$work/config.yaml" <<YAML
models:
  m:
    cmd: $BIN/harness serve --scenario $work/upstream.yaml --port \${PORT} --time-scale 0.1 --log-level warning
    concurrencyLimit: 256
YAML
    cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
LUA
    target_path=/v1/chat/completions
    wrk_script=(-s "$work/post.lua")
else
    unit=request
    cat > "$work/config.yaml" <<YAML
models:
  m:
    cmd: $BIN/harness serve --scenario $work/upstream.yaml --port \${PORT} --log-level warning
YAML
    target_path=/upstream/m/health
    wrk_script=()
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env ${PROXY_ENV:-} "$BIN/llama-proxy" --config "$work/config.yaml" --listen "127.0.0.1:$port" --log-level warning 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do curl -sf -m 2 "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
curl -sf -m 60 -o /dev/null "http://127.0.0.1:$port/upstream/m/health"   # starts the model
timeout 30 wrk -t2 -c"$connections" -d2s "${wrk_script[@]}" "http://127.0.0.1:$port$target_path" >/dev/null   # warm-up
ticks() { awk '{print $14 + $15}' "/proc/$proxy_pid/stat"; }
hz=$(getconf CLK_TCK)
load=$(cut -d' ' -f1-3 /proc/loadavg)
before=$(ticks)
if [[ -n "${MALLOCS:-}" ]]; then
    libc=$(ldd "$BIN/llama-proxy" | awk '$1 ~ /^libc\.so/ {print $3}')
    perf probe -l 2>/dev/null | grep -q "probe_libc:malloc " || perf probe -x "$libc" malloc >/dev/null 2>&1
    perf stat -x, -e probe_libc:malloc -p "$proxy_pid" -o "$work/mallocs.txt" -- sleep "$seconds" &
    perf_pid=$!
elif [[ -n "${PROFILE:-}" ]]; then
    perf record -q -e cpu-clock -F 2000 -g -p "$proxy_pid" -o "${PERF_DATA:-$work/perf.data}" -- sleep "$seconds" 2>/dev/null &
    perf_pid=$!
fi
timeout $((seconds + 30)) wrk -t2 -c"$connections" -d"${seconds}s" --latency "${wrk_script[@]}" "http://127.0.0.1:$port$target_path" \
    > "$work/wrk.txt"
after=$(ticks)
[[ -n "${PROFILE:-}${MALLOCS:-}" ]] && wait "$perf_pid" || true
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt")
cpu_ms=$(( (after - before) * 1000 / hz ))
echo "cost.sh: $(nproc) cores, load average $load before the run; wrk -c$connections for ${seconds}s"
grep -E "Requests/sec|50%|99%" "$work/wrk.txt" | sed 's/^/  /'
echo "  requests $requests; errors: ${errors:-none}"
echo "  proxy CPU ${cpu_ms} ms: $(awk "BEGIN {printf \"%.1f\", $cpu_ms * 1000 / $requests}") µs per $unit"
if [[ -n "${MALLOCS:-}" ]]; then
    mallocs=$(awk -F, '/probe_libc:malloc/ {print $1}' "$work/mallocs.txt")
    echo "  mallocs ${mallocs:-?}: $(awk "BEGIN {printf \"%.1f\", ${mallocs:-0} / $requests}") per $unit (perf's count over the same ${seconds} s)"
fi
if [[ -n "${PROFILE:-}" ]]; then
    perf report -i "${PERF_DATA:-$work/perf.data}" ${PERF_REPORT:---no-children} --sort symbol --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -${TOP:-40} \
        | cut -c1-160 || true   # head closes the pipe early
    perf script -i "${PERF_DATA:-$work/perf.data}" -F ip,sym,dso 2>/dev/null > "$work/stacks.txt"
    python3 bench/attribute.py "$work/stacks.txt" "$requests" 2000 "${TOP:-40}" "$unit"
fi
