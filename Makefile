# crsagent: two commands on a fresh machine.
#   make demo   set everything up, start the bundled LLM on vLLM's CPU build, hold a conversation
#   make test   set everything up, run the static checks (make lint) and all tests (unit, integration, end-to-end)

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
export CRSAGENT_HOME ?= $(CURDIR)/.crsagent
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install build llm-env postgres lint test test-fast demo bench clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

build: install
	$(BIN)/crsagent build --domain movies --domain office

llm-env: install
	$(BIN)/crsagent llm setup

# Debian's PostgreSQL for the integration tests that need a real server (root installs it).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Static checks: ruff (lint and format) and mypy over the package (docs/extending.md, "Static checks").
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: build llm-env postgres lint
	$(BIN)/python -m pytest tests

test-fast: install
	$(BIN)/python -m pytest tests -m "not e2e and not slow"

demo: build llm-env
	$(BIN)/crsagent demo

bench: build
	$(BIN)/crsagent bench tools --json out/bench-tools.json

clean:
	rm -rf $(VENV) .crsagent out
