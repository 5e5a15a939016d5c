# Every target creates or refreshes .venv and installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
DEMO_DIR ?= var/demo
PYTEST_WORKERS ?= 2

.PHONY: demo test fuzz lint bench bench-full screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): pyproject.toml $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(RUNTIME)
	rm -rf $(DEMO_DIR)
	APPRAISAL_DATA_DIR=$(DEMO_DIR) APPRAISAL_DATABASE_URL= $(BIN)/appraisal demo

test: $(DEV)
	.ci/ensure-postgres
	.ci/ensure-browser
	.ci/ensure-libreoffice
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# The generated tests of `make test` with FUZZ_FACTOR times their examples.
FUZZ_FACTOR ?= 20
fuzz: $(DEV)
	.ci/ensure-postgres
	APPRAISAL_FUZZ_FACTOR=$(FUZZ_FACTOR) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q \
		tests/e2e/test_campaign_state_machine.py tests/e2e/test_live_fuzz.py tests/e2e/test_openapi.py

# Refresh the pages' and the forms' screenshots in docs/screenshots (test runs write to a
# temporary directory).
screenshots: $(DEV)
	.ci/ensure-postgres
	.ci/ensure-browser
	.ci/ensure-libreoffice
	APPRAISAL_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -k sqlite \
		tests/browser tests/integration/test_form_rendering.py

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(DEV)
	.ci/ensure-postgres
	$(BIN)/python -m bench --size reduced

bench-full: $(DEV)
	.ci/ensure-postgres
	$(BIN)/python -m bench --size full

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache .hypothesis
