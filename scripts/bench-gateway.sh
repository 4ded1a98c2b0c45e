#!/usr/bin/env bash
# Gateway overhead: the same two auth endpoints measured straight to auth, through Debian's
# nginx (a plain proxy_pass, the floor any proxy hop pays here) and through the gateway with
# edge auth and rate limiting on. Release builds; wrk at 64 connections.
#
#   scripts/bench-gateway.sh            (make bench runs it; installs nginx and wrk if missing)
#   BENCH_SECONDS=30 scripts/bench-gateway.sh
#
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
CONNECTIONS=64
AUTH_PORT=18081
NGINX_PORT=18090
GATEWAY_PORT=18080
DB_NAME=faded_skies_bench
ADMIN_EMAIL=bench-admin@fadedskies.local
ADMIN_PASSWORD='Bench!Passw0rd1'
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -f $work/nginx.pid ]]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

need=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if ((${#need[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
    else
        echo "install ${need[*]} first (Debian: apt-get install ${need[*]})" >&2
        exit 2
    fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release -q -p auth -p gateway
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

psql -h 127.0.0.1 -U postgres -qtc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB_NAME" >/dev/null

export APP_ENV=development LOG_FORMAT=json RUST_LOG=warn HOST=127.0.0.1
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB_NAME"
export EVENTS_EXCHANGE=faded_skies.bench
PORT=$AUTH_PORT FS_ADMIN_EMAIL=$ADMIN_EMAIL FS_ADMIN_PASSWORD=$ADMIN_PASSWORD \
    OBJECT_STORE_URL="file://$work/objects" "$target_dir/release/auth" >"$work/auth.log" 2>&1 &
pids+=($!)
bash scripts/wait-for-http.sh "http://127.0.0.1:$AUTH_PORT/health/live" 60

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
PORT=$GATEWAY_PORT GATEWAY_CLUSTER_AUTH=127.0.0.1:$AUTH_PORT \
    JWKS_URL="http://127.0.0.1:$AUTH_PORT/.well-known/jwks.json" \
    GATEWAY_RATE_LIMIT_API=1000000000/900 GATEWAY_REDIS_PREFIX=bench: \
    "$target_dir/release/gateway" >"$work/gateway.log" 2>&1 &
pids+=($!)
bash scripts/wait-for-http.sh "http://127.0.0.1:$GATEWAY_PORT/health/live" 60

token=$(curl -sf "http://127.0.0.1:$AUTH_PORT/api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

# shellcheck source=scripts/lib/wrk.sh
source scripts/lib/wrk.sh

echo "| endpoint | path | req/s | p50 ms | p99 ms | non-2xx |"
echo "|---|---|---|---|---|---|"
for target in "direct:$AUTH_PORT" "nginx:$NGINX_PORT" "gateway:$GATEWAY_PORT"; do
    name=${target%%:*}; port=${target##*:}
    echo "| GET /.well-known/jwks.json | $name | $(wrk_row "http://127.0.0.1:$port/.well-known/jwks.json") |"
done
for target in "direct:$AUTH_PORT" "nginx:$NGINX_PORT" "gateway:$GATEWAY_PORT"; do
    name=${target%%:*}; port=${target##*:}
    echo "| GET /api/users/profile (token) | $name | $(wrk_row "http://127.0.0.1:$port/api/users/profile" -H "Authorization: Bearer $token") |"
done
