# Front Door: `make run` starts the platform locally, `make test` checks it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SERVICES := contacts allocation notifications outcomes
# Every package, editable. A package whose pyproject.toml is not there yet is skipped.
PACKAGE_DIRS := contracts services/platform deploy/stack $(addprefix services/,$(SERVICES))
PYPROJECTS := $(wildcard $(addsuffix /pyproject.toml,$(PACKAGE_DIRS)))
INSTALLED := $(patsubst %/pyproject.toml,%,$(PYPROJECTS))
STAMP := $(VENV)/.frontdoor-installed
MYPY_TARGETS := $(wildcard contracts/frontdoor_contracts services/platform/frontdoor_platform deploy/stack/frontdoor_stack deploy/k8s/frontdoor_k8s \
                 $(foreach s,$(SERVICES),services/$(s)/$(s)))
# The exact versions CI tested, with hashes: `make venv` installs them, `make lock` makes them.
LOCK := requirements.lock
LOCKED := $(VENV)/.frontdoor-locked
# The local packages (frontdoor-contracts, frontdoor-platform, ...) are installed editable, never locked.
LOCAL_PACKAGES := $(addprefix frontdoor-,$(notdir $(INSTALLED)))
LOCK_FLAGS ?=
PIP_INSTALL := $(BIN)/python -m pip install -q --disable-pip-version-check --no-input
UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
UV := UV_CACHE_DIR=$(UV_CACHE_DIR) UV_PYTHON_DOWNLOADS=never $(BIN)/uv
# Duplicate-code check: DUPES_GATE=0 prints what it finds without failing.
DUPES_GATE ?= 1
DUPES_TARGETS := $(wildcard services/platform/frontdoor_platform $(foreach s,$(SERVICES),services/$(s)/$(s)))

.PHONY: help venv lock kafka postgres chromium run up down demo test lint layers dupes typecheck clean

help:
	@echo "make run    the whole platform locally, playing the seeds' year at a business day every 4s (Ctrl-C stops it)"
	@echo "make test   lint, type-check and every test (starts a real Kafka broker)"
	@echo "make up     the platform in the background; make down stops it"
	@echo "make venv | lock | kafka | postgres | chromium | lint | layers | dupes | typecheck | demo | clean"

venv: $(STAMP)

# Quiet installs: no pip version nag, and not setuptools' page-long notice per editable package.
$(LOCKED) $(STAMP): export PYTHONWARNINGS := ignore:Editable installation

# First exactly what requirements.lock pins, hash-checked (again whenever the lock changes) ...
$(LOCKED): $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --require-hashes -r $(LOCK)
	@touch $@

# ... then every package editable without its dependencies (the lock has them), built with the
# locked setuptools. A dependency a pyproject.toml or requirements-dev.txt names that the lock
# lacks (or pins at a version it refuses) stops here: run `make lock`.
$(STAMP): $(LOCKED) $(PYPROJECTS) requirements-dev.txt Makefile
	$(PIP_INSTALL) --no-deps --no-build-isolation $(addprefix -e ./,$(INSTALLED))
	@out=$$($(BIN)/python -m pip check 2>&1) && out=$$($(PIP_INSTALL) --dry-run --no-index -r requirements-dev.txt 2>&1) \
		|| { echo "$$out"; echo "$(LOCK) does not cover every pyproject.toml and requirements-dev.txt: run make lock"; exit 1; }
	@touch $@

# Pins requirements-dev.txt and every package's dependencies, with hashes, into requirements.lock,
# keeping the versions already pinned unless a requirement needs another: after adding or changing
# a dependency, `make lock` then `make venv`. LOCK_FLAGS=--upgrade takes the newest of everything,
# LOCK_FLAGS="--upgrade-package NAME" of one. An unchanged lock is left as it is (no reinstall).
lock: $(LOCKED)
	cp $(LOCK) $(LOCK).new
	printf '%s\n' $(addprefix ./,$(INSTALLED)) | $(UV) pip compile -q --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" $(addprefix --no-emit-package ,$(LOCAL_PACKAGES)) $(LOCK_FLAGS) \
		requirements-dev.txt - -o $(LOCK).new || { rm -f $(LOCK).new; exit 1; }
	@if cmp -s $(LOCK) $(LOCK).new; then rm $(LOCK).new; echo "$(LOCK) unchanged"; else mv $(LOCK).new $(LOCK); fi

