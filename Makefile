# `make run` and `make test` are the two commands a new user needs; see README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The npm project of the JavaScript tools (the real clients, the schema lint), from its lockfile.
CLIENTS := tests/clients
NODE_STAMP := $(CLIENTS)/node_modules/.installed-stamp

.PHONY: install clients run serve seed test test-clients check lint-schema schema graphiql-assets bench bench-reads bench-orders bench-payments bench-search clean admin recount search-rebuild

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	@$(CLIENTS)/ensure-tools.sh node
	npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## The real clients' tools: Node.js and Debian's chromium (installed with apt-get as root, else
## named), and tests/clients' npm packages from their lockfile (again only when it changed).
clients: $(NODE_STAMP)
	@$(CLIENTS)/ensure-tools.sh chromium

## Start embedded MongoDB + Redis (unless MONGODB_URI / REDIS_URL are set), seed, serve on :8000,
## and a job worker (emails) beside the API; Ctrl-C stops them all.
run: install
	$(BIN)/python -m server run

## Seed the demo catalog into an empty database (PRODUCTS=100000 for a big one).
seed: install
	$(BIN)/python -m server seed $(if $(PRODUCTS),--products $(PRODUCTS))

## The whole suite against real mongod and redis-server started on free ports, then lint and types;
## on TEST_WORKERS processes (pytest-xdist), each with servers of its own.
TEST_WORKERS ?= 2
test: install clients
	$(BIN)/python -m pytest -n $(TEST_WORKERS)
	$(MAKE) --no-print-directory check

## Only the real clients (Apollo Client, headless Chromium) against a live server.
test-clients: install clients
	$(BIN)/python -m pytest $(CLIENTS)

check: install lint-schema
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The GraphQL schema lint over schema.graphql (rules in tests/clients/eslint.config.mjs).
lint-schema: $(NODE_STAMP)
	$(CLIENTS)/node_modules/.bin/eslint --max-warnings 0 -c $(CLIENTS)/eslint.config.mjs schema.graphql

## Count the storefront's product lists again and correct the kept counts (CHECK=1: only compare).
recount: install
	$(BIN)/python -m server recount $(if $(CHECK),--check)

## Build the search index again from the products (asks the running worker to, when it holds it).
search-rebuild: install
	$(BIN)/python -m server search-rebuild

## Make EMAIL an admin (creating the account, with ADMIN_PASSWORD or a prompt, if it has none).
admin: install
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=you@example.com"; exit 2; }
	$(BIN)/python -m server create-admin --email "$(EMAIL)"

## Regenerate schema.graphql from the code.
schema: install
	$(BIN)/python -m server export-schema

## Vendor GraphiQL's browser files again, at the versions pinned in schema/graphiql/update.py
## (needs npm); commit the result.
graphiql-assets:
	$(PYTHON) schema/graphiql/update.py

## Every benchmark in one run, then each figure against its target (see bench/README.md);
## needs wrk. About 55 minutes; `make bench QUICK=1` for a shorter pass.
bench: install
	$(BIN)/python bench/suite.py $(if $(QUICK),--quick)

## Reads under load only: ceiling, cached and uncached listing and product page.
bench-reads: install
	$(BIN)/python bench/catalog_load.py

## placeOrder benchmark: checkouts over HTTP, checked against MongoDB (see bench/README.md).
bench-orders: install
	$(BIN)/python bench/place_orders.py

## Payments benchmark: placeOrder ONLINE against COD, then Razorpay webhooks and their replays,
## with the payment stand-in (see bench/README.md).
bench-payments: install
	$(BIN)/python bench/payments.py

## Search benchmark: search, facets and suggestions at 1,000 and 1,000,000 products (about
## 15 minutes; see bench/README.md).
bench-search: install
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis $(CLIENTS)/node_modules
