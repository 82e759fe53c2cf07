#!/usr/bin/env bash
# Side by side (not a unit test): the same upstream reached directly, through nginx without an upstream pool (a new
# connection per request, nginx's default), through nginx with a keepalive pool, and through llama-proxy; one table
# of results and ratios from one run, with the machine's load. Workloads (wrk, SECONDS each): a small pass-through
# GET (/health; /upstream/m/health through llama-proxy), non-streaming chat completions, 16-token streams at 4 and
# 32 clients; then 1, 8 and 32 MiB chat bodies (curl, median and minimum of 5, and the proxy's peak memory per body
# in flight); and the proxy's CPU per request (/proc ticks during the small pass-through run).
#
# A fifth column, the NIO floor (`nio-floor`, Sources/NIOFloor): the least a proxy built on NIO's HTTP/1 codec does
# per request — each client connection paired with one upstream connection on its event loop, parts relayed as they
# arrive (one flush per upstream read), a connection dropped after a stream; no routing, timeouts, heartbeats,
# metrics, activity or pool. It bounds what llama-proxy can reach on this machine with the codec it must use.
#
# Two upstreams, one after the other, one table each: `harness serve` with llama-server's default answers (16 tokens;
# the connection closed after every stream while `Keep-Alive: timeout=5, max=100` is advertised; non-streamed
# answers keep it), 10x faster than 100 tokens/s; then, when a real llama-server has been built (REAL_SERVER, default
# `${TMPDIR:-/tmp}/real-llama-server/run.sh`, which ../shared/tools/real-llama-server.sh makes; this script never
# builds it), that llama-server with its tiny model (64 tokens per answer). UPSTREAM=fake or UPSTREAM=real runs one.
# nginx and wrk come from Debian's packages, installed when missing.
#
# Usage: bench/compare.sh [seconds=5]. BIN=dir uses llama-proxy/harness from dir. Loopback only; every step is
# bounded (timeout) and prints a line; about 30 × SECONDS + 60 s per upstream.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-5}
say() { echo "compare.sh: $*" >&2; }
real=${REAL_SERVER:-${TMPDIR:-/tmp}/real-llama-server/run.sh}
if [[ -z "${UPSTREAM:-}" ]]; then
    UPSTREAM=fake bash "$0" "$@"
    if [[ -x "$real" ]]; then
        UPSTREAM=real bash "$0" "$@"
    else
        say "no real llama-server at $real (../shared/tools/real-llama-server.sh builds one): fake upstream only"
    fi
    exit 0
fi

for tool in wrk nginx; do
    if ! command -v "$tool" >/dev/null && ! [[ -x /usr/sbin/$tool ]]; then
        say "installing $tool from Debian's packages"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q "$tool" >/dev/null
    fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if [[ -z "${BIN:-}" ]]; then
    say "building release llama-proxy and harness (bounded: 20 min)"
    timeout 1200 swift build -c release --product llama-proxy >/dev/null
    timeout 1200 swift build -c release --product harness >/dev/null
    timeout 1200 swift build -c release --product nio-floor >/dev/null
    BIN=$(swift build -c release --show-bin-path)
fi

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -f "$work/nginx-new.pid" ]] && kill "$(cat "$work/nginx-new.pid")" 2>/dev/null || true
    [[ -f "$work/nginx-pool.pid" ]] && kill "$(cat "$work/nginx-pool.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 150); do curl -sf -m 2 -o /dev/null "$1" && return 0; sleep 0.2; done; say "no answer from $1"; exit 1; }

up=$(free_port)
if [[ $UPSTREAM == real ]]; then
    upstream_name="real llama-server ($real)"
    "$real" "$up" >"$work/upstream.log" 2>&1 &
else
    upstream_name="harness serve (llama-server's default answers, time scale 0.1)"
    printf 'description: llama-server defaults\n' > "$work/upstream.yaml"
    "$BIN/harness" serve --scenario "$work/upstream.yaml" --port "$up" --time-scale 0.1 --log-level warning \
        >"$work/upstream.log" 2>&1 &
fi
pids+=($!)
say "upstream: $upstream_name on port $up"
wait_http "http://127.0.0.1:$up/health"

proxy=$(free_port)
cat > "$work/config.yaml" <<YAML
models:
  m:
    proxy: http://127.0.0.1:$up
    concurrencyLimit: 256
YAML
"$BIN/llama-proxy" --config "$work/config.yaml" --listen "127.0.0.1:$proxy" --log-level warning 2>"$work/proxy.log" &
proxy_pid=$!
pids+=($proxy_pid)
say "llama-proxy on port $proxy (pid $proxy_pid)"
wait_http "http://127.0.0.1:$proxy/health"
floor=
if [[ -x "$BIN/nio-floor" ]]; then
    floor=$(free_port)
    "$BIN/nio-floor" --listen "$floor" --upstream "$up" 2>"$work/floor.log" &
    floor_pid=$!
    pids+=($floor_pid)
    say "NIO floor on port $floor (pid $floor_pid)"
    for _ in $(seq 50); do curl -s -m 2 -o /dev/null "http://127.0.0.1:$floor/health" && break; sleep 0.1; done
