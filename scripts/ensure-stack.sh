#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ are reachable at the configured URLs,
# and that the build tools the workspace needs (cmake, pkg-config, a C/C++
# toolchain) are installed.
#
#   scripts/ensure-stack.sh            check, start, install (as root on Debian)
#   scripts/ensure-stack.sh --check    only report; exit 1 if anything is missing
#   scripts/ensure-stack.sh --no-install   start what is installed, install nothing
#
# For each dependency:
#   reachable (TCP + protocol check)          -> nothing to do
#   on this machine but stopped               -> start it
#   not installed, root on Debian             -> apt-get install it, then start it
#   not installed, not root or not Debian     -> print what to install, exit 2
# A URL that points at another host is only checked, never started or installed.
#
# Afterwards: the PostgreSQL URL must authenticate (a local server is fixed up:
# role/password, or loopback `trust` in pg_hba.conf when the URL has no password;
# local development only) and its database must exist; the RabbitMQ user in the
# URL must authenticate and have permissions on its vhost. A local RabbitMQ also
# gets the broker definitions (deploy/rabbitmq: one user per service, with its
# development password, and what each may publish and read; every queue the
# services consume and its bindings, so that events published before their
# consumer first starts wait for it; `make run` connects each service as its own
# user), loaded into the vhost of AMQP_URL and waited for, and the management
# plugin (port 15672: the broker-definitions tests load them into a vhost of
# their own through it).
#
# Idempotent and quick when everything is already up (it runs before every
# `make test` and `make run`). See docs/runbooks/local-stack.md.
#
# Environment (defaults in brackets):
#   DATABASE_URL   [postgres://postgres@127.0.0.1:5432/faded_skies]
#   REDIS_URL      [redis://127.0.0.1:6379]
#   AMQP_URL       [amqp://guest:guest@127.0.0.1:5672/%2f]
#   STACK_TIMEOUT  [60]  seconds to wait for each dependency to become ready
#   STACK_NO_INSTALL=1   same as --no-install
#   STACK_SKIP_TOOLS=1   do not check the build tools
set -euo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/faded_skies}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
STACK_TIMEOUT=${STACK_TIMEOUT:-60}
STACK_NO_INSTALL=${STACK_NO_INSTALL:-0}
STACK_SKIP_TOOLS=${STACK_SKIP_TOOLS:-0}
CHECK_ONLY=0

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APT_LOG=${TMPDIR:-/tmp}/faded-skies-ensure-stack-apt.log
HBA_MARKER='# faded-skies: local development only (scripts/ensure-stack.sh)'

usage() {
    sed -n '2,35p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while (($#)); do
    case $1 in
        --check) CHECK_ONLY=1 ;;
        --no-install) STACK_NO_INSTALL=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "ensure-stack: unknown argument: $1 (try --help)" >&2
            exit 64
            ;;
    esac
    shift
done

log() { echo "ensure-stack: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ $(id -u) -eq 0 ]]; }
is_debian() { [[ -f /etc/debian_version ]] && have apt-get; }

# Percent-decode a URL component (%2f -> /).
urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

# Split a URL into URL_USER URL_PASS URL_HOST URL_PORT URL_PATH
# (user, password and path decoded; IPv6 brackets removed).
parse_url() {
    local re='^([A-Za-z][A-Za-z0-9+.-]*)://(([^:@/]*)(:([^@/]*))?@)?(\[[^]/]*\]|[^:/?]*)(:([0-9]*))?(/([^?#]*))?(\?[^#]*)?'
    if [[ ! $1 =~ $re ]]; then
        return 1
    fi
    URL_USER=$(urldecode "${BASH_REMATCH[3]}")
    URL_PASS=$(urldecode "${BASH_REMATCH[5]}")
    URL_HOST=${BASH_REMATCH[6]}
    URL_HOST=${URL_HOST#[}
    URL_HOST=${URL_HOST%]}
    URL_PORT=${BASH_REMATCH[8]}
    URL_PATH=$(urldecode "${BASH_REMATCH[10]}")
}

is_local_host() {
    case $1 in
        '' | localhost | localhost.localdomain | 127.* | ::1 | 0.0.0.0) return 0 ;;
        "$(hostname 2>/dev/null || true)") return 0 ;;
        *) return 1 ;;
    esac
}

