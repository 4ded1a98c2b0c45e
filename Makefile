# Faded Skies — the commands a developer and CI need. See README.md.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
NEXTEST_PROFILE ?= $(if $(CI),ci,default)

.PHONY: help stack tools build run test lint lint-infra fmt bench instructions clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

stack: ## Make sure PostgreSQL, Redis and RabbitMQ are up (start or install them)
	@bash scripts/ensure-stack.sh

tools: ## Install the cargo tools the targets use (cargo-nextest)
	@command -v cargo-nextest >/dev/null 2>&1 || $(CARGO) install --locked cargo-nextest

build: ## Build every crate and service
	$(CARGO) build --workspace --all-targets

run: stack ## Start every service and the gateway locally (Ctrl-C stops them all)
	@bash scripts/run.sh

test: stack tools ## Run every unit and integration test against the real servers, and the doctests
	$(CARGO) nextest run --workspace --profile $(NEXTEST_PROFILE) --no-tests=fail
	# nextest does not run doctests.
	$(CARGO) test --doc --workspace

lint: stack ## Formatting and clippy, warnings as errors (the gateway build needs cmake)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

lint-infra: ## Validate Dockerfile, compose, Kubernetes, workflows and scripts (installs the linters)
	@bash scripts/lint-infra.sh --install

fmt: ## Format the code
	$(CARGO) fmt --all

bench: stack ## Benchmarks (results go in docs/benchmarks.md)
	$(CARGO) bench -p auth-token --bench verify
	$(CARGO) bench -p events --bench throughput
	$(CARGO) bench -p auth --bench passwords
	$(CARGO) bench -p payments --bench saga
	$(CARGO) bench -p e2e --bench checkout
	bash scripts/bench-gateway.sh
	bash scripts/bench-catalog.sh
	bash scripts/bench-realtime.sh

instructions: stack ## Instructions per gateway request, counted by callgrind (repeatable; docs/benchmarks.md)
	bash scripts/gateway-instructions.sh

clean: ## Remove build output
	$(CARGO) clean
