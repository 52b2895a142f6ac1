# OVR-ALPR developer entry points. Each target installs what it needs on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
export ALPR_MODEL_DIR ?= $(SHARED)/models
export ALPR_SHARED_DIR ?= $(SHARED)

.PHONY: venv venv-edge test test-unit test-integration demo stack-up stack-down stack-status lint typecheck clean

$(BIN)/.installed: requirements.txt requirements-edge.txt requirements-models.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -r requirements-dev.txt -r requirements-edge.txt
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

venv: $(BIN)/.installed

## make test: lint, type check and unit tests, then the local stack and the integration tests against it
test: venv
	bash scripts/system_deps.sh
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest tests/unit -q
	scripts/stack up
	$(BIN)/python scripts/create_topics.py
	$(BIN)/python scripts/register_schemas.py
	$(BIN)/python -m pytest tests/integration -q -m "not gpu" --reruns 1 --reruns-delay 5 -rR

test-unit: venv
	$(BIN)/python -m pytest tests/unit -q

test-integration: venv
	$(BIN)/python -m pytest tests/integration -q -m "not gpu"

## make demo: the edge pipeline on the sample video, printing each plate read
demo: venv
	$(BIN)/python pilot.py --source $(SHARED)/data/video/parkpow_cars.mp4 --no-display

stack-up:
	scripts/stack up
stack-down:
	scripts/stack down
stack-status:
	scripts/stack status

lint: venv
	$(BIN)/ruff check .
typecheck: venv
	$(BIN)/mypy

clean:
	rm -rf $(VENV) output .pytest_cache .mypy_cache .ruff_cache
