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

.PHONY: install run test lint layout format bench soak fuzz security clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml client/pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet -e '.[test]' -e ./client 2>&1 | grep -v "is ignored" || true
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

security: install
	$(BIN)/python security/sqlmap_scan.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
