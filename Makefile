# `make` installs the project into .venv (the `retrain` command, editable, with the pinned
# dependencies) and Azurite into node_modules; every other target installs what it needs first.
# Not installed here (README.md, "Set-up"): Python 3.11, Node.js 20 with npm, and for
# `make test` / `make bench` the PostgreSQL 15 server binaries.
PYTHON ?= python3.11
PG_BIN ?= /usr/lib/postgresql/15/bin
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)
UV := uv==0.13.9
# the demo needs the app's own packages only (half the download of the test tools)
RUNTIME := $(VENV)/.runtime-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
export PYTHONPATH := $(CURDIR)/src
export PG_BIN

.DEFAULT_GOAL := install
.PHONY: install venv demo demo-local test stress quality lint bench bench-text clean check-postgres

install: $(STAMP) node_modules/.installed
	@echo "ready: $(BIN)/retrain (or: source $(BIN)/activate; retrain --help)"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(MAKE) --no-print-directory venv
	@echo "installing the pinned packages, the test tools and retrain (editable) into $(VENV)"
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements-dev.txt -e .
	@rm -f $(VENV)/.installed-* $(VENV)/.runtime-*
	@touch $@ $(RUNTIME)

$(RUNTIME): requirements.txt pyproject.toml
	@$(MAKE) --no-print-directory venv
	@echo "installing the pinned packages and retrain (editable) into $(VENV)"
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.txt -e .
	@rm -f $(VENV)/.runtime-*
	@touch $@

# The virtual environment with Python 3.11 (checked: the Functions runtime it deploys to) and
# uv, which installs the packages: 2-5 s where pip took 35 s, and 90 s on a busy machine
# (docs/benchmarks.md, "The demo"). uv reads no pip.conf: a package mirror goes in
# UV_DEFAULT_INDEX (docs.astral.sh/uv). --compile-bytecode writes the libraries' .pyc files
# at install (~10 s): uv does not by default, and where PYTHONDONTWRITEBYTECODE is set (this
# project's machines, many CI images) Python then compiled scikit-learn, pandas and SciPy
# again in every process, 3-4 s each (docs/benchmarks.md, "Bytecode").
venv:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "missing: Python 3.11 ('$(PYTHON)' is not on PATH). Install it (apt-get install"; \
	  echo "  python3.11 python3.11-venv, pyenv install 3.11, or python.org), or point make at"; \
	  echo "  one: make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "wrong Python: '$(PYTHON)' is $$($(PYTHON) --version 2>&1); this project needs 3.11"; \
	  echo "  (the Azure Functions runtime it deploys to). Use make PYTHON=/path/to/python3.11"; \
	  exit 1; }
	@test -x $(BIN)/python || { echo "creating $(VENV) with $$($(PYTHON) --version)"; \
	  $(PYTHON) -m venv $(VENV); }
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet $(UV)

# Azurite (the Azure Storage emulator) for the tests, pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || { \
	  echo "missing: Node.js 20 with npm (for Azurite, the Azure Storage emulator the tests"; \
	  echo "  use). Install it (apt-get install nodejs npm, or nodejs.org), then run make again."; \
	  exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { \
	  echo "Node.js $$(node --version) is too old: Azurite needs Node.js 20 or newer"; exit 1; }
	@echo "installing Azurite into node_modules (npm ci)"
	npm ci --no-audit --no-fund
	@touch $@

# PostgreSQL is not installed by make: say so before the tests start (they skip the
# PostgreSQL tests without it, and fail under CI=true).
check-postgres:
	@test -x $(PG_BIN)/initdb && command -v psql >/dev/null 2>&1 || { \
	  echo "missing: PostgreSQL 15 server binaries in PG_BIN=$(PG_BIN) and psql on PATH."; \
	  echo "  Install them (apt-get install postgresql-15), or set PG_BIN=/path/to/bin."; \
	  if [ "$$CI" = "true" ]; then exit 1; fi; \
	  echo "  Going on: the tests that need PostgreSQL will be skipped."; }

## Train every registered classifier on the embedded default (SQLite demo data, local folder).
demo: $(RUNTIME)
	$(BIN)/retrain demo-data
	$(BIN)/retrain train --all

## The demo against a local PostgreSQL + Azurite started for it (no Docker).
demo-local: $(STAMP) node_modules/.installed check-postgres
	$(BIN)/python scripts/demo_local.py

## All tests, starting PostgreSQL and Azurite by themselves, in two parts: most of them on
## TEST_WORKERS processes (pytest-xdist; each starts its own services), then the ones marked
## `serial` (they bound a time or kill processes, so they get the machine to themselves).
## Both parts always run; the target fails if either did.
TEST_WORKERS ?= 2
test: $(STAMP) node_modules/.installed check-postgres
	@status=0; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not serial" || status=$$?; \
	$(BIN)/python -m pytest -m serial || status=$$?; \
	exit $$status

## The fault-injection suite at full strength (docs/reliability.md): 60 concurrency rounds,
## 20 storage-fault seeds. `make test` runs the same suite with 20 rounds and 2 seeds.
stress: $(STAMP) node_modules/.installed check-postgres
	STRESS_ROUNDS=$${STRESS_ROUNDS:-60} FAULT_SEEDS=$${FAULT_SEEDS:-20} \
	  $(BIN)/python -m pytest tests/faults

## Benchmark: load paths, encodings, seed-classifier runs, cold start, footprint (docs/benchmarks.md).
bench: $(STAMP) node_modules/.installed check-postgres
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

## Text features: with and without a description column, sparse vs dense (docs/benchmarks.md).
bench-text: $(STAMP)
	$(BIN)/python -m benchmarks.text_bench $(BENCH_TEXT_ARGS)

## Quality: the README's model defaults against plain XGBoost on public tables (docs/quality.md).
quality: $(STAMP)
	$(BIN)/python -m benchmarks.quality $(QUALITY_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .retrain node_modules src/retrain.egg-info
