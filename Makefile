# Every target installs what it needs: a fresh clone runs `make demo` or `make test` directly.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export PYTHONPATH := $(CURDIR)/src

.PHONY: demo demo-local test lint install bench quality clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# Azurite (the Azure Storage emulator) for the tests, pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) node_modules/.installed

## Train every registered classifier on the embedded default (SQLite demo data, local folder).
demo: $(STAMP)
	$(BIN)/python -m retrain demo-data
	$(BIN)/python -m retrain train --all

## The demo against a local PostgreSQL + Azurite started for it (no Docker).
demo-local: $(STAMP) node_modules/.installed
	$(BIN)/python scripts/demo_local.py

## All tests, starting PostgreSQL and Azurite by themselves.
test: $(STAMP) node_modules/.installed
	$(BIN)/python -m pytest

## Benchmark: load paths, encodings, seed-classifier runs, cold start, footprint (docs/benchmarks.md).
bench: $(STAMP) node_modules/.installed
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

## Quality: the README's model defaults against plain XGBoost on public tables (docs/quality.md).
quality: $(STAMP)
	$(BIN)/python -m benchmarks.quality $(QUALITY_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .retrain node_modules
