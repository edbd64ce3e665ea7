# One task file. `make run` and `make test` are all a new user needs.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint fmt bench install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[server,dev]"
	touch $(STAMP)

install: $(STAMP)

## run: install, load the demo catalog, serve at http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/datahamn demo
	$(BIN)/datahamn serve

## test: lint, type checks, layer contracts, then the whole suite (SQLite, PostgreSQL, S3)
test: $(STAMP) lint
	$(BIN)/pytest -n 2 --dist loadgroup -q

## test-fast: the suite on SQLite and the local store only
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not postgres and not s3 and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/catalog_search.py

clean:
	rm -rf $(VENV) .datahamn .pytest_cache .mypy_cache .ruff_cache
