# Weibao: `make run` (install, migrate, demo data, serve) and `make test` (install, run the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DEBUG ?= 1
# CI points this at a constraints file it generated; a fresh machine resolves from pyproject.
CONSTRAINTS ?= constraints.txt

.PHONY: install install-test install-spark test-spark run serve test test-postgres test-browser lint fmt messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[test]"
	touch $@

$(VENV)/.installed-spark: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[test,spark]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-spark: $(VENV)/.installed-spark

run: install
	$(BIN)/weibao migrate --no-input
	$(BIN)/weibao demo
	$(MAKE) --no-print-directory serve

# Web server, task worker and scheduler together; Ctrl-C stops all three.
serve:
	@bash -c 'trap "kill 0" EXIT; \
	  $(BIN)/weibao worker & \
	  $(BIN)/weibao scheduler & \
	  echo "Weibao: http://127.0.0.1:$(PORT)/  (logins in README.md)"; \
	  $(BIN)/weibao runserver 127.0.0.1:$(PORT)'

test: install-test
	$(BIN)/pytest -q

test-postgres: install-test
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q

test-browser: install-test
	$(BIN)/pytest -q -m browser -p no:randomly

# Reconciliation on Spark gives the same findings as on DuckDB (needs Java 17+).
test-spark: install-spark
	$(BIN)/pytest -q -m spark -p no:randomly

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Run inside the package so .venv is not scanned; tests' strings are not user-facing.
messages: install-test
	cd weibao && ../$(BIN)/weibao makemessages -l zh_Hans --no-obsolete --no-location -i "tests/*"
	cd weibao && ../$(BIN)/weibao compilemessages

clean:
	rm -rf $(VENV) var staticfiles artifacts
