# Two commands matter: `make demo` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PIP := $(VENV)/.installed-requirements
STAMP_PKG := $(VENV)/.installed-package
STAMP_NPM := node_modules/.installed-package-lock

.PHONY: install lint format test test-fast bench demo clean

install: $(STAMP_PIP) $(STAMP_PKG) $(STAMP_NPM)

$(VENV)/bin/python:
	$(PYTHON_BIN) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP_PIP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(STAMP_PKG): pyproject.toml $(STAMP_PIP)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install lint
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) -m bench.run

demo: install
	$(PY) -m demo.run_demo

clean:
	rm -rf $(VENV) node_modules .demo
