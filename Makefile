# stock-ticker: `make run` serves on :8000, `make test` runs every check. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
API := services/api
STAMP := $(VENV)/.installed-$(shell cat $(API)/pyproject.toml tox.ini 2>/dev/null | cksum | cut -d' ' -f1)

PORT ?= 8000
SYMBOL ?= MSFT
NDAYS ?= 7

.PHONY: help venv run test lint type bench clean ndays

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): $(API)/pyproject.toml tox.ini
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e "$(API)[test]" tox==4.67.13
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP) ## Create .venv with the service and the test tools

run: $(STAMP) ## Serve on :$(PORT) in the foreground (sample data unless STOCKS_API_KEY is set)
	PORT=$(PORT) $(BIN)/python -m stock_ticker

test: $(STAMP) ## Every check: lint, types, tests with the 100% coverage gate
	$(BIN)/tox run -e lint,type,test

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/tox run -e lint

type: $(STAMP) ## mypy --strict
	$(BIN)/tox run -e type

bench: $(STAMP) ## Benchmarks against a bare-aiohttp baseline; writes docs/benchmarks.md
	$(BIN)/python scripts/bench

ndays: ## Ask a running service for prices: make ndays [SYMBOL=MSFT NDAYS=7 URL=...]
	curl -sS "$${URL:-http://localhost:$(PORT)}/ndays?symbol=$(SYMBOL)&ndays=$(NDAYS)"; echo

clean: ## Remove the virtualenv, tox envs and caches
	rm -rf $(VENV) .tox test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf $(API)/.coverage* $(API)/.mypy_cache $(API)/.pytest_cache $(API)/*.egg-info .ruff_cache
