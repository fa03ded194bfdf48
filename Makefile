# Everything goes through `make setup` first (idempotent, quick when nothing changed).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup run test test-fast train lint bench postgres clean

setup:
	@scripts/setup.sh

run: setup
	@$(VENV)/bin/outreach run

train: setup
	@$(VENV)/bin/outreach train

test: setup
	@scripts/test.sh

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/lint-imports
	@$(PY) scripts/catalogue.py check
	@$(PY) scripts/audit.py

bench: setup
	@$(VENV)/bin/outreach train >/dev/null
	@$(PY) -m bench.turn_latency

postgres:
	@scripts/postgres.sh start

clean:
	rm -rf $(VENV) .venv-rasa models var .rasa .pytest_cache
