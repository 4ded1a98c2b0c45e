#!/usr/bin/env bash
# Instructions per proxied request in the gateway's worker threads, counted by valgrind's
# callgrind. Unlike time, the count repeats from run to run and does not depend on what else the
# machine is doing, so a change of a few hundred instructions a request shows; the timed
# benchmark (scripts/bench-gateway.sh) cannot see below several µs. Instructions are not time
# (a cache miss costs more than an add), so this guides the work and the timed runs judge it.
#
# The same two auth endpoints as the timed benchmark, each sent N and then 3N times (4
# keep-alive connections, one request at a time) to a gateway started afresh under callgrind;
# the difference between the two runs, over 2N, leaves out start-up and shutdown. Only threads
# that served requests are counted (the background services' timers run on wall-clock time, and
# under valgrind a request takes some fifty times as long).
#
#   scripts/gateway-instructions.sh             (N=1000; installs valgrind if missing)
#   BARE=1 scripts/gateway-instructions.sh      (adds the bare hyper proxy of
#                                                services/gateway/examples/bare_proxy.rs)
#   KEEP=/tmp/cg scripts/gateway-instructions.sh   (keeps the callgrind files for
#                                                callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
AUTH_PORT=18081
GATEWAY_PORT=18080
# Its operations port, away from a local gateway's 9080.
GATEWAY_OPS_PORT=18089
BARE_PORT=18086
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
need_tools valgrind:valgrind

release_build -p auth -p gateway
if [[ ${BARE:-0} == 1 ]]; then release_build -p gateway --example bare_proxy; fi
start_bench_auth "$AUTH_PORT" "$work"
token=$(bench_token "$AUTH_PORT")

# send PORT PATH COUNT: COUNT GETs over 4 keep-alive connections in turn; fails on any non-2xx.
send() {
    python3 - "$@" "$token" <<'EOF'
import http.client, sys
port, path, count, token = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=120) for _ in range(4)]
for i in range(count):
    connection = connections[i % 4]
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    if not 200 <= response.status < 300:
        sys.exit(f"{path}: {response.status}")
EOF
}

# count PROXY PATH COUNT: instructions of the proxy's request-serving threads over COUNT requests.
count() {
    local proxy=$1 path=$2 requests=$3 out="$work/$1-${2//\//_}-$3.out" port marker stop
    rm -f "$out"*
    if [[ $proxy == gateway ]]; then
        # SIGINT: Pingora's fast shutdown (SIGTERM would drain, then wait out a grace period).
        port=$GATEWAY_PORT marker='gateway::proxy::Gateway' stop=INT
        PORT=$GATEWAY_PORT GATEWAY_OPS_PORT=$GATEWAY_OPS_PORT GATEWAY_CLUSTER_AUTH=127.0.0.1:$AUTH_PORT \
            JWKS_URL="http://127.0.0.1:$AUTH_PORT/.well-known/jwks.json" \
            GATEWAY_RATE_LIMIT_API=1000000000/900 GATEWAY_REDIS_PREFIX=bench: \
            valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
            "$target_dir/release/gateway" >"$out.log" 2>&1 &
    else
        port=$BARE_PORT marker='hyper::proto::h1::dispatch' stop=TERM
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
            "$target_dir/release/examples/bare_proxy" hyper "127.0.0.1:$BARE_PORT" \
            "127.0.0.1:$AUTH_PORT" >"$out.log" 2>&1 &
    fi
    local pid=$!
    bash scripts/wait-for-http.sh "http://127.0.0.1:$port/.well-known/jwks.json" 120 >/dev/null
    send "$port" "$path" "$requests"
    # callgrind writes its files as the process ends.
    kill -"$stop" "$pid"
    wait "$pid" || true
    local total=0 file
    for file in "$out"-*; do
        if grep -q "$marker" "$file"; then
            total=$((total + $(awk '/^totals:/ {print $2}' "$file")))
        fi
    done
    echo "$total"
}

proxies=(gateway)
if [[ ${BARE:-0} == 1 ]]; then proxies+=(bare); fi
echo "| endpoint | proxy | instructions per request |"
echo "|---|---|---|"
for path in /.well-known/jwks.json /api/users/profile; do
    for proxy in "${proxies[@]}"; do
        once=$(count "$proxy" "$path" "$N")
        thrice=$(count "$proxy" "$path" $((3 * N)))
        echo "| GET $path | $proxy | $(((thrice - once) / (2 * N))) |"
    done
done
