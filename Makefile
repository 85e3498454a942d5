# Two commands do all the set-up on a fresh machine:
#   make run   - create .venv, install Rapport (with offline voice), serve the app on http://127.0.0.1:7860
#   (make serve-cluster - the same, scaled out: two app processes sharing PostgreSQL and a Chroma server)
#   make test  - the same set-up plus test tools (and Debian's chromium for browser tests), then pytest
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# llama.cpp is compiled once by pip (about 10 minutes on 2 cores) and cached as a wheel afterwards.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: run serve-cluster test setup setup-dev browser voice postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[voice]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUN_STAMP)

setup: $(RUN_STAMP)

setup-dev: $(DEV_STAMP)

# Browser tests drive Debian's chromium (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# The offline voice reads text with Debian's espeak-ng, run as a separate program (it is GPL; see simulator/voice/offline.py).
# Without it (no apt here) the app still runs; voice practice then says how to install espeak-ng.
voice:
	@command -v espeak-ng >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng; } \
		|| echo "espeak-ng could not be installed: install it with your package manager for the offline voice"

# The store tests also run on a real PostgreSQL when one can be started (they skip, saying why, otherwise).
postgres:
	@./scripts/start_postgres.sh || true

run: setup voice
	$(BIN)/python app.py

# Scaled out on this machine (docs/deploy.md): PostgreSQL, a Chroma server and two app processes on 7861 and 7862.
serve-cluster: setup voice
	BIN=$(BIN) ./scripts/serve_cluster.sh

test: setup-dev browser voice postgres
	$(BIN)/python -m pytest

bench: setup-dev postgres
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
