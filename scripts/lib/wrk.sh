# shellcheck shell=bash
# wrk_row URL [wrk args...]: a warm-up run, then a measured one, printed as the Markdown cells
# "req/s | p50 ms | p99 ms | non-2xx". Reads SECONDS_PER_RUN and CONNECTIONS.
wrk_row() {
    local url=$1
    shift
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" >/dev/null 2>&1
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
p50, p99 = ms("50%"), ms("99%")
print(f"{rps:.0f} | {p50:.2f} | {p99:.2f} | {errors.group(1) if errors else 0}")
'
}