else
    say "no nio-floor in $BIN: the floor column stays empty"
fi

nginx_conf() {  # name port pooled
    local upstream_block="" version="" connection=""
    if [[ $3 == yes ]]; then
        upstream_block="upstream llama { server 127.0.0.1:$up; keepalive 64; keepalive_timeout 60s; }"
        version="proxy_http_version 1.1;"
        connection='proxy_set_header Connection "";'
        target=llama
    else
        target=127.0.0.1:$up
    fi
    mkdir -p "$work/$1"
    cat > "$work/$1.conf" <<NGINX
user root;
worker_processes auto;
pid $work/$1.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/$1/body;
    proxy_temp_path $work/$1/proxy;
    fastcgi_temp_path $work/$1/fastcgi;
    uwsgi_temp_path $work/$1/uwsgi;
    scgi_temp_path $work/$1/scgi;
    client_max_body_size 64m;
    $upstream_block
    server {
        listen 127.0.0.1:$2;
        location / {
            proxy_pass http://$target;
            $version
            $connection
            proxy_buffering off;
            proxy_read_timeout 600s;
        }
    }
}
NGINX
    "$nginx_bin" -c "$work/$1.conf" -p "$work/$1" -e "$work/$1/error.log"
}
nginx_new=$(free_port)
nginx_pool=$(free_port)
nginx_conf nginx-new "$nginx_new" no
nginx_conf nginx-pool "$nginx_pool" yes
say "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*\///') without a pool on $nginx_new, with keepalive 64 on $nginx_pool"
wait_http "http://127.0.0.1:$nginx_new/health"
wait_http "http://127.0.0.1:$nginx_pool/health"
curl -sf -m 30 -o /dev/null "http://127.0.0.1:$proxy/upstream/m/health"

body_json() { printf '{"model":"m","stream":%s,"messages":[{"role":"user","content":"Hello"}]}' "$1"; }
for stream in true false; do
    cat > "$work/post-$stream.lua" <<LUA
wrk.method = "POST"
wrk.body = '$(body_json $stream)'
wrk.headers["Content-Type"] = "application/json"
LUA
done

