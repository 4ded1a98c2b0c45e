#!/usr/bin/env bash
# Starts every service under services/ as its own process (the gateway last), stays in the
# foreground and stops them all on Ctrl-C or SIGTERM. Running it again is safe: each service
# runs its migrations and idempotent seeds at start.
set -euo pipefail
cd "$(dirname "$0")/.."

# Start order: auth first (it serves the JWKS the others verify with), the gateway last.
order=(auth catalog orders payments tracking chat notification realtime gateway)
services=()
for name in "${order[@]}"; do
  [[ -f "services/$name/Cargo.toml" ]] && services+=("$name")
done

if [[ ${#services[@]} -eq 0 ]]; then
  echo "No services exist yet (services/ is empty): the shared crates are built and the stack is up."
  echo "Nothing to run; 'make test' exercises the crates against PostgreSQL, Redis and RabbitMQ."
  exit 0
fi

packages=()
for name in "${services[@]}"; do packages+=(-p "$name"); done
cargo build "${packages[@]}"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

pids=()
stop() {
  trap - INT TERM
  echo "stopping ${#pids[@]} processes..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  exit 0
}
trap stop INT TERM

# A local .env (copied from .env.example) overrides the built-in defaults.
if [[ -f .env ]]; then
  set -a
  # shellcheck disable=SC1091
  source .env
  set +a
fi
# The binaries default to production, which refuses the built-in secrets and the payment
# sandbox; this is a developer machine.
export APP_ENV=${APP_ENV:-development}
export LOG_FORMAT=${LOG_FORMAT:-pretty}
# Local demo staff: the first admin, created by auth when no admin exists.
export FS_ADMIN_EMAIL=${FS_ADMIN_EMAIL:-admin@fadedskies.local}
export FS_ADMIN_PASSWORD=${FS_ADMIN_PASSWORD:-ChangeMe-Local-1!}
# The demo catalog (idempotent: only what is missing is added).
export CATALOG_SEED_DEMO=${CATALOG_SEED_DEMO:-true}

# realtime proxies the guide's socket events to tracking and chat, as the user, once they exist
# (until then it answers those events with an error ack).
if [[ -f services/tracking/Cargo.toml ]]; then
  export REALTIME_UPSTREAM_TRACKING=${REALTIME_UPSTREAM_TRACKING:-http://127.0.0.1:8085}
fi
if [[ -f services/chat/Cargo.toml ]]; then
  export REALTIME_UPSTREAM_CHAT=${REALTIME_UPSTREAM_CHAT:-http://127.0.0.1:8086}
fi

# Each service talks to RabbitMQ as its own user (scripts/ensure-stack.sh loaded them from
# deploy/rabbitmq), which may publish only that service's events: the broker of AMQP_URL,
# with the service's user and development password. AMQP_URL_<SERVICE> overrides one.
amqp_base=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
if [[ ! $amqp_base =~ ^(amqps?)://([^@/]*@)?(.*)$ ]]; then
  echo "cannot parse AMQP_URL=$amqp_base" >&2
  exit 64
fi
amqp_scheme=${BASH_REMATCH[1]}
amqp_rest=${BASH_REMATCH[3]}
amqp_url_of() {
  local own="AMQP_URL_${1^^}"
  if [[ -n ${!own:-} ]]; then
    printf '%s' "${!own}"
  else
    printf '%s://%s:%s-dev@%s' "$amqp_scheme" "$1" "$1" "$amqp_rest"
  fi
}

for name in "${services[@]}"; do
  echo "starting $name"
  if [[ $name == gateway ]]; then
    "$target_dir/debug/$name" &
  else
    AMQP_URL=$(amqp_url_of "$name") "$target_dir/debug/$name" &
  fi
  pids+=($!)
done

if [[ -f services/gateway/Cargo.toml ]]; then
  echo "gateway: http://127.0.0.1:8080 (API docs at /docs/, Socket.IO at /socket.io/); Ctrl-C stops everything"
else
  echo "no gateway yet: services listen on their own ports (auth 8081, ...); Ctrl-C stops everything"
fi
echo "admin: $FS_ADMIN_EMAIL / $FS_ADMIN_PASSWORD"
wait -n || true
echo "a service exited; stopping the rest"
stop
