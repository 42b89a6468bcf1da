# DBConnector: `make run` serves the demo, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

export HOST ?= 127.0.0.1
export PORT ?= 8000
export DBCONNECTOR_DEMO ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK = 1

# A failed step of a pipe fails the recipe, so an install can be filtered for noise and still stop
# `make` with pip's own error.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# pip's warnings about this machine's unreachable extra package folders, and nothing else.
QUIET_PIP = { grep -v "is ignored" || true; }

.PHONY: install run test lint layout format bench soak fuzz security audit lock clean

# Exact versions with hashes (pip-compile): runtime.txt is what the image ships, test.txt adds the
# test and dev tools at the same runtime versions, build.txt builds the wheel in the image.
LOCKS := requirements/runtime.txt requirements/test.txt requirements/build.txt
COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
	--no-emit-find-links --resolver=backtracking

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The lock is complete, so it is installed as it stands and nothing is resolved: --no-deps keeps
# pip from looking up a dependency (or an extra) again on the index. The lock holds pip,
# setuptools and wheel too, so neither the stock pip of `python3 -m venv` nor anything published
# after the lock was made changes the result. pip check then proves the set is whole
# (a miss means `make lock`). The project and the client are installed editable on the locked
# setuptools, without a build environment of their own.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml client/pyproject.toml $(LOCKS)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/test.txt 2>&1 \
		| $(QUIET_PIP)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation \
		-e . -e ./client 2>&1 | $(QUIET_PIP)
	$(BIN)/python -m pip check
	$(BIN)/python -c "import dbconnector, dbconnector_client, pytest, hypothesis"
	touch $@

install: $(STAMP)

run: install
	$(BIN)/dbconnector serve

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install layout
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

layout: install
	$(BIN)/python scripts/check_layout.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run.py

soak: install
	$(BIN)/python bench/soak.py

fuzz: install
	$(BIN)/python security/fuzz.py

# The attack suite, offline: sqlmap over every body field, then schemathesis's fuzzing. The
# dependency audit needs an advisory service and is its own target.
security: install
	$(BIN)/python security/sqlmap_scan.py
	$(BIN)/python security/fuzz.py

# Known vulnerabilities in the locked versions (--strict: a package it cannot look up fails). Where
# the advisory service cannot be reached it says so and exits 2 (docs/testing.md).
audit: install
	$(BIN)/python security/audit.py

# Refresh the locks after a change to setup.cfg's dependencies (UPGRADE=1: newest allowed versions).
# Only pip-tools is needed, so this works while `make install` fails on a lock that is out of date.
$(BIN)/pip-compile: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'pip-tools>=7.4' 2>&1 | $(QUIET_PIP)

lock: $(BIN)/pip-compile
	$(COMPILE) $(if $(UPGRADE),--upgrade) -o requirements/runtime.txt setup.cfg
	$(COMPILE) $(if $(UPGRADE),--upgrade) --allow-unsafe --extra test -c requirements/runtime.txt \
		-o requirements/test.txt setup.cfg client/pyproject.toml
	$(COMPILE) $(if $(UPGRADE),--upgrade) --allow-unsafe -o requirements/build.txt \
		requirements/build.in

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
