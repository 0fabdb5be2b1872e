# Set-up, the everyday commands and the checks. local, test, test-fast and check create the virtualenv and install
# the locked requirements first when the lock changed, so a fresh clone needs nothing but Python 3.11+ and make.
#
# requirements.txt and requirements-dev.txt hold the ranges (the source of truth); requirements-dev.lock holds the
# exact versions compiled from them, which is what is installed. After changing a range: make lock.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements-dev.lock

.PHONY: local test test-fast check lock clean

local: $(VENV)/.installed-dev
	$(BIN)/fab local

# Every layer: unit, functional, endpoint and end to end (what CI runs after make check), a test file to each of
# PYTEST_WORKERS processes (auto: one per core; 0: all in this process). Each process runs its own endpoint.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# The inner loop: the unit and functional layers, no endpoint (about a minute).
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest tests/unit tests/functional

# The lock agrees with the ranges; lint, format, types; cfn-lint on the templates fab template renders.
check: $(VENV)/.installed-dev
	$(BIN)/python .ci/check_lock.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@templates=$$(mktemp -d) && trap 'rm -rf "$$templates"' EXIT && \
		$(BIN)/python .ci/render_templates.py "$$templates" && \
		echo "cfn-lint: the templates fab template renders" && \
		$(BIN)/cfn-lint -- "$$templates"/*.json

# Recompile the lock from the ranges, keeping every pin that still fits (make lock LOCK_ARGS=--upgrade takes the
# newest versions the ranges allow). Resolved on this Python: compile it on 3.11, the oldest supported. Needs only
# pip-tools in the virtualenv, so that it works while the lock is out of date.
LOCK_ARGS ?=
lock:
	test -x $(BIN)/pip-compile || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet "pip-tools>=7.4,<8"; }
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
		--output-file $(LOCK) requirements-dev.txt

$(VENV)/.installed-dev: $(LOCK) local_endpoint/lambda-runtime-requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	# The boto3 the Lambda runtime ships, for the endpoint's workers (else the first endpoint start installs it).
	$(BIN)/python -c 'from local_endpoint.runtime_sdk import ensure_runtime_sdk; ensure_runtime_sdk()'
	touch $@

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis .mypy_cache
