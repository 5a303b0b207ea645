# Two commands matter: `make demo` runs the service with embedded defaults (SQLite under
# ./data, the built-in Tradovate simulator), `make test` runs every test.
# Both create .venv from requirements/dev.txt (hashed pins exported from uv.lock) the first time.
# `make lock` regenerates uv.lock and the two exported locks (runtime and dev) from pyproject.toml.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

EXPORT := $(BIN)/uv export --frozen --no-emit-project --format requirements-txt --quiet

.PHONY: install lock demo serve sim test lint bench clean

$(STAMP): requirements/dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24,<27"
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# uv.lock is the source; requirements/runtime.txt (no dev group: the wheel's and the image's
# dependencies), requirements/dev.txt (runtime + dev tools) and requirements/build.txt (the build
# backend, for the image) are exported from it with hashes.
# `make lock UPGRADE=1` moves every pin to the newest release the ranges allow.
lock: $(STAMP)
	$(BIN)/uv lock $(if $(UPGRADE),--upgrade,)
	$(EXPORT) --no-dev -o requirements/runtime.txt
	$(EXPORT) -o requirements/dev.txt
	$(EXPORT) --only-group build -o requirements/build.txt

demo: $(STAMP)
	$(BIN)/justtrades demo

sim: $(STAMP)
	$(BIN)/justtrades sim tradovate --port 8700 --accounts 3 --seed 1

serve: $(STAMP)
	$(BIN)/justtrades serve

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.sim_bench
	$(BIN)/python -m bench.service_bench
	$(BIN)/python -m bench.engine_bench
	$(BIN)/python -m bench.ack_bench
	$(BIN)/python -m bench.ops_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
