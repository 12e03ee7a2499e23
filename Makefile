# stock-ticker: `make run` serves on :8000, `make test` runs every check. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
API := services/api
DEPS_SUM := $(shell cat $(API)/pyproject.toml tox.ini 2>/dev/null | cksum | cut -d' ' -f1)
# Serving needs the package alone; the test tools (tox, schemathesis...) come with `make test`.
RUN_STAMP := $(VENV)/.run-$(DEPS_SUM)
STAMP := $(VENV)/.test-$(DEPS_SUM)

PORT ?= 8000
SYMBOL ?= MSFT
NDAYS ?= 7

# Containers and Kubernetes (docs/deploy.md). Every kubectl call names KUBECTL_CONTEXT, so nothing
# lands on another cluster by accident: `make deploy KUBECTL_CONTEXT=my-cluster IMAGE_NAME=reg/x PUSH=1`.
DOCKER ?= docker
DOCKERFILE := infra/docker/Dockerfile
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' $(API)/pyproject.toml)
IMAGE_NAME ?= stock-ticker
IMAGE_TAG ?= $(VERSION)
IMAGE := $(IMAGE_NAME):$(IMAGE_TAG)
TEST_IMAGE ?= $(IMAGE_NAME):test
PUSH ?=
KUBECTL_CONTEXT ?= docker-desktop
KUBECTL := kubectl --context $(KUBECTL_CONTEXT)
NAMESPACE := stock-ticker
PUBLIC_METRICS ?=
# Optional kustomize components (infra/k8s/components), listed in the order they must apply.
GATEWAY ?=
PROMETHEUS_OPERATOR ?=
# WITHOUT_VALKEY=1: no shared store; every pod keeps its own state (docs/deploy.md).
WITHOUT_VALKEY ?=
COMPONENTS = $(if $(WITHOUT_VALKEY),without-valkey) $(if $(GATEWAY),gateway-api) $(if $(PROMETHEUS_OPERATOR),prometheus-operator) $(if $(PUBLIC_METRICS),public-metrics)
NGINX_GATEWAY_FABRIC_VERSION ?= 2.4.0
NGF := https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/v$(NGINX_GATEWAY_FABRIC_VERSION)
INGRESS_PORT ?= 8080
INGRESS_NGINX_VERSION ?= 1.13.2
INGRESS_NGINX_MANIFEST ?= https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v$(INGRESS_NGINX_VERSION)/deploy/static/provider/cloud/deploy.yaml
# The variables the service reads (from config.py), passed through to `docker run` when set.
# Read from config.py's table when the recipe runs (the venv exists by then).
APP_VARS = $(filter-out PORT HOST,$(shell $(BIN)/python -c 'from stock_ticker.config import VARIABLES; print(*(v.name for v in VARIABLES))'))
OVERLAY := build/k8s

.PHONY: help venv kube-context run test test-py313 lint type bench clean ndays build build-tests docker-run docker-test \
	test-image manifests deploy configure-ingress configure-gateway rollout-restart logs

# The variables the help texts mention, shown with their values.
HELP_VARS := PORT IMAGE TEST_IMAGE KUBECTL_CONTEXT INGRESS_NGINX_VERSION INGRESS_PORT \
	NGINX_GATEWAY_FABRIC_VERSION

help: ## List the targets
	@colour=; plain=; if [ -t 1 ]; then colour=$$'\033[36m'; plain=$$'\033[0m'; fi; \
	grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
	| sed $(foreach v,$(HELP_VARS),-e 's|$$($(v))|$($(v))|g') \
	| awk -v c="$$colour" -v p="$$plain" 'BEGIN {FS = ":.*?## "}; {printf "  %s%-18s%s %s\n", c, $$1, p, $$2}'

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): $(API)/pyproject.toml tox.ini | $(VENV)/bin/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e "$(API)"
	@rm -f $(VENV)/.run-*; touch $@

$(STAMP): $(API)/pyproject.toml tox.ini | $(VENV)/bin/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e "$(API)[test]" tox==4.67.13
	@rm -f $(VENV)/.test-* $(VENV)/.run-*; touch $@ $(RUN_STAMP)

venv: $(STAMP) ## Create .venv with the service and the test tools

run: $(RUN_STAMP) ## Serve on :$(PORT) in the foreground (sample data unless STOCKS_API_KEY is set)
	PORT=$(PORT) $(BIN)/python -m stock_ticker

