#!/bin/sh
# Loads the broker definitions into a running RabbitMQ through its management API:
#   1. one user per service (AMQP_USERS), each with the password in AMQP_PASSWORD_<USER>
#      and no tags (no management access, and never `impersonator`: the broker must refuse a
#      user_id that is not the connection's own);
#   2. definitions.json: the vhost, the events exchange, every queue the services consume with
#      its retry and dead-letter queues and its bindings (declared before any service starts, so
#      the broker keeps events published before their consumer first runs), and each user's
#      permissions (its own queues) and topic permissions (the routing keys it may publish and
#      bind). The management API imports it before it answers.
# Idempotent: run it at every deploy, before the services start. The Kubernetes Job
# (job.yaml) and compose's rabbitmq-definitions service run it; `make run`'s local broker
# imports dev-users.json and definitions.json with rabbitmqctl instead
# (scripts/ensure-stack.sh). POSIX sh and curl only (the curlimages/curl image).
#
# Environment:
#   RABBITMQ_API_URL          management API, e.g. https://rabbitmq.internal:15671 (no credentials)
#   RABBITMQ_ADMIN_USER       an administrator of the broker
#   RABBITMQ_ADMIN_PASSWORD
#   AMQP_USERS                the service users, e.g. "auth catalog orders"
#   AMQP_PASSWORD_<USER>      each one's password (name upper-cased): letters, digits, - and _
#                             only (it goes into AMQP_URL unescaped), e.g. `openssl rand -hex 32`
#   AMQP_PASSWORD_MIN_LENGTH  [24] shorter passwords are refused (compose's dev ones are short)
#   DEFINITIONS               [definitions.json beside this script]
set -eu

here=$(dirname "$0")
DEFINITIONS=${DEFINITIONS:-$here/definitions.json}
AMQP_PASSWORD_MIN_LENGTH=${AMQP_PASSWORD_MIN_LENGTH:-24}

fail() {
    echo "load-definitions: $*" >&2
    exit 1
}

: "${RABBITMQ_API_URL:?set RABBITMQ_API_URL}"
: "${RABBITMQ_ADMIN_USER:?set RABBITMQ_ADMIN_USER}"
: "${RABBITMQ_ADMIN_PASSWORD:?set RABBITMQ_ADMIN_PASSWORD}"
: "${AMQP_USERS:?set AMQP_USERS}"
[ -r "$DEFINITIONS" ] || fail "cannot read $DEFINITIONS"

# A value for a double-quoted string in curl's config syntax.
quoted() {
    printf '%s' "$1" | sed 's/[\\"]/\\&/g'
}

# curl with the admin's credentials passed on stdin (as a config file), so that neither they
# nor a request body with a password show in the process list. Retries while the broker
# starts (compose starts it just before).
api() { # method path [config lines for the body]
    method=$1
    path=$2
    shift 2
    {
        printf 'user = "%s:%s"\n' "$(quoted "$RABBITMQ_ADMIN_USER")" "$(quoted "$RABBITMQ_ADMIN_PASSWORD")"
        for line in "$@"; do
            printf '%s\n' "$line"
        done
    } | curl --config - --silent --show-error --fail-with-body \
        --retry 30 --retry-connrefused --retry-delay 2 --connect-timeout 5 --max-time 60 \
        --request "$method" --header 'content-type: application/json' \
        "${RABBITMQ_API_URL%/}$path"
}

# Every user the definitions give permissions to must be created below, or the import fails
# half-way with "no_such_user": check before changing anything.
missing=$(sed -n 's/^ *"user": *"\([^"]*\)".*/\1/p' "$DEFINITIONS" | sort -u |
    while read -r user; do
        case " $AMQP_USERS " in
            *" $user "*) ;;
            *) printf '%s ' "$user" ;;
        esac
    done)
[ -z "$missing" ] || fail "$DEFINITIONS names users AMQP_USERS does not list: $missing"

password_of() {
    printenv "AMQP_PASSWORD_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')" || true
}

# Every password is checked before any user changes.
for user in $AMQP_USERS; do
    case $user in
        *[!a-z0-9_-]* | '') fail "bad user name '$user'" ;;
    esac
    password=$(password_of "$user")
    case $password in
        '') fail "no password for $user (AMQP_PASSWORD_<USER>)" ;;
        *[!A-Za-z0-9_-]*) fail "the password of $user may hold only letters, digits, - and _" ;;
    esac
    [ "${#password}" -ge "$AMQP_PASSWORD_MIN_LENGTH" ] ||
        fail "the password of $user is shorter than $AMQP_PASSWORD_MIN_LENGTH characters"
done

for user in $AMQP_USERS; do
    password=$(password_of "$user")
    api PUT "/api/users/$user" "data = \"{\\\"password\\\":\\\"$password\\\",\\\"tags\\\":\\\"\\\"}\""
    echo "load-definitions: user $user"
done

api POST /api/definitions "data-binary = \"@$(quoted "$DEFINITIONS")\""
echo "load-definitions: $DEFINITIONS loaded"
