# Ballast: the two commands are `make demo` and `make test`. Everything else is setup.
SHELL := /bin/bash
PY ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
ANVIL_BIN := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin
# Every ape call sees the venv (pip-installed vyper 0.4.3) and anvil on PATH.
export PATH := $(BIN):$(ANVIL_BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# pydantic-settings 2.16 warns about a field of ape-vyper's config at import; harmless.
export PYTHONWARNINGS := ignore::UserWarning:pydantic_settings.sources.utils

.PHONY: setup demo test test-fast bench abis clean check-python check-node

setup: $(VENV)/.installed node_modules/.installed

check-python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: '$(PY)' not found. Install Python 3.11 (or run: make PY=/path/to/python3.11 ...)." >&2; exit 1; }
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || { echo "error: '$(PY)' is not Python 3.11; Ballast needs Python 3.11 (make PY=/path/to/python3.11 ...)." >&2; exit 1; }
	@$(PY) -c 'import venv, ensurepip' 2>/dev/null || { echo "error: '$(PY)' lacks venv/ensurepip (Debian: apt-get install python3.11-venv)." >&2; exit 1; }

check-node:
	@command -v node >/dev/null 2>&1 || { echo "error: Node.js not found. Install Node.js (>= 18) and npm; Ballast takes anvil and the Uniswap V3 artifacts from npm." >&2; exit 1; }
	@command -v npm >/dev/null 2>&1 || { echo "error: npm not found. Install npm; Ballast takes anvil and the Uniswap V3 artifacts from npm." >&2; exit 1; }

$(VENV)/.installed: pyproject.toml | check-python
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json | check-node
	npm ci --no-audit --no-fund --loglevel=error
	@test -x $(ANVIL_BIN)/anvil || { echo "error: anvil binary missing after npm ci ($(ANVIL_BIN)/anvil)" >&2; exit 1; }
	@touch $@

# The demo: start anvil, deploy, deposit, withdraw, print, stop anvil.
demo: setup
	$(BIN)/ape run demo

# The whole suite (contracts on anvil through ape, keeper, integration, fork).
test: setup
	$(BIN)/ape test tests -p no:cacheprovider

# Gas and speed benchmarks; each rewrites its own section of benchmarks/RESULTS.md.
bench: setup
	$(BIN)/python benchmarks/gas_ballast.py
	$(BIN)/python benchmarks/gas_black_scholes.py
	$(BIN)/python benchmarks/bench_greeks.py
	$(BIN)/python benchmarks/bench_backtest.py

# The ABIs the keeper reads (keeper/abi/*.json) from the compiled contracts and npm; rerun after a contract changes.
abis: setup
	$(BIN)/python scripts/export_abis.py

clean:
	rm -rf .build .pytest_cache .hypothesis
