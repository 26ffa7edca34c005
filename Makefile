# Every target installs what it needs: a fresh clone runs `make demo` or `make test` directly.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export PYTHONPATH := $(CURDIR)/src

.PHONY: demo test lint install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## Train every registered classifier on the embedded default (SQLite demo data, local folder).
demo: $(STAMP)
	$(BIN)/python -m retrain demo-data
	$(BIN)/python -m retrain train --all

## All tests, starting PostgreSQL and Azurite by themselves.
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .retrain
