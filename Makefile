# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: install run worker test lint typecheck schema bench mutation clean graphiql-assets console-assets browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/loyalty migrate
	$(BIN)/loyalty demo
	$(BIN)/loyalty serve --with-worker

# The worker alone (webhook delivery and the daily pass), beside a `loyalty serve`
# started elsewhere; several may run against one PostgreSQL database.
worker: $(STAMP)
	$(BIN)/loyalty migrate
	$(BIN)/loyalty worker

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

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
	$(BIN)/python -m bench.import --full
	$(BIN)/python -m bench.predict --database sqlite
else
	$(BIN)/python -m bench.api
	$(BENCH_METRICS_SMALL) $(BIN)/python -m bench.metrics
	$(BIN)/python -m bench.import
	$(BIN)/python -m bench.predict
endif

# The browser tests' needs: Debian's Chromium (apt, as root: CI and these machines
# run as root), a font with Chinese glyphs (the console's Chinese labels in its
# screenshots) and the Playwright client, which drives Chromium without downloading one.
BROWSER_STAMP := $(VENV)/.browser-stamp
$(BROWSER_STAMP): $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
		|| (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei)
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	touch $(BROWSER_STAMP)

browser: $(BROWSER_STAMP)

# GraphiQL's built files (MIT), committed under api/http/static/graphiql so the page
# works offline; this target refreshes them from the npm packages.
GRAPHIQL_ASSETS := api/http/static/graphiql
graphiql-assets:
	rm -rf .graphiql-build && mkdir .graphiql-build
	cd .graphiql-build && npm pack --silent graphiql@3.8.3 react@18.3.1 react-dom@18.3.1 \
		&& for f in *.tgz; do mkdir "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cp .graphiql-build/graphiql-3.8.3/package/graphiql.min.js \
		.graphiql-build/graphiql-3.8.3/package/graphiql.min.css $(GRAPHIQL_ASSETS)/
	cp .graphiql-build/react-18.3.1/package/umd/react.production.min.js $(GRAPHIQL_ASSETS)/
	cp .graphiql-build/react-dom-18.3.1/package/umd/react-dom.production.min.js $(GRAPHIQL_ASSETS)/
	cp .graphiql-build/graphiql-3.8.3/package/LICENSE $(GRAPHIQL_ASSETS)/LICENSE.graphiql
	cp .graphiql-build/react-18.3.1/package/LICENSE $(GRAPHIQL_ASSETS)/LICENSE.react
	cp .graphiql-build/react-dom-18.3.1/package/LICENSE $(GRAPHIQL_ASSETS)/LICENSE.react-dom
	rm -rf .graphiql-build

# The console's one third-party file, ECharts (Apache-2.0), committed under
# api/http/static/console with its LICENSE and NOTICE; this target refreshes it.
ECHARTS_VERSION := 6.1.0
CONSOLE_ASSETS := api/http/static/console
console-assets:
	rm -rf .console-build && mkdir .console-build
	cd .console-build && npm pack --silent echarts@$(ECHARTS_VERSION) && tar xzf echarts-$(ECHARTS_VERSION).tgz
	cp .console-build/package/dist/echarts.min.js $(CONSOLE_ASSETS)/
	cp .console-build/package/LICENSE $(CONSOLE_ASSETS)/LICENSE.echarts
	cp .console-build/package/NOTICE $(CONSOLE_ASSETS)/NOTICE.echarts
	rm -rf .console-build

# Mutation testing of the ledger, tier, referral and audit rules (README "Mutation
# testing"): minutes, so not part of `make test`. mutmut is an optional extra. The score
# that counts is with TEST_DATABASE_URL set (the row-lock tests run on PostgreSQL only).
MUTATION_STAMP := $(VENV)/.mutation-stamp
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,mutation]"
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	rm -rf mutants
	$(BIN)/python scripts/mutation_report.py

clean:
	rm -rf mutants $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis loyalty.db loyalty.db-*
