# shellcheck shell=bash
# Set-up shared by the benchmark scripts, sourced from the repository's root.

# need_tools COMMAND:PACKAGE...: installs the Debian package of each missing command (as root,
# with apt-get), or stops saying what to install.
need_tools() {
    local pair missing=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || [[ -x /usr/sbin/${pair%%:*} ]] \
            || missing+=("${pair#*:}")
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    else
        echo "install ${missing[*]} first (Debian: apt-get install ${missing[*]})" >&2
        exit 2
    fi
}

# release_build CARGO_ARGS...: a quiet release build; sets target_dir to where it went.
release_build() {
    cargo build --release -q "$@"
    target_dir=$(cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
}

# bench_database NAME: creates the database if it is missing, and points DATABASE_URL at it.
bench_database() {
    psql -h 127.0.0.1 -U postgres -qtc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 \
        || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $1" >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$1"
}

# Auth as the gateway benchmarks run it: its own database and an admin to log in as.
BENCH_ADMIN_EMAIL=bench-admin@fadedskies.local
BENCH_ADMIN_PASSWORD='Bench!Passw0rd1'

# start_bench_auth PORT WORK_DIR: release auth on PORT (logs in WORK_DIR), once it is live; its
# pid is appended to the caller's `pids`. Needs release_build of auth first.
start_bench_auth() {
    local port=$1 work=$2
    bench_database faded_skies_bench
    export APP_ENV=development LOG_FORMAT=json RUST_LOG=warn HOST=127.0.0.1
    export EVENTS_EXCHANGE=faded_skies.bench
    PORT=$port FS_ADMIN_EMAIL=$BENCH_ADMIN_EMAIL FS_ADMIN_PASSWORD=$BENCH_ADMIN_PASSWORD \
        OBJECT_STORE_URL="file://$work/objects" "$target_dir/release/auth" >"$work/auth.log" 2>&1 &
    pids+=($!)
    bash scripts/wait-for-http.sh "http://127.0.0.1:$port/health/live" 60
}

# bench_token AUTH_PORT: a fresh access token for the bench admin (they live 15 minutes).
bench_token() {
    curl -sf "http://127.0.0.1:$1/api/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$BENCH_ADMIN_EMAIL\",\"password\":\"$BENCH_ADMIN_PASSWORD\"}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
