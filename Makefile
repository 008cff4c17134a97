# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: install run test lint typecheck schema bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/loyalty migrate
	$(BIN)/loyalty demo
	$(BIN)/loyalty serve

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	@$(BIN)/loyalty export-schema | diff -u schema.graphql - \
		|| (echo "schema.graphql is out of date: run 'make schema'"; exit 1)
	$(BIN)/pytest

schema: $(STAMP)
	$(BIN)/loyalty export-schema > schema.graphql

# The benchmarks need an optional extra: DuckDB (bench/metrics.py's floor), aiohttp
# and py-spy (bench/api.py). `make bench` runs the small sizes in minutes;
# `make bench FULL=1` the issue's sizes. Never part of `make test`.
BENCH_METRICS_SMALL := BENCH_ORDERS=100000 BENCH_CUSTOMERS=20000
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
ifdef FULL
	$(BIN)/python -m bench.api --full
	$(BIN)/python -m bench.metrics
else
	$(BIN)/python -m bench.api
	$(BENCH_METRICS_SMALL) $(BIN)/python -m bench.metrics
endif

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis loyalty.db loyalty.db-*
