# The two commands: `make run` starts the local stack, `make test` runs the tests.
# Each sets itself up from a fresh clone (system packages, virtualenv, install, migrate).
# The Debian packages come from scripts/system-packages.sh, the same script .ci/run uses.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test setup migrate bench clean system-run system-test

# what the stack needs from the system (Python with venv); the tests need more (PostgreSQL,
# Prometheus, Chromium): installed when root, else one line says the apt-get command
system-run:
	@PYTHON=$(PYTHON) bash scripts/system-packages.sh run

system-test:
	@PYTHON=$(PYTHON) bash scripts/system-packages.sh test

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | system-run
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

migrate: setup
	$(BIN)/neurocards migrate

run: migrate
	$(BIN)/honcho start

test: system-test setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
