#!/usr/bin/env bash
# Gateway overhead: the same two auth endpoints measured straight to auth, through Debian's
# nginx (a plain proxy_pass, the floor any proxy hop pays here) and through the gateway with
# edge auth and rate limiting on. Release builds; wrk at 64 connections, per path and round:
# - saturation: as fast as the connections go (throughput, and latency under full load);
# - paced: each connection waits PACE_MS on average, at random, between requests (latency of
#   the hop itself; scripts/lib/paced.lua says why at random). A paced run's p50 moves from
#   one run to the next (where the scheduler puts wrk's, the proxy's and the service's
#   threads), so each round has several shorter ones.
# Everything shares one machine, whose speed drifts between runs: the paths are measured in
# turn, in a different order each round, and the tables give the medians of the runs.
#
#   scripts/bench-gateway.sh            (make bench runs it; installs nginx and wrk if missing)
#   BENCH_SECONDS=10 BENCH_ROUNDS=7 PACE_MS=20 scripts/bench-gateway.sh
#   BENCH_PACED_RUNS=3 BENCH_PACED_SECONDS=4 scripts/bench-gateway.sh   (the defaults)
#   BENCH_HALT_POLL_NS=200000 scripts/bench-gateway.sh   (sets the KVM guest's idle polling for
#                                           the run; see below)
#   BENCH_BARE=1 scripts/bench-gateway.sh   (adds two bare proxies: hyper's and Pingora's HTTP/1
#                                           cores with none of the gateway's work; see
#                                           services/gateway/examples/bare_proxy.rs)
#
# Prints Markdown tables for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-5}
PACED_RUNS=${BENCH_PACED_RUNS:-3}
PACED_SECONDS=${BENCH_PACED_SECONDS:-4}
export PACE_MS=${PACE_MS:-20}
CONNECTIONS=64
AUTH_PORT=18081
NGINX_PORT=18090
GATEWAY_PORT=18080
# Its operations port, away from a local gateway's 9080.
GATEWAY_OPS_PORT=18089
declare -A BARE_PORT=([hyper]=18086 [pingora]=18085)
work=$(mktemp -d)
pids=()
# On a KVM guest with the cpuidle-haltpoll driver, an idle vCPU polls this long before it halts;
# a wake-up of a halted vCPU is a VM exit. The benchmark machine of 2026-12-07 came with 0;
# the kernel's default is 200000. It applies to every path alike; the run prints its value.
halt_poll=/sys/module/haltpoll/parameters/guest_halt_poll_ns
halt_poll_before=$(cat "$halt_poll" 2>/dev/null || true)
cleanup() {
    if [[ -n ${BENCH_HALT_POLL_NS:-} && -n $halt_poll_before ]]; then
        echo "$halt_poll_before" >"$halt_poll" 2>/dev/null || true
    fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -f $work/nginx.pid ]]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
need_tools nginx:nginx-light wrk:wrk
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [[ -n ${BENCH_HALT_POLL_NS:-} ]]; then
    [[ -n $halt_poll_before ]] || { echo "no $halt_poll on this machine" >&2; exit 2; }
    echo "$BENCH_HALT_POLL_NS" >"$halt_poll"
fi

release_build -p auth -p gateway
if [[ ${BENCH_BARE:-0} == 1 ]]; then release_build -p gateway --example bare_proxy; fi
start_bench_auth "$AUTH_PORT" "$work"

cat >"$work/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream auth { server 127.0.0.1:$AUTH_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
    }
}
EOF
"$NGINX" -c "$work/nginx.conf" -p "$work"

# Limits high enough that the benchmark measures the work of counting, not refusals.
PORT=$GATEWAY_PORT GATEWAY_OPS_PORT=$GATEWAY_OPS_PORT GATEWAY_CLUSTER_AUTH=127.0.0.1:$AUTH_PORT \
    JWKS_URL="http://127.0.0.1:$AUTH_PORT/.well-known/jwks.json" \
    GATEWAY_RATE_LIMIT_API=1000000000/900 GATEWAY_REDIS_PREFIX=bench: \
    "$target_dir/release/gateway" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