kafka: venv
	$(BIN)/frontdoor-stack fetch

postgres:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
		echo "installing Debian's PostgreSQL server (tests run it as a throwaway cluster)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi

# Headless Chromium and its driver, for the page tests driven through Selenium.
chromium:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian's chromium and chromium-driver (the page tests drive a headless browser)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# Debian's Prometheus (with promtool) and Alertmanager (with amtool): the monitoring tests run them, and
# `make run` starts them against the stack when they are there. Recommends left out (no node exporter).
.PHONY: prometheus
prometheus:
	@if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
		|| ! command -v prometheus-alertmanager >/dev/null 2>&1 || ! command -v amtool >/dev/null 2>&1; then \
		echo "installing Debian's prometheus and prometheus-alertmanager (the monitoring tests run promtool, amtool and both)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			prometheus prometheus-alertmanager; \
	fi

# Debian's kcat: the secured-broker test checks with an independent client that no credentials, no entry.
.PHONY: kcat
kcat:
	@if ! command -v kcat >/dev/null 2>&1; then \
		echo "installing Debian's kcat (the secured-broker test connects with it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat; \
	fi

# The seeds' year on a simulated clock, a business day every 4 wall seconds (the board, dashboards and alerts move
# as you watch; about 50 minutes with its follow-up), then the stack keeps running. `frontdoor-stack run --demo`: the
# demo stream in real time instead.
run: venv kafka
	@echo "make run: the seeds' year on a simulated clock, a business day every 4 seconds of wall time (Ctrl-C stops it)"
	$(BIN)/frontdoor-stack run --day-seconds 4

up: venv kafka
	$(BIN)/frontdoor-stack up

down:
	@if [ -x $(BIN)/frontdoor-stack ]; then $(BIN)/frontdoor-stack down; else echo "nothing was running"; fi

demo: venv
	$(BIN)/frontdoor-stack demo

# Throughput beside its anchors, one run of about 8-11 minutes (not part of `make test`); writes
# deploy/bench/results.md. Sizes: BENCH_ARGS="--contacts N --decisions N --duration S --time-cap S".
.PHONY: bench
bench: venv kafka
	@command -v wrk >/dev/null && command -v hey >/dev/null || { echo "installing Debian's wrk and hey (HTTP load)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey; }
	$(BIN)/frontdoor-stack bench $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .

# The import rules in pyproject.toml's [tool.importlinter]: domain code free of frameworks, I/O
# and the clock; no service imports another; the contracts import nothing of ours.
layers: venv
	$(BIN)/lint-imports

# Code copied between the services and the platform (pylint's duplicate-code alone; its settings
# are in pyproject.toml).
dupes: venv
	@$(BIN)/pylint --disable=all --enable=duplicate-code $(DUPES_TARGETS); rc=$$?; \
	if [ $$rc -eq 8 ] && [ "$(DUPES_GATE)" = 0 ]; then echo "duplicate code found (DUPES_GATE=0: not failing)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

typecheck: venv
	$(BIN)/mypy $(MYPY_TARGETS)

test: venv kafka postgres chromium prometheus kcat lint layers dupes typecheck
	$(BIN)/pytest

.PHONY: k8s
# The Kubernetes base (deploy/k8s/base/) generated from the declarations, both overlays validated offline,
# and where kubectl is installed its own render kept in deploy/k8s/rendered/ (the tests compare with it).
k8s: venv
	PYTHONPATH=deploy/k8s $(BIN)/python -m frontdoor_k8s generate
	PYTHONPATH=deploy/k8s $(BIN)/python -m frontdoor_k8s validate
	@if command -v kubectl >/dev/null; then for o in development production; do \
		kubectl kustomize deploy/k8s/overlays/$$o > deploy/k8s/rendered/$$o.yaml; done; fi

clean: down
	rm -rf .run .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