declare -A rps p50 errs
targets=(direct nginx-new nginx-pool proxy)
wrk_targets=(direct nginx-new nginx-pool ${floor:+floor} proxy)
url_of() {  # target path
    case $1 in
        floor) echo "http://127.0.0.1:$floor$2" ;;
        direct) echo "http://127.0.0.1:$up$2" ;;
        nginx-new) echo "http://127.0.0.1:$nginx_new$2" ;;
        nginx-pool) echo "http://127.0.0.1:$nginx_pool$2" ;;
        proxy) if [[ $2 == /health ]]; then echo "http://127.0.0.1:$proxy/upstream/m/health"; else echo "http://127.0.0.1:$proxy$2"; fi ;;
    esac
}
ticks() { awk '{print $14 + $15}' "/proc/${1:-$proxy_pid}/stat"; }
cpu_per_request=
floor_cpu_per_request=-
run_wrk() {  # workload target connections path [script]
    local out="$work/wrk-$1-$2.txt" script=()
    [[ -n "${5:-}" ]] && script=(-s "$5")
    local before measured=${proxy_pid}
    [[ $2 == floor ]] && measured=$floor_pid
    before=$(ticks "$measured")
    timeout $((seconds + 30)) wrk -t2 -c"$3" -d"${seconds}s" --latency "${script[@]}" "$(url_of "$2" "$4")" >"$out" 2>&1 || true
    if [[ $1 == small && ( $2 == proxy || $2 == floor ) ]]; then
        local used=$(( $(ticks "$measured") - before )) requests per
        requests=$(awk '/requests in/ {print $1}' "$out")
        per=$(awk "BEGIN {printf \"%.0f\", $used * 1e6 / $(getconf CLK_TCK) / $requests}")
        if [[ $2 == proxy ]]; then cpu_per_request=$per; else floor_cpu_per_request=$per; fi
    fi
    rps[$1,$2]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$out")
    p50[$1,$2]=$(awk '$1 == "50%" {print $2}' "$out")
    local bad socket
    bad=$(awk '/Non-2xx/ {print $NF}' "$out")
    socket=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    # Non-2xx answers (nginx's 502s) and socket errors (wrk reading a connection the upstream closed) apart.
    errs[$1,$2]="${bad:-0} non-2xx + ${socket:-0} socket"
    say "$1 via $2 (-c$3): ${rps[$1,$2]} req/s, p50 ${p50[$1,$2]}, errors ${errs[$1,$2]}"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for target in "${wrk_targets[@]}"; do run_wrk small "$target" 8 /health; done
for target in "${wrk_targets[@]}"; do run_wrk nonstream "$target" 8 /v1/chat/completions "$work/post-false.lua"; done
for target in "${wrk_targets[@]}"; do run_wrk stream4 "$target" 4 /v1/chat/completions "$work/post-true.lua"; done
for target in "${wrk_targets[@]}"; do run_wrk stream32 "$target" 32 /v1/chat/completions "$work/post-true.lua"; done

# Bodies: a long prompt with escapes, `model` first, `stream` last (the whole body is read before routing).
declare -A body_ms body_min body_mem
for size in 1 8 32; do
    python3 - "$size" "$work/body-$size.json" <<'PY'
import sys
size, path = int(sys.argv[1]) << 20, sys.argv[2]
line = 'caf\\u00e9 \\"quoted\\" line\\n'
prompt = line * (size // len(line))
open(path, "w").write('{"model":"m","messages":[{"role":"user","content":"%s"}],"stream":false}' % prompt)
PY
    for target in "${targets[@]}"; do
        # nginx buffers each body in a temporary file: without a sync, the writeback of the previous target's
        # hundreds of MiB of dirty pages runs during the next target's posts (it added ~100 ms to the proxy's
        # 32 MiB median, which follows nginx's runs).
        sync
        times=() mems=()
        for _ in 1 2 3 4 5; do
            if [[ $target == proxy ]]; then
                # What one body in flight costs: the peak during its post minus the RSS just before (writing 5 to
                # clear_refs resets VmHWM to the current RSS, Linux ≥ 4.0); the median of five, since the activity
                # ring's churn moves RSS by a few hundred KB either way.
                rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$proxy_pid/status")
                echo 5 > "/proc/$proxy_pid/clear_refs" 2>/dev/null || say "cannot reset VmHWM: the memory figure is an upper bound"
            fi
            times+=("$(timeout 120 curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' -H 'Expect:' \
                --data-binary @"$work/body-$size.json" "$(url_of "$target" /v1/chat/completions)" || echo 999)")
            if [[ $target == proxy ]]; then
                peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$proxy_pid/status")
                mems+=("$(awk -v p="$peak_kb" -v i="$rss_before" -v s="$size" 'BEGIN {printf "%.2f", (p - i) / (s * 1024)}')")
            fi
        done
        # The median and the minimum of five: the upstream's own time per body varies by more than the proxy adds.
        body_ms[$size,$target]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 * 1000}')
        body_min[$size,$target]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 1p | awk '{printf "%.1f", $1 * 1000}')
        [[ $target == proxy ]] && body_mem[$size]=$(printf '%s\n' "${mems[@]}" | sort -n | sed -n 3p)
        say "$size MiB body via $target: median ${body_ms[$size,$target]} ms, minimum ${body_min[$size,$target]} ms"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "upstream: $upstream_name; $(nproc) cores; load average $load_before before, $load_after after; wrk ${seconds} s each"
echo
echo "| workload | direct | nginx, new connection | nginx, pooled | NIO floor | llama-proxy | proxy / nginx pooled | proxy / direct | floor / nginx pooled | floor / direct |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row() {  # workload label
    local cells=()
    for target in direct nginx-new nginx-pool floor proxy; do
        if [[ -n "${rps[$1,$target]:-}" ]]; then
            cells+=("${rps[$1,$target]} req/s, p50 ${p50[$1,$target]}, ${errs[$1,$target]} errors")
        else
            cells+=("-")
        fi
    done
    echo "| $2 | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} | ${cells[4]} | $(ratio "${rps[$1,proxy]}" "${rps[$1,nginx-pool]}") | $(ratio "${rps[$1,proxy]}" "${rps[$1,direct]}") | $(ratio "${rps[$1,floor]:-}" "${rps[$1,nginx-pool]}") | $(ratio "${rps[$1,floor]:-}" "${rps[$1,direct]}") |"
}
row small "small GET passed through, 8 clients"
row nonstream "non-streaming completions, 8 clients"
row stream4 "16-token streams, 4 clients"
row stream32 "16-token streams, 32 clients"
for size in 1 8 32; do
    cell() { echo "${body_ms[$size,$1]} (${body_min[$size,$1]}) ms"; }
    echo "| $size MiB body, median (minimum) of 5 | $(cell direct) | $(cell nginx-new) | $(cell nginx-pool) | - | $(cell proxy), memory per body ${body_mem[$size]}× its size | $(ratio "${body_ms[$size,proxy]}" "${body_ms[$size,nginx-pool]}") | $(awk -v a="${body_ms[$size,proxy]}" -v b="${body_ms[$size,direct]}" -v c="${body_min[$size,proxy]}" -v d="${body_min[$size,direct]}" 'BEGIN {printf "%+.1f ms (minimum %+.1f ms)", a - b, c - d}') | - | - |"
done
echo
echo "llama-proxy CPU per small pass-through request: ${cpu_per_request} µs (user + system, /proc/$proxy_pid/stat); NIO floor: ${floor_cpu_per_request} µs"
