#!/usr/bin/env bash
# Poll URL until it answers HTTP 200, or give up after TIMEOUT seconds.
#
#   scripts/wait-for-http.sh URL [TIMEOUT]
#   scripts/wait-for-http.sh http://127.0.0.1:8081/health/live 30
#
# Exit 0 on a 200, 1 on timeout (printing the last status seen), 64 on bad usage.
# Uses curl when present, otherwise a plain HTTP/1.1 GET over bash's /dev/tcp
# (http:// only).
set -euo pipefail

if (($# < 1 || $# > 2)); then
    echo "usage: $0 URL [TIMEOUT_SECONDS]" >&2
    exit 64
fi
url=$1
timeout_s=${2:-30}
if [[ ! $timeout_s =~ ^[0-9]+$ ]]; then
    echo "wait-for-http: TIMEOUT must be whole seconds, got: $timeout_s" >&2
    exit 64
fi

# Print the status code of one GET (000 when nothing answered).
status_of() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true
        return
    fi
    local re='^http://(\[[^]]+\]|[^:/]+)(:([0-9]+))?(/.*)?$'
    if [[ ! $url =~ $re ]]; then
        echo "wait-for-http: without curl only http:// URLs are supported: $url" >&2
        exit 64
    fi
    local host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]:-80} path=${BASH_REMATCH[4]:-/}
    host=${host#[}
    host=${host%]}
    local line
    # shellcheck disable=SC2016 # the positional parameters expand in the inner bash
    line=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$3" "$1" >&3
        head -n 1 <&3' _ "$host" "$port" "$path" 2>/dev/null) || true
    if [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo 000
    fi
}

deadline=$((SECONDS + timeout_s))
code=000
while :; do
    code=$(status_of)
    if [[ $code == 200 ]]; then
        exit 0
    fi
    if ((SECONDS >= deadline)); then
        echo "wait-for-http: $url not ready after ${timeout_s}s (last status: $code)" >&2
        exit 1
    fi
    sleep 0.5
done
