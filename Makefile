# The two commands: `make run` starts the local stack, `make test` runs the tests.
# Each sets itself up from a fresh clone (system packages, virtualenv, install, migrate).
# The Debian packages come from scripts/system-packages.sh, the same script .ci/run uses.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test test-fast setup migrate bench clean system-run system-test

# the suite runs its modules side by side, a module's tests in one worker (its stack started once)
TEST_WORKERS ?= 4

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
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# the inner loop: every test that starts no worker, bot, watchdog or CLI process (under a minute)
test-fast: system-test setup
	$(BIN)/python -m pytest -m "not processes" -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
