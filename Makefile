# low-latency-translate: every developer and CI entry point.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 or newer (scripts/find-python.sh looks for 3.13, then 3.12); PYTHON=... chooses another.
PYTHON ?= $(shell bash scripts/find-python.sh 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
# Named for the Python floor: a checkout whose .venv is older is rebuilt once.
VENV_STAMP := $(VENV)/.installed-py312
LOCAL_STAMP := $(VENV)/.installed-local
PORT ?= 8080
CDK := node_modules/.bin/cdk
CDK_STAMP := node_modules/.installed
ENV ?= dev
LAMBDA_PACKAGES := shared delivery deployment connection_handler authorizer chunk_writer s3_audio_consumer \
  audio_processor fanout transcripts
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install local apps local-deps bench bench-quick bench-consumer bench-processor test test-unit test-infra test-integration lint synth deploy-dev deploy-prod destroy-dev logs ffmpeg-layer clean

help:
	@echo "make local       install what is needed, run the whole system on http://127.0.0.1:$$PORT (PORT=8080)"
	@echo "make test        install what is needed, run every test (CI runs make lint, then this)"
	@echo "make lint        ruff, ruff format --check, mypy (CI runs it before make test)"
	@echo "make bench       latency, fan-out, throughput and cost: bench/results/DATE.json, docs/BENCHMARKS.md (~25 min)"
	@echo "make bench-quick the same as a smoke run (under 3 minutes)"
	@echo "make bench-consumer   s3_audio_consumer time per 3 s batch (median, p95)"
	@echo "make bench-processor  audio_processor time per batch by stage, AI services faked"
	@echo "make synth       synthesize both stacks into cdk.out/ (ENV=dev|prod)"
	@echo "make deploy-dev  deploy SessionManagement, then AudioTranscription, to dev"
	@echo "make deploy-prod / destroy-dev"
	@echo "make logs FN=audio-processor   follow a function's logs (ENV=dev)"

$(VENV_STAMP): requirements-dev.txt
	@test -n "$(PYTHON)" || bash scripts/find-python.sh
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
	  { echo "$(PYTHON) is $$($(PYTHON) --version 2>&1); Python 3.12 or newer is needed" >&2; exit 1; }
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "$(VENV) was made with $$($(PY) --version 2>&1): making it again with $(PYTHON)"; rm -rf $(VENV); fi
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(LOCAL_STAMP): $(VENV_STAMP) requirements-local.txt scripts/install-system-packages.sh
	bash scripts/install-system-packages.sh
	$(PY) -m pip install --quiet -r requirements-local.txt
	touch $@

local-deps: $(LOCAL_STAMP) ffmpeg-layer

# The browser apps, when present, are built to static files that the runner serves.
apps:
	@if [ -f frontend-client-apps/package.json ]; then \
		cd frontend-client-apps && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	fi

local: local-deps apps
	PORT=$(PORT) $(PY) -m local

$(CDK_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV_STAMP) $(CDK_STAMP) ffmpeg-layer

ffmpeg-layer: $(VENV_STAMP)
	PIP="$(PY) -m pip" bash scripts/download-ffmpeg.sh

test: local-deps apps
	cd frontend-client-apps && npm test
	$(PY) -m pytest tests/unit tests/local tests/bench tests/infrastructure tests/e2e tests/integration

test-integration: local-deps
	$(PY) -m pytest tests/integration

test-unit: $(VENV_STAMP)
	$(PY) -m pytest tests/unit

test-infra: $(VENV_STAMP)
	$(PY) -m pytest tests/infrastructure

bench: local-deps
	$(PY) -m bench.run

bench-quick: local-deps
	$(PY) -m bench.run --quick

bench-consumer: $(VENV_STAMP)
	$(PY) -m bench.consumer

bench-processor: $(VENV_STAMP)
	$(PY) -m bench.processor --languages 2 --listeners 10
	$(PY) -m bench.processor --languages 6 --listeners 100 --batches 30

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py infra session_management audio_transcription
	MYPYPATH=lambdas $(VENV)/bin/mypy local bench
	cd lambdas && ../$(VENV)/bin/mypy $(foreach p,$(LAMBDA_PACKAGES),-p $(p))

synth: install
	$(CDK) synth --quiet -c env=$(ENV)
	@ls cdk.out/*.template.json

deploy-dev: install
	bash scripts/require-aws-credentials.sh
	$(CDK) deploy -c env=dev --require-approval never \
	  LowLatencyTranslate-SessionManagement-dev LowLatencyTranslate-AudioTranscription-dev

deploy-prod: install
	bash scripts/require-aws-credentials.sh
	$(CDK) deploy -c env=prod \
	  LowLatencyTranslate-SessionManagement-prod LowLatencyTranslate-AudioTranscription-prod

destroy-dev: install
	bash scripts/require-aws-credentials.sh
	$(CDK) destroy -c env=dev --force \
	  LowLatencyTranslate-AudioTranscription-dev LowLatencyTranslate-SessionManagement-dev

logs:
	@test -n "$(FN)" || { echo "usage: make logs FN=<function> [ENV=dev]" >&2; exit 2; }
	bash scripts/tail-lambda-logs.sh $(FN) $(ENV)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