bash scripts/wait-for-http.sh "http://127.0.0.1:$GATEWAY_PORT/health/live" 60

# A fresh access token (they live 15 minutes, less than a long run): sets auth_header.
login() {
    local token
    token=$(bench_token "$AUTH_PORT")
    auth_header="Authorization: Bearer $token"
}

jwks=/.well-known/jwks.json
profile=/api/users/profile
results=$work/results.jsonl
declare -A port=([direct]=$AUTH_PORT [nginx]=$NGINX_PORT [gateway]=$GATEWAY_PORT)
declare -A proxy_pids=(
    [direct]=""
    [nginx]="$(pgrep -d ' ' -P "$(cat "$work/nginx.pid")")"
    [gateway]="$gateway_pid"
)
paths=(direct nginx gateway)

if [[ ${BENCH_BARE:-0} == 1 ]]; then
    for core in hyper pingora; do
        core_port=${BARE_PORT[$core]}
        "$target_dir/release/examples/bare_proxy" "$core" "127.0.0.1:$core_port" \
            "127.0.0.1:$AUTH_PORT" >"$work/bare-$core.log" 2>&1 &
        pids+=($!)
        port[bare-$core]=$core_port
        proxy_pids[bare-$core]=$!
        paths+=("bare-$core")
        bash scripts/wait-for-http.sh "http://127.0.0.1:$core_port$jwks" 60
    done
fi

# CPU time (clock ticks) of the processes given.
ticks() {
    local total=0 pid utime stime
    for pid in "$@"; do
        read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
        total=$((total + utime + stime))
    done
    echo "$total"
}

# run SECONDS ENDPOINT MODE PATH URL [wrk args...]: one wrk run, appended to the results.
run() {
    local seconds=$1 endpoint=$2 mode=$3 path=$4 url=$5
    shift 5
    local -a proxy
    read -r -a proxy <<<"${proxy_pids[$path]}"
    local before=0 after=0 report
    if ((${#proxy[@]})); then before=$(ticks "${proxy[@]}"); fi
    report=$(wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" --latency "$@" "$url")
    if ((${#proxy[@]})); then after=$(ticks "${proxy[@]}"); fi
    python3 scripts/lib/wrk_stats.py parse "$endpoint" "$mode" "$path" "$((after - before))" \
        <<<"$report" >>"$results"
}

login

# Warm-up: connections, pools, caches and the verified-token cache.
for path in "${paths[@]}"; do
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:${port[$path]}$jwks" >/dev/null
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -H "$auth_header" \
        "http://127.0.0.1:${port[$path]}$profile" >/dev/null
done

for ((round = 0; round < ROUNDS; round++)); do
    login
    for ((turn = 0; turn < ${#paths[@]}; turn++)); do
        path=${paths[$(((round + turn) % ${#paths[@]}))]}
        base="http://127.0.0.1:${port[$path]}"
        run "$SECONDS_PER_RUN" "GET $jwks" saturation "$path" "$base$jwks"
        run "$SECONDS_PER_RUN" "GET $profile (token)" saturation "$path" "$base$profile" \
            -H "$auth_header"
        for ((paced = 0; paced < PACED_RUNS; paced++)); do
            run "$PACED_SECONDS" "GET $jwks" paced "$path" "$base$jwks" -s scripts/lib/paced.lua
            run "$PACED_SECONDS" "GET $profile (token)" paced "$path" "$base$profile" \
                -H "$auth_header" -s scripts/lib/paced.lua
        done
    done
done

if [[ -n $halt_poll_before ]]; then
    echo "guest_halt_poll_ns: $(cat "$halt_poll")"
else
    echo "guest_halt_poll_ns: none (not a haltpoll guest)"
fi
echo
python3 scripts/lib/wrk_stats.py gateway-table "$results"
