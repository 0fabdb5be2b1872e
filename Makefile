# Set-up and the two everyday commands. Each target creates the virtualenv and installs the pinned
# requirements first when they changed, so a fresh clone needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: local test clean

local: $(VENV)/.installed-dev
	$(BIN)/fab local

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt local_endpoint/lambda-runtime-requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# The boto3 the Lambda runtime ships, for the endpoint's workers (else the first endpoint start installs it).
	$(BIN)/python -c 'from local_endpoint.runtime_sdk import ensure_runtime_sdk; ensure_runtime_sdk()'
	touch $@

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