test: $(STAMP) ## Every check: lint, types, tests with the 100% coverage gate, infra checks, the bench package
	$(BIN)/tox run -e lint,type,test,infra,bench

test-py313: $(STAMP) ## The test suite on Python 3.13 (the image's), with the same coverage gate
	$(BIN)/tox run -e py313

test-image: $(STAMP) ## Build the images with podman/buildah and run the api image (slow; CI runs it)
	$(BIN)/tox run -e image

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/tox run -e lint

type: $(STAMP) ## mypy --strict
	$(BIN)/tox run -e type

bench: $(STAMP) ## Benchmarks against a bare-aiohttp baseline (needs wrk); writes docs/benchmarks.md (BENCH_ARGS=--quick)
	PYTHONPATH=tools $(BIN)/python -m bench $(BENCH_ARGS)

ndays: ## Ask a running service for prices: make ndays [SYMBOL=MSFT NDAYS=7 URL=...]
	@curl -sS --fail-with-body "$${URL:-http://localhost:$(PORT)}/ndays?symbol=$(SYMBOL)&ndays=$(NDAYS)"; \
	status=$$?; echo; exit $$status

clean: ## Remove the virtualenv, tox envs and caches
	rm -rf $(VENV) .tox test-artifacts build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf $(API)/.coverage* $(API)/.mypy_cache $(API)/.pytest_cache $(API)/*.egg-info .ruff_cache

build: ## Build the api image $(IMAGE) (docker)
	$(DOCKER) build -f $(DOCKERFILE) --target api -t $(IMAGE) \
		--build-arg VERSION=$(VERSION) \
		--build-arg REVISION=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown) \
		--build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) .

build-tests: ## Build the test image $(TEST_IMAGE) (dev dependencies and tox envs)
	$(DOCKER) build -f $(DOCKERFILE) --target test -t $(TEST_IMAGE) .

docker-run: $(RUN_STAMP) build ## Run the api image on :$(PORT), read-only; reloads when services/api/stock_ticker changes
	$(DOCKER) run --rm --name stock-ticker-dev --read-only --tmpfs /tmp \
		--cap-drop ALL --security-opt no-new-privileges -p $(PORT):8000 \
		$(foreach v,$(APP_VARS),-e $(v)) -e PYTHONPATH=/src \
		-v "$(CURDIR)/$(API)/stock_ticker:/src/stock_ticker:ro" \
		-v "$(CURDIR)/infra/docker/reload.py:/src/reload.py:ro" \
		$(IMAGE) python /src/reload.py /src/stock_ticker -- python -m stock_ticker

docker-test: build-tests ## Run lint, types and tests (tox) inside the test image
	$(DOCKER) run --rm $(TEST_IMAGE)

manifests: ## Print what `make deploy` applies (IMAGE_NAME, IMAGE_TAG; WITHOUT_VALKEY=1 GATEWAY=1 PROMETHEUS_OPERATOR=1 PUBLIC_METRICS=1)
	@mkdir -p $(OVERLAY)
	@{ echo 'apiVersion: kustomize.config.k8s.io/v1beta1'; echo 'kind: Kustomization'; \
	   echo 'resources: [../../infra/k8s]'; \
	   $(if $(strip $(COMPONENTS)),echo 'components:'; $(foreach c,$(COMPONENTS),echo '  - ../../infra/k8s/components/$(c)';)) \
	   echo 'images: [{name: stock-ticker, newName: "$(IMAGE_NAME)", newTag: "$(IMAGE_TAG)"}]'; \
	 } > $(OVERLAY)/kustomization.yaml
	@kubectl kustomize $(OVERLAY)

deploy: ## Build, apply infra/k8s and the Secret from STOCKS_API_KEY to KUBECTL_CONTEXT ($(KUBECTL_CONTEXT))
	@test -n "$$STOCKS_API_KEY" || { echo 'deploy: STOCKS_API_KEY is not set (read -rs STOCKS_API_KEY; export STOCKS_API_KEY)' >&2; exit 1; }
	@$(MAKE) --no-print-directory -s kube-context
	$(KUBECTL) cluster-info >/dev/null
	$(MAKE) --no-print-directory build
	$(if $(PUSH),$(DOCKER) push $(IMAGE))
	$(KUBECTL) apply -f infra/k8s/namespace.yaml
	@echo '$(KUBECTL) -n $(NAMESPACE) create secret generic stock-ticker-api --from-env-file=<stdin> --dry-run=client -o yaml | $(KUBECTL) apply -f -'
	@out=$$(printf 'STOCKS_API_KEY=%s\n' "$$STOCKS_API_KEY" \
		| $(KUBECTL) -n $(NAMESPACE) create secret generic stock-ticker-api --from-env-file=/dev/stdin --dry-run=client -o yaml \
		| $(KUBECTL) apply -f -) && echo "$$out" \
		&& if [[ $$out == *configured* ]]; then \
			echo 'deploy: the key changed, restarting the pods'; \
			$(KUBECTL) -n $(NAMESPACE) rollout restart deployment/stock-ticker 2>/dev/null || true; fi
	@$(KUBECTL) -n $(NAMESPACE) get secret stock-ticker-valkey >/dev/null 2>&1 || { \
		echo 'deploy: creating the Secret stock-ticker-valkey (a random REDIS_PASSWORD, never shown)'; \
		printf 'REDIS_PASSWORD=%s\n' "$$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" \
		| $(KUBECTL) -n $(NAMESPACE) create secret generic stock-ticker-valkey --from-env-file=/dev/stdin; }
	$(MAKE) --no-print-directory -s manifests > /dev/null
	$(KUBECTL) apply -k $(OVERLAY)
	$(KUBECTL) -n $(NAMESPACE) rollout status deployment/stock-ticker --timeout=180s

kube-context: # fails with the contexts there are when KUBECTL_CONTEXT is not one of them
	@kubectl config get-contexts -o name 2>/dev/null | grep -qx '$(KUBECTL_CONTEXT)' || { \
		echo "kubectl has no context '$(KUBECTL_CONTEXT)'; pick one with KUBECTL_CONTEXT=<name>, one of:" >&2; \
		kubectl config get-contexts -o name 2>/dev/null | sed 's/^/  /' >&2; exit 1; }

configure-ingress: kube-context ## Install the NGINX ingress controller $(INGRESS_NGINX_VERSION), exposed on localhost:$(INGRESS_PORT)
	$(KUBECTL) apply -f $(INGRESS_NGINX_MANIFEST)
	$(KUBECTL) -n ingress-nginx patch service ingress-nginx-controller --type=json \
		-p '[{"op": "replace", "path": "/spec/ports/0/port", "value": $(INGRESS_PORT)}]'
	$(KUBECTL) -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s
	@echo "ingress: http://localhost:$(INGRESS_PORT)/stock-ticker/ndays (Docker Desktop publishes LoadBalancer ports on localhost)"

configure-gateway: kube-context ## Install Gateway API and NGINX Gateway Fabric $(NGINX_GATEWAY_FABRIC_VERSION), a Gateway on localhost:8081 (then deploy GATEWAY=1)
	kubectl kustomize "https://github.com/nginx/nginx-gateway-fabric/config/crd/gateway-api/standard?ref=v$(NGINX_GATEWAY_FABRIC_VERSION)" | $(KUBECTL) apply -f -
	$(KUBECTL) apply --server-side -f $(NGF)/deploy/crds.yaml
	$(KUBECTL) apply -f $(NGF)/deploy/default/deploy.yaml
	$(KUBECTL) -n nginx-gateway rollout status deployment/nginx-gateway --timeout=300s
	$(KUBECTL) apply -f infra/gateway/gateway.yaml
	$(KUBECTL) -n nginx-gateway wait --for=condition=Programmed gateway/stock-ticker --timeout=300s
	@echo "gateway: http://localhost:8081/stock-ticker/ndays once deployed with GATEWAY=1 (Docker Desktop publishes LoadBalancer ports on localhost)"

rollout-restart: kube-context ## Restart the pods (new image under the same tag, changed ConfigMap or Secret)
	$(KUBECTL) -n $(NAMESPACE) rollout restart deployment/stock-ticker
	$(KUBECTL) -n $(NAMESPACE) rollout status deployment/stock-ticker --timeout=180s

logs: kube-context ## Follow the logs of every stock-ticker pod
	$(KUBECTL) -n $(NAMESPACE) logs -f --prefix --tail=100 --max-log-requests=10 \
		-l app.kubernetes.io/name=stock-ticker
