# Two commands matter: `make demo` runs the service with embedded defaults (SQLite under
# ./data, the built-in Tradovate simulator), `make test` runs every test.
# Both create .venv from requirements.lock (exact pins) the first time.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve sim test lint bench clean

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24,<27"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