# TCP connect with a 2 s bound, using bash's /dev/tcp.
# shellcheck disable=SC2016 # $1/$2 expand in the inner bash
tcp_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Wait until "$@" succeeds or STACK_TIMEOUT passes.
wait_until() {
    local deadline=$((SECONDS + STACK_TIMEOUT))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# Run a command as the postgres OS user (peer auth on the local socket).
as_postgres() {
    if [[ $(id -un) == postgres ]]; then
        (cd / && "$@")
    elif is_root && have runuser; then
        (cd / && runuser -u postgres -- "$@")
    elif is_root; then
        local cmd
        printf -v cmd '%q ' "$@"
        (cd / && su -s /bin/sh postgres -c "$cmd")
    else
        return 1
    fi
}

declare -A RESULT=()
FAILED=0
NEED_PKGS=()
INSTALLED_NOW=()

# "a; b; c" from the arguments, or nothing.
join_notes() {
    local out="" n
    for n in "$@"; do
        out+="${out:+; }$n"
    done
    [[ -n $out ]] && printf ' (%s)' "$out"
    return 0
}

fail() { # dep message...
    local dep=$1
    shift
    RESULT[$dep]="FAILED: $*"
    FAILED=1
}

# ---------------------------------------------------------------- parse URLs

parse_url "$DATABASE_URL" || {
    echo "ensure-stack: cannot parse DATABASE_URL=$DATABASE_URL" >&2
    exit 64
}
PG_USER=${URL_USER:-${PGUSER:-$(id -un)}}
PG_PASS=$URL_PASS
PG_HOST=${URL_HOST:-127.0.0.1}
PG_PORT=${URL_PORT:-5432}
PG_DB=${URL_PATH:-$PG_USER}
# The same server and credentials, but the always-present "postgres" database.
[[ $DATABASE_URL =~ ^([^?#]*://[^/?#]*)(/[^?#]*)?(\?[^#]*)? ]]
PG_ADMIN_URL="${BASH_REMATCH[1]}/postgres${BASH_REMATCH[3]}"

parse_url "$REDIS_URL" || {
    echo "ensure-stack: cannot parse REDIS_URL=$REDIS_URL" >&2
    exit 64
}
REDIS_HOST=${URL_HOST:-127.0.0.1}
REDIS_PORT=${URL_PORT:-6379}

parse_url "$AMQP_URL" || {
    echo "ensure-stack: cannot parse AMQP_URL=$AMQP_URL" >&2
    exit 64
}
AMQP_USER=${URL_USER:-guest}
AMQP_PASS=${URL_PASS:-guest}
AMQP_HOST=${URL_HOST:-127.0.0.1}
AMQP_PORT=${URL_PORT:-5672}
# amqp://host and amqp://host/ both mean the default vhost "/" to our clients.
AMQP_VHOST=${URL_PATH:-/}

# Serialise concurrent runs (make test and make run started together).
# Every daemon we start gets `9>&-` so it does not inherit (and keep) the lock,
# and </dev/null plus a log file so it does not hold the caller's pipes open.
LOCK_FILE=${TMPDIR:-/tmp}/faded-skies-stack.lock
if have flock && { exec 9>>"$LOCK_FILE"; } 2>/dev/null; then
    chmod a+rw "$LOCK_FILE" 2>/dev/null || true # root and users share it
    flock -w $((STACK_TIMEOUT * 2)) 9 || log "another run holds the lock; going on anyway"
fi

# ---------------------------------------------------------------- checks

pg_up() {
    if have pg_isready; then
        pg_isready -q -t 2 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres
    else
        tcp_open "$PG_HOST" "$PG_PORT"
    fi
}

# Can we log in with the configured credentials?
pg_login() {
    PGCONNECT_TIMEOUT=3 psql -XAtq -d "$PG_ADMIN_URL" -c 'select 1' >/dev/null 2>&1
}

redis_up() {
    if have redis-cli; then
        [[ $(timeout 3 redis-cli --no-auth-warning -u "$REDIS_URL" ping 2>/dev/null) == PONG ]]
    else
        # RESP by hand: PING -> +PONG (or -NOAUTH when a password is needed).
        local reply
        # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
        reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"; printf "PING\r\n" >&3; head -c 7 <&3' \
            _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null) || return 1
        [[ $reply == +PONG* || $reply == -NOAUTH* ]]
    fi
}

# AMQP 0-9-1 handshake: send the protocol header, expect a method frame
# (Connection.Start: frame type 1, channel 0).
amqp_up() {
    local reply
    # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
    reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"; printf "AMQP\x00\x00\x09\x01" >&3; head -c 3 <&3 | od -An -tx1' \
        _ "$AMQP_HOST" "$AMQP_PORT" 2>/dev/null) || return 1
    [[ ${reply//[[:space:]]/} == 010000 ]]
}

rabbit_local_ok() {
    # rabbitmqctl talks to the local node over Erlang distribution; it is only
    # usable as root or the rabbitmq user.
    have rabbitmqctl && { is_root || [[ $(id -un) == rabbitmq ]]; }
}

# shellcheck disable=SC2317,SC2329 # called through wait_until
rabbit_ready() {
    amqp_up || return 1
    if rabbit_local_ok; then
        timeout 15 rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1 || return 1
    fi
}

# ---------------------------------------------------------------- install

pg_installed() { have psql && { have pg_ctlcluster || have pg_ctl; } && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
redis_installed() { have redis-server; }
rabbit_installed() { have rabbitmq-server && have rabbitmqctl; }

plan_installs() {
    if is_local_host "$PG_HOST"; then
        pg_up || pg_installed || NEED_PKGS+=(postgresql postgresql-client)
    fi
    have psql || NEED_PKGS+=(postgresql-client)
    if is_local_host "$REDIS_HOST"; then
        redis_up || redis_installed || NEED_PKGS+=(redis-server)
    fi
    if is_local_host "$AMQP_HOST"; then
        amqp_up || rabbit_installed || NEED_PKGS+=(rabbitmq-server)
    fi
    if [[ $STACK_SKIP_TOOLS != 1 ]]; then
        have cmake || NEED_PKGS+=(cmake)
        have pkg-config || NEED_PKGS+=(pkg-config)
        { have cc && have c++ && have make; } || NEED_PKGS+=(build-essential)
        # The gateway's test loads /docs in a real headless browser.
        have chromium || NEED_PKGS+=(chromium)
    fi
    if ((${#NEED_PKGS[@]})); then
        mapfile -t NEED_PKGS < <(printf '%s\n' "${NEED_PKGS[@]}" | sort -u)
    fi
}

print_install_help() {
    cat >&2 <<EOF
ensure-stack: missing: ${NEED_PKGS[*]}
  This script installs them only as root on Debian/Ubuntu. Install them yourself:
    Debian/Ubuntu: sudo apt-get install -y ${NEED_PKGS[*]}
    macOS (Homebrew): brew install postgresql@16 redis rabbitmq cmake pkg-config
    Fedora: sudo dnf install postgresql-server postgresql redis rabbitmq-server cmake pkgconf-pkg-config gcc gcc-c++ make
  or run only the dependencies in containers: docker compose up -d postgres redis rabbitmq
  then run this script again.
EOF
}

apt_install() {
    local policy=/usr/sbin/policy-rc.d made_policy=0
    # In a container without systemd, package scripts that start services fail
    # the install; forbid them (we start services ourselves) and undo it after.
    if [[ ! -d /run/systemd/system && ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    log "installing ${NEED_PKGS[*]} (apt log: $APT_LOG)"
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
                "${NEED_PKGS[@]}"
    } </dev/null >"$APT_LOG" 2>&1 9>&- || rc=$?
    ((made_policy)) && rm -f "$policy"
    if ((rc != 0)); then
        tail -n 20 "$APT_LOG" >&2
        echo "ensure-stack: apt-get failed (exit $rc); see $APT_LOG" >&2
        exit 1
    fi
    INSTALLED_NOW=("${NEED_PKGS[@]}")
}

just_installed() {
    local p
    for p in "${INSTALLED_NOW[@]}"; do
        [[ $p == "$1" ]] && return 0
    done
    return 1
}

# ---------------------------------------------------------------- PostgreSQL

pg_start() {
    if have pg_ctlcluster && [[ -d /etc/postgresql ]]; then
        local ver_dir ver
        if ! compgen -G '/etc/postgresql/*/*/postgresql.conf' >/dev/null; then
            # Package installed without a cluster (e.g. create_main_cluster=false).
            ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
            [[ -n $ver ]] && pg_createcluster "$ver" main </dev/null >/dev/null 9>&-
        fi
        local conf cluster
        for conf in /etc/postgresql/*/*/postgresql.conf; do
            [[ -e $conf ]] || continue
            cluster=$(basename "$(dirname "$conf")")
            ver_dir=$(dirname "$(dirname "$conf")")
            ver=$(basename "$ver_dir")
            if ! pg_ctlcluster "$ver" "$cluster" status >/dev/null 2>&1; then
                pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start </dev/null >&2 9>&- ||
                    log "pg_ctlcluster $ver $cluster start failed (log: /var/log/postgresql/postgresql-$ver-$cluster.log)"
            fi
        done
    elif have pg_ctl && [[ -n ${PGDATA:-} ]]; then
        pg_ctl -D "$PGDATA" -l "$PGDATA/server.log" -w start </dev/null >&2 9>&-
    else
        log "PostgreSQL is installed but no cluster was found (set PGDATA or use pg_createcluster)"
        return 1
    fi
}

# Allow the configured TCP URL to log in to a local server.
pg_fix_auth() {
    as_postgres psql -XAtq -p "$PG_PORT" -d postgres -c 'select 1' >/dev/null 2>&1 || {
        log "cannot reach the local server as the postgres OS user to fix authentication"
        return 1
    }
    local notes=()
    # 1. The role exists (and has the URL's password, if any).
    local exists
    exists=$(as_postgres psql -XAtq -p "$PG_PORT" -d postgres -v u="$PG_USER" \
        <<<"select 1 from pg_roles where rolname = :'u';")
    if [[ -z $exists ]]; then
        as_postgres psql -XAtq -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -v u="$PG_USER" -v p="$PG_PASS" \
            <<<"create role :\"u\" login createdb$([[ -n $PG_PASS ]] && echo " password :'p'");" >/dev/null
        notes+=("created role $PG_USER")
    elif [[ -n $PG_PASS ]]; then
        as_postgres psql -XAtq -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -v u="$PG_USER" -v p="$PG_PASS" \
            <<<"alter role :\"u\" login password :'p';" >/dev/null
        notes+=("set password of role $PG_USER")
    fi
    if pg_login; then
        PG_NOTES+=("${notes[@]}")
        return 0
    fi
    # 2. No password in the URL (or md5/scram still refuses): trust loopback TCP.
    local hba
    hba=$(as_postgres psql -XAtq -p "$PG_PORT" -d postgres -c 'show hba_file')
    if [[ -f $hba ]] && ! grep -qF "$HBA_MARKER" "$hba"; then
        [[ -e $hba.orig-faded-skies ]] || cp -p "$hba" "$hba.orig-faded-skies"
        local tmp
        tmp=$(mktemp)
        {
            echo "$HBA_MARKER"
            printf 'host    all    all    127.0.0.1/32    trust\n'
            printf 'host    all    all    ::1/128         trust\n'
            echo '# end faded-skies'
            cat "$hba"
        } >"$tmp"
        cat "$tmp" >"$hba" # keep owner and mode of the original
        rm -f "$tmp"
        as_postgres psql -XAtq -p "$PG_PORT" -d postgres -c 'select pg_reload_conf()' >/dev/null
        notes+=("loopback trust added to $hba")
    fi
    PG_NOTES+=("${notes[@]}")
    wait_until pg_login
}

pg_ensure_db() {
    local exists
    exists=$(PGCONNECT_TIMEOUT=3 psql -XAtq -d "$PG_ADMIN_URL" -v d="$PG_DB" \
        <<<"select 1 from pg_database where datname = :'d';") || return 1
    [[ -n $exists ]] && return 0
    if PGCONNECT_TIMEOUT=3 createdb --maintenance-db="$PG_ADMIN_URL" "$PG_DB" 2>/dev/null ||
        { is_local_host "$PG_HOST" && as_postgres createdb -p "$PG_PORT" -O "$PG_USER" "$PG_DB"; }; then
        PG_NOTES+=("created database $PG_DB")
    else
        return 1
    fi
}

ensure_postgres() {
    PG_NOTES=("already running")
    local state=ok
    if ! pg_up; then
        if ((CHECK_ONLY)); then
            fail postgres "not reachable at $PG_HOST:$PG_PORT"
            return
        fi
        if ! is_local_host "$PG_HOST"; then
            fail postgres "not reachable at $PG_HOST:$PG_PORT (remote host: not starting anything)"
            return
        fi
        if ! pg_installed; then
            fail postgres "not installed"
            return
        fi
        if ! is_root && [[ $(id -un) != postgres ]] && [[ -z ${PGDATA:-} ]]; then
            fail postgres "installed but stopped; start it: sudo pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
            return
        fi
        pg_start || true
        if ! wait_until pg_up; then
            fail postgres "did not become ready within ${STACK_TIMEOUT}s (see /var/log/postgresql/)"
            return
        fi
        PG_NOTES=()
        state=started
        just_installed postgresql && state="installed and started"
    fi
    if ! pg_login; then
        if ((CHECK_ONLY)) || ! is_local_host "$PG_HOST" || ! pg_fix_auth; then
            fail postgres "server is up but $PG_USER cannot log in with DATABASE_URL (psql \"$PG_ADMIN_URL\")"
            return
        fi
    fi
    if ((CHECK_ONLY)); then
        local exists
        exists=$(psql -XAtq -d "$PG_ADMIN_URL" -v d="$PG_DB" <<<"select 1 from pg_database where datname = :'d';" 2>/dev/null || true)
        [[ -n $exists ]] || {
            fail postgres "database $PG_DB does not exist"
            return
        }
    elif ! pg_ensure_db; then
        fail postgres "could not create database $PG_DB"
        return
    fi
    RESULT[postgres]="$state$(join_notes "${PG_NOTES[@]}")"
}

# ---------------------------------------------------------------- Redis

redis_start() {
    local dir logfile
    if is_root; then
        dir=/var/lib/redis
        logfile=/var/log/redis/ci.log
    else
        dir=$REPO_ROOT/var/redis
        logfile=$dir/redis.log
    fi
    mkdir -p "$dir" "$(dirname "$logfile")"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir "$dir" --logfile "$logfile" </dev/null >&2 9>&-
}

ensure_redis() {
    local state="ok (already running)"
    if ! redis_up; then
        if ((CHECK_ONLY)); then
            fail redis "not reachable at $REDIS_HOST:$REDIS_PORT"
            return
        fi
        if ! is_local_host "$REDIS_HOST"; then
            fail redis "not reachable at $REDIS_HOST:$REDIS_PORT (remote host: not starting anything)"
            return
        fi
        if ! redis_installed; then
            fail redis "not installed"
            return
        fi
        if tcp_open "$REDIS_HOST" "$REDIS_PORT"; then
            fail redis "port $REDIS_PORT is open but PING fails (password in REDIS_URL? another program on the port?)"
            return
        fi
        redis_start || true
        if ! wait_until redis_up; then
            fail redis "did not become ready within ${STACK_TIMEOUT}s"
            return
        fi
        state=started
        just_installed redis-server && state="installed and started"
    fi
    RESULT[redis]=$state
}

# ---------------------------------------------------------------- RabbitMQ

RABBIT_STARTING=0

rabbit_start() {
    if just_installed rabbitmq-server && [[ ! -d /var/lib/rabbitmq/mnesia ]]; then
        # A fresh node: name it rabbit@localhost, so that it
        # does not depend on the container's hostname resolving.
        local envf=/etc/rabbitmq/rabbitmq-env.conf
        if ! grep -qs '^NODENAME=' "$envf"; then
            printf 'NODENAME=rabbit@localhost\n' >>"$envf"
        fi
    fi
    if is_root || [[ $(id -un) == rabbitmq ]]; then
        mkdir -p /var/log/rabbitmq 2>/dev/null || true
        rabbitmq-server -detached </dev/null >>/var/log/rabbitmq/ensure-stack.log 2>&1 9>&- || return 1
        RABBIT_STARTING=1
    else
        return 1
    fi
}

# Phase 1: kick off the (slow) broker start so it overlaps with the others.
begin_rabbitmq() {
    amqp_up && return 0
    ((CHECK_ONLY)) && return 0
    is_local_host "$AMQP_HOST" || return 0
    rabbit_installed || return 0
    # Port closed and no node answering: start it.
    if rabbit_local_ok && timeout 10 rabbitmqctl -q status >/dev/null 2>&1; then
        # The Erlang node runs but the broker app does not (still booting, or
        # `rabbitmqctl stop_app`): start_app is a no-op for a booting app.
        timeout 15 rabbitmqctl -q start_app >/dev/null 2>&1 || true
        RABBIT_STARTING=1
        return 0
    fi
    rabbit_start || true
}

rabbit_ensure_user() {
    rabbit_local_ok || return 0
    local notes=()
    if ! timeout 15 rabbitmqctl -q authenticate_user "$AMQP_USER" "$AMQP_PASS" >/dev/null 2>&1; then
        if timeout 15 rabbitmqctl -s list_users 2>/dev/null | cut -f1 | grep -qxF "$AMQP_USER"; then
            timeout 15 rabbitmqctl -q change_password "$AMQP_USER" "$AMQP_PASS" >/dev/null
            notes+=("reset password of $AMQP_USER")
        else
            timeout 15 rabbitmqctl -q add_user "$AMQP_USER" "$AMQP_PASS" >/dev/null
            notes+=("created user $AMQP_USER")
        fi
    fi
    if ! timeout 15 rabbitmqctl -s list_vhosts name 2>/dev/null | grep -qxF "$AMQP_VHOST"; then
        timeout 15 rabbitmqctl -q add_vhost "$AMQP_VHOST" >/dev/null
        notes+=("created vhost $AMQP_VHOST")
    fi
    if ! timeout 15 rabbitmqctl -s list_user_permissions "$AMQP_USER" 2>/dev/null | cut -f1 | grep -qxF "$AMQP_VHOST"; then
        timeout 15 rabbitmqctl -q set_permissions -p "$AMQP_VHOST" "$AMQP_USER" '.*' '.*' '.*' >/dev/null
        notes+=("granted $AMQP_USER on vhost $AMQP_VHOST")
    fi
    RABBIT_NOTES+=("${notes[@]}")
}

# The definitions (written for vhost "/") for the vhost of AMQP_URL.
definitions_for_vhost() {
    python3 - "$REPO_ROOT/deploy/rabbitmq/definitions.json" "$AMQP_VHOST" <<'PY'
import json, sys

path, vhost = sys.argv[1], sys.argv[2]

def move(value):
    if isinstance(value, dict):
        return {k: (vhost if k == "vhost" and v == "/" else move(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [move(v) for v in value]
    return value

definitions = move(json.load(open(path)))
definitions["vhosts"] = [{"name": vhost}]
print(json.dumps(definitions))
PY
}

# What the definitions declare, one line each: "queue <name>" and "binding <queue> <key>".
# shellcheck disable=SC2317,SC2329 # called through wait_until
definitions_expected() {
    python3 - "$REPO_ROOT/deploy/rabbitmq/definitions.json" <<'PY'
import json, sys

definitions = json.load(open(sys.argv[1]))
for queue in definitions.get("queues", []):
    print("queue", queue["name"])
for binding in definitions.get("bindings", []):
    print("binding", binding["destination"], binding["routing_key"])
PY
}

# What the broker has in AMQP_VHOST, in the same form.
# shellcheck disable=SC2317,SC2329 # called through wait_until
definitions_present() {
    local expected present
    expected=$(definitions_expected | sort) || return 1
    present=$({
        timeout 15 rabbitmqctl -q -s list_queues -p "$AMQP_VHOST" name | sed 's/^/queue /'
        timeout 15 rabbitmqctl -q -s list_bindings -p "$AMQP_VHOST" source_name destination_name routing_key |
            awk -F '\t' '$1 == "faded_skies.events" { print "binding", $2, $3 }'
    } 2>/dev/null | sort) || return 1
    [[ -z $(comm -23 <(printf '%s\n' "$expected") <(printf '%s\n' "$present")) ]]
}

# Imports the service users (development passwords) and the definitions into AMQP_URL's
# vhost, then waits until every queue and binding they declare exists: `import_definitions`
# may return before it is done (RabbitMQ 3.10 imports in the background), and `make run`
# starts the services right after. Idempotent; users and vhosts the files do not name (guest,
# the URL's user) are left as they are.
rabbit_import_definitions() {
    rabbit_local_ok || return 0
    local output definitions
    if ! output=$(timeout 60 rabbitmqctl -q import_definitions "$REPO_ROOT/deploy/rabbitmq/dev-users.json" 2>&1 9>&-); then
        log "dev-users.json: $output"
        return 1
    fi
    # A file the rabbitmq user (rabbitmqctl runs as it) can read; rabbitmqctl 3.10 reads no
    # definitions from stdin.
    definitions=$(mktemp "${TMPDIR:-/tmp}/faded-skies-definitions.XXXXXX.json") || return 1
    chmod 644 "$definitions"
    if ! definitions_for_vhost >"$definitions"; then
        rm -f "$definitions"
        return 1
    fi
    output=$(timeout 60 rabbitmqctl -q import_definitions "$definitions" 2>&1 9>&-)
    local status=$?
    rm -f "$definitions"
    if ((status != 0)); then
        log "definitions.json: $output"
        # A queue declared earlier with other arguments (an older version of the consumer):
        # the broker refuses to change it.
        [[ $output == *inequivalent* ]] &&
            log "a queue exists with other arguments; delete it (rabbitmqctl delete_queue -p '$AMQP_VHOST' <name>) and run again"
        return 1
    fi
    if ! wait_until definitions_present; then
        log "the queues and bindings of definitions.json did not appear in vhost $AMQP_VHOST within ${STACK_TIMEOUT}s"
        return 1
    fi
    RABBIT_NOTES+=("definitions loaded into vhost $AMQP_VHOST")
}

# Enabling a plugin starts it on the running node; nothing restarts.
rabbit_ensure_management() {
    rabbit_local_ok || return 0
    tcp_open "$AMQP_HOST" 15672 && return 0
    timeout 60 rabbitmq-plugins -q enable rabbitmq_management >/dev/null 9>&- || return 1
    wait_until tcp_open "$AMQP_HOST" 15672 || return 1
    RABBIT_NOTES+=("enabled the management plugin")
}

ensure_rabbitmq() {
    RABBIT_NOTES=("already running")
    local state=ok
    if ((RABBIT_STARTING)) || ! amqp_up; then
        if ((CHECK_ONLY)); then
            fail rabbitmq "not reachable at $AMQP_HOST:$AMQP_PORT"
            return
        fi
        if ! is_local_host "$AMQP_HOST"; then
            fail rabbitmq "not reachable at $AMQP_HOST:$AMQP_PORT (remote host: not starting anything)"
            return
        fi
        if ! rabbit_installed; then
            fail rabbitmq "not installed"
            return
        fi
        if ((!RABBIT_STARTING)); then
            fail rabbitmq "installed but stopped; start it as root: rabbitmq-server -detached"
            return
        fi
        if ! wait_until rabbit_ready; then
            fail rabbitmq "did not become ready within ${STACK_TIMEOUT}s (see /var/log/rabbitmq/)"
            return
        fi
        RABBIT_NOTES=()
        state=started
        just_installed rabbitmq-server && state="installed and started"
    fi
    if ((!CHECK_ONLY)) && is_local_host "$AMQP_HOST"; then
        rabbit_ensure_user || {
            fail rabbitmq "broker is up but user $AMQP_USER could not be set up"
            return
        }
        rabbit_import_definitions || {
            fail rabbitmq "could not import deploy/rabbitmq/{dev-users,definitions}.json (rabbitmqctl import_definitions)"
            return
        }
        rabbit_ensure_management || {
            fail rabbitmq "could not enable the management plugin (rabbitmq-plugins enable rabbitmq_management)"
            return
        }
    fi
    RESULT[rabbitmq]="$state$(join_notes "${RABBIT_NOTES[@]}")"
}

# ---------------------------------------------------------------- main

if ((!CHECK_ONLY)); then
    plan_installs
    if ((${#NEED_PKGS[@]})); then
        if [[ $STACK_NO_INSTALL == 1 ]] || ! is_root || ! is_debian; then
            print_install_help
            exit 2
        fi
        apt_install
    fi
fi

begin_rabbitmq
ensure_postgres
echo "postgres: ${RESULT[postgres]}"
ensure_redis
echo "redis: ${RESULT[redis]}"
ensure_rabbitmq
echo "rabbitmq: ${RESULT[rabbitmq]}"
if [[ $STACK_SKIP_TOOLS != 1 ]]; then
    missing=()
    for t in cmake pkg-config cc c++ make chromium; do
        have "$t" || missing+=("$t")
    done
    if ((${#missing[@]})); then
        echo "build tools: FAILED: missing ${missing[*]}"
        FAILED=1
    elif just_installed cmake || just_installed pkg-config || just_installed build-essential \
        || just_installed chromium; then
        tools=()
        for t in cmake pkg-config build-essential chromium; do
            just_installed "$t" && tools+=("$t")
        done
        echo "build tools: ok (installed ${tools[*]})"
    else
        echo "build tools: ok"
    fi
fi

exit "$FAILED"
