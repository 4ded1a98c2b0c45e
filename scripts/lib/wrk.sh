# shellcheck shell=bash
# wrk_row URL [wrk args...]: a warm-up run, then a measured one, printed as the Markdown cells
# "req/s | p50 ms | p99 ms | non-2xx". Reads SECONDS_PER_RUN and CONNECTIONS.
wrk_row() {
    local url=$1
    shift
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" >/dev/null 2>&1
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" \
        | python3 scripts/lib/wrk_stats.py row
}
