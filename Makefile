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
MYPY_TARGETS := $(wildcard contracts/frontdoor_contracts services/platform/frontdoor_platform deploy/stack/frontdoor_stack \
                 $(foreach s,$(SERVICES),services/$(s)/$(s)))

.PHONY: help venv kafka postgres run up down demo test lint typecheck clean

help:
	@echo "make run    the whole platform locally, fed by a demo stream (Ctrl-C stops it)"
	@echo "make test   lint, type-check and every test (starts a real Kafka broker)"
	@echo "make up     the platform in the background; make down stops it"
	@echo "make venv | kafka | postgres | lint | typecheck | demo | clean"

venv: $(STAMP)

# Reinstalls only when a pyproject.toml or requirements-dev.txt changed.
$(STAMP): $(PYPROJECTS) requirements-dev.txt Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt $(addprefix -e ./,$(INSTALLED))
	@touch $@

kafka: venv
	$(BIN)/frontdoor-stack fetch

postgres:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
		echo "installing Debian's PostgreSQL server (tests run it as a throwaway cluster)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi

run: venv kafka
	$(BIN)/frontdoor-stack run

up: venv kafka
	$(BIN)/frontdoor-stack up

down:
	@if [ -x $(BIN)/frontdoor-stack ]; then $(BIN)/frontdoor-stack down; else echo "nothing was running"; fi

demo: venv
	$(BIN)/frontdoor-stack demo

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy $(MYPY_TARGETS)

test: venv kafka postgres lint typecheck
	$(BIN)/pytest

clean: down
	rm -rf .run .mypy_cache .ruff_cache .pytest_cache
