# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: install run test lint typecheck schema bench mutation clean

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

# The benchmark also needs DuckDB (the floor it prints), an optional extra.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.metrics

# Mutation testing of the ledger, tier, referral and audit rules (README "Mutation
# testing"): minutes, so not part of `make test`. mutmut is an optional extra.
MUTATION_STAMP := $(VENV)/.mutation-stamp
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,mutation]"
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	rm -rf mutants
	$(BIN)/python scripts/mutation_report.py

clean:
	rm -rf mutants $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis loyalty.db loyalty.db-*
