# OVR-ALPR developer entry points. Each target installs what it needs on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
export ALPR_MODEL_DIR ?= $(SHARED)/models
export ALPR_SHARED_DIR ?= $(SHARED)

.PHONY: venv venv-edge test test-unit test-integration bench demo stack-up stack-down stack-status lint typecheck clean

$(BIN)/.installed: requirements.txt requirements-edge.txt requirements-models.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -r requirements-dev.txt -r requirements-edge.txt
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

venv: $(BIN)/.installed

## make test: lint, type check and unit tests, then the local stack and the integration tests against it.
## Each step runs through scripts/phase, so .ci/run can print the time per phase (ALPR_PHASES_FILE).
## Integration reruns are only for faults outside the code (a server that is not reachable yet); an
## assertion failure is never rerun, and every rerun is named in the summary (-rR).
RERUN_ONLY ?= ConnectionRefused|ConnectionReset|Connection refused|ConnectError|ConnectTimeout|server closed the connection|_TRANSPORT|_ALL_BROKERS_DOWN|not healthy
PHASE := scripts/phase
test:
	$(PHASE) deps $(MAKE) --no-print-directory venv
	$(PHASE) deps bash scripts/system_deps.sh
	$(PHASE) lint $(BIN)/ruff check .
	$(PHASE) lint $(BIN)/mypy
	$(PHASE) unit $(BIN)/python -m pytest tests/unit -q
	$(PHASE) stack_up scripts/stack up
	$(PHASE) stack_up $(BIN)/python scripts/create_topics.py
	$(PHASE) stack_up $(BIN)/python scripts/register_schemas.py
	$(PHASE) integration $(BIN)/python -m pytest tests/integration -q -m "not gpu" \
		--reruns 1 --reruns-delay 5 --only-rerun "$(RERUN_ONLY)" -rR

test-unit: venv
	$(BIN)/python -m pytest tests/unit -q

test-integration: venv
	$(BIN)/python -m pytest tests/integration -q -m "not gpu"

## make bench: the six benchmarks one after another against the local stack (brought up as for make test);
## ends with each benchmark's last line (`make bench BENCH="delivery api"` runs some of them)
BENCH ?=
bench: venv
	bash scripts/system_deps.sh
	bash scripts/run_benchmarks.sh $(BENCH)

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
