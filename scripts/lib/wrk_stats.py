#!/usr/bin/env python3
"""Turns wrk runs into the tables of docs/benchmarks.md.

  wrk_stats.py parse ENDPOINT MODE PATH CPU_TICKS < wrk-output   >> results.jsonl
  wrk_stats.py gateway-table results.jsonl
  wrk_stats.py row < wrk-output

`parse` reads one `wrk --latency` report and prints one JSON line; CPU_TICKS is the proxy's
CPU time over the run in clock ticks (0 when there is no proxy). `gateway-table` prints the
medians over all runs of each (endpoint, mode, path). `row` prints one report as the
Markdown cells "req/s | p50 ms | p99 ms | non-2xx".
"""

import json
import os
import re
import statistics
import sys

PATHS = ["direct", "nginx", "gateway", "bare-hyper", "bare-pingora"]


def ms(text, label):
    match = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def report(text):
    """Throughput, median and 99th percentile latency (ms), and non-2xx count of one run."""
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50": ms(text, "50%"),
        "p99": ms(text, "99%"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def parse(endpoint, mode, path, ticks):
    text = sys.stdin.read()
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    cpu_us = None
    if int(ticks) > 0 and requests:
        cpu_us = int(ticks) * 1e6 / os.sysconf("SC_CLK_TCK") / requests
    print(json.dumps({
        "endpoint": endpoint,
        "mode": mode,
        "path": path,
        **report(text),
        "cpu_us": cpu_us,
    }))


def row():
    run = report(sys.stdin.read())
    print(f"{run['rps']:.0f} | {run['p50']:.2f} | {run['p99']:.2f} | {run['non2xx']}")


def gateway_table(results_file):
    with open(results_file) as results:
        runs = [json.loads(line) for line in results if line.strip()]
    groups = {}
    for run in runs:
        groups.setdefault((run["endpoint"], run["mode"], run["path"]), []).append(run)
    endpoints = list(dict.fromkeys(run["endpoint"] for run in runs))

    def runs_of(mode):
        return max(len(group) for key, group in groups.items() if key[1] == mode)

    def median(key, group):
        values = [run[key] for run in group if run[key] is not None]
        return statistics.median(values) if values else None

    print(f"Saturation (64 connections, as fast as they go), "
          f"medians of {runs_of('saturation')} runs:\n")
    print("| endpoint | path | req/s | req/s range | p50 ms | p99 ms | proxy CPU µs/req | non-2xx |")
    print("|---|---|---|---|---|---|---|---|")
    for endpoint in endpoints:
        for path in PATHS:
            group = groups.get((endpoint, "saturation", path), [])
            if not group:
                continue
            cpu = median("cpu_us", group)
            low, high = min(r["rps"] for r in group), max(r["rps"] for r in group)
            print(f"| {endpoint} | {path} | {median('rps', group):.0f} | {low:.0f}–{high:.0f} "
                  f"| {median('p50', group):.2f} | {median('p99', group):.2f} "
                  f"| {'–' if cpu is None else f'{cpu:.1f}'} "
                  f"| {sum(r['non2xx'] for r in group)} |")
    print()
    for endpoint in endpoints:
        nginx = groups.get((endpoint, "saturation", "nginx"))
        gateway = groups.get((endpoint, "saturation", "gateway"))
        if nginx and gateway:
            share = median("rps", gateway) / median("rps", nginx) * 100
            print(f"- {endpoint}: the gateway at {share:.1f} % of nginx's throughput")

    pace = int(os.environ.get("PACE_MS", "20"))
    print(f"\nPaced (64 connections, each waiting {pace // 2}–{pace * 3 // 2} ms, at random, "
          f"between requests), medians of {runs_of('paced')} runs:\n")
    print("| endpoint | path | req/s | p50 ms | p50 range ms | p99 ms | p50 over direct ms |")
    print("|---|---|---|---|---|---|---|")
    for endpoint in endpoints:
        direct = groups.get((endpoint, "paced", "direct"))
        for path in PATHS:
            group = groups.get((endpoint, "paced", path), [])
            if not group:
                continue
            over = "–" if path == "direct" or not direct else \
                f"{median('p50', group) - median('p50', direct):+.2f}"
            low, high = min(r["p50"] for r in group), max(r["p50"] for r in group)
            print(f"| {endpoint} | {path} | {median('rps', group):.0f} "
                  f"| {median('p50', group):.2f} | {low:.2f}–{high:.2f} "
                  f"| {median('p99', group):.2f} | {over} |")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "parse":
        parse(*args)
    elif command == "gateway-table":
        gateway_table(*args)
    elif command == "row":
        row()
    else:
        sys.exit(f"unknown command {command}")
