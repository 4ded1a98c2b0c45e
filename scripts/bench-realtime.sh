#!/usr/bin/env bash
# Realtime against the guide's own WebSocket server (issue 35): the release build of
# services/realtime and the guide's server/websocket.js on Node's socket.io with the Redis
# adapter (scripts/bench-realtime/peer), under the same load generator, in turn, on this
# machine. The load generator (scripts/bench-realtime/loadgen/bench.js) starts each server,
# mints its tokens and drives a client that speaks what socket.io-client speaks over
# WebSocket: scripts/bench-realtime/client (Rust, a few µs of CPU a message), or
# socket.io-client 4.8 itself with BENCH_CLIENT=node (~75 µs a message: on two cores it, not
# the servers, sets the knee). Two scenarios:
# - connections: 10,000 sockets held 30 s on one instance: the server's VmRSS;
# - fan-out: 1,000 order rooms with one driver and one watcher each, the rate raised from one
#   message a second per room until the p99 from publish to receipt passes 50 ms: messages
#   delivered per second at the knee. The peer gets the driver's `driver-location-update`
#   over its socket (the guide's path); realtime gets what tracking publishes on its Redis
#   emit channel once it has accepted a location (ours). docs/benchmarks.md says why that is
#   the same work.
# Every scenario starts its servers afresh. The machine's speed drifts (and it is shared): the
# connections scenario runs ours first in odd rounds and the peer first in even ones; the
# fan-out has both servers up and alternates their steps, each side's knee searched on its own. Redis and RabbitMQ (realtime's event consumer)
# must be up (`make stack`); Node 18+ and npm (the registry, at first use).
#
#   scripts/bench-realtime.sh                      (make bench runs it; about 15 minutes)
#   BENCH_ROUNDS=1 BENCH_SCENARIOS=fanout scripts/bench-realtime.sh
#   BENCH_SIDES=peer BENCH_CONNECTIONS=2000 scripts/bench-realtime.sh   (a quick look)
#   BENCH_SERVER_CPUS=1 BENCH_CLIENT_CPUS=0 scripts/bench-realtime.sh  (pin with taskset)
#   BENCH_CLIENT=node scripts/bench-realtime.sh    (socket.io-client in 4 processes)
# Other knobs (defaults): BENCH_HOLD_SECONDS=30 BENCH_ROOMS=1000 BENCH_STEP_SECONDS=5
# BENCH_WARM_SECONDS=1 BENCH_P99_MS=50 BENCH_RETRIES=1 (a failed step is run again before it
# counts) BENCH_RATES=1,2,3,5,... (per room) BENCH_RESULTS=file.json (every step). The servers'
# logs go to a temporary directory, named at the start.
#
# Prints Markdown tables for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
need_tools node:nodejs npm:npm taskset:util-linux redis-cli:redis-tools

# 10,000 sockets on the server and as many on the load generator's side (split over its
# processes): as many descriptors as this shell may have.
ulimit -n "$(ulimit -Hn)"
connections=${BENCH_CONNECTIONS:-10000}
if (($(ulimit -n) < connections + 1000)); then
    echo "open files limited to $(ulimit -n): raise the hard limit (ulimit -Hn) above $((connections + 1000))" >&2
    exit 2
fi

release_build -p realtime
# The load generator's client: a workspace of its own (CI never builds it), into the same
# target directory.
cargo build --release -q --manifest-path scripts/bench-realtime/client/Cargo.toml \
    --target-dir "$target_dir"

# The two Node projects, installed from their lock files at first use (and when a lock changes).
for project in scripts/bench-realtime/peer scripts/bench-realtime/loadgen; do
    if [[ ! -f $project/node_modules/.package-lock.json \
        || $project/package-lock.json -nt $project/node_modules/.package-lock.json ]]; then
        (cd "$project" && npm ci --no-audit --no-fund --loglevel=error)
    fi
done

redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
export REDIS_URL=$redis_url
# Redis's own CPU per step, when this machine's Redis is local.
BENCH_REDIS_PID=$(redis-cli -u "$redis_url" INFO server 2>/dev/null \
    | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
if [[ -n $BENCH_REDIS_PID && ! -d /proc/$BENCH_REDIS_PID ]]; then BENCH_REDIS_PID=; fi
export BENCH_REDIS_PID

halt_poll=$(cat /sys/module/haltpoll/parameters/guest_halt_poll_ns 2>/dev/null || echo n/a)
echo "$(nproc) CPUs, $(node --version), guest_halt_poll_ns $halt_poll, commit $(git rev-parse --short HEAD)" >&2

BENCH_REALTIME_BIN=$target_dir/release/realtime \
    BENCH_CLIENT_BIN=$target_dir/release/bench-realtime-client \
    node scripts/bench-realtime/loadgen/bench.js
