# The commands that matter: `make demo`, `make airflow`, `make test` (and `make test-deploy`).
# Everything else is a step they use.
#   install       what running Airflow needs: requirements.txt + this package (no npm, no test tools)
#   install-dev   + requirements-dev.txt (pytest, moto, ruff, mypy, playwright): enough for demo/airflow
#   install-test  + npm packages (Azurite) + Debian's chromium for the browser test
SHELL := /bin/bash
PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
STAMP_PIP := $(VENV)/.installed-requirements
STAMP_PKG := $(VENV)/.installed-package
STAMP_DEV := $(VENV)/.installed-requirements-dev
STAMP_NPM := node_modules/.installed-package-lock
CHROMIUM := /usr/bin/chromium

.PHONY: install install-dev install-test chromium lint format test test-fast test-deploy bench demo airflow clean

install: $(STAMP_PIP) $(STAMP_PKG)

install-dev: install $(STAMP_DEV)

install-test: install-dev $(STAMP_NPM) chromium

$(VENV)/bin/python:
	$(PYTHON_BIN) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP_PIP): requirements.txt | $(VENV)/bin/python
	$(PIP) -r requirements.txt
	touch $@

$(STAMP_PKG): pyproject.toml $(STAMP_PIP)
	$(PIP) --no-deps -e .
	touch $@

$(STAMP_DEV): requirements-dev.txt requirements.txt $(STAMP_PIP)
	$(PIP) -r requirements-dev.txt
	touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser test drives Debian's chromium (Playwright's own browser download is not reachable here).
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install-test lint
	$(PY) -m pytest -q

test-fast: install-test
	$(PY) -m pytest -q -m "not slow"

# Postgres 15 + Redis (Debian packages) and the docker-compose components as local processes.
test-deploy: install-dev
	$(PY) -m tests.deploy.run_deploy

bench: install-dev $(STAMP_NPM)
	$(PY) -m bench.run

demo: install-dev
	$(PY) -m demo.run_demo

# moto + the Encord emulator + `airflow standalone` on 127.0.0.1 with the demo pipelines; Ctrl-C stops all.
airflow: install-dev
	$(PY) -m demo.airflow_ui

clean:
	rm -rf $(VENV) node_modules .demo
