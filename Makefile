# One task runner for everyday work. Every target uses the project's .venv (./test.sh creates
# it); CI runs .ci/run, which calls the same test command (./test.sh) on a fresh environment.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help setup lint format fast full bench ci

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv with the test tools (what ./test.sh does on first use)
	./test.sh --version >/dev/null

lint: setup  ## ruff, ruff format --check, mypy --strict, import contracts, radon grades
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict bot storage
	$(BIN)/lint-imports
	./test.sh -q tests/test_quality.py

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

fast: setup  ## the core's rules on the in-memory store: seconds, no database
	./test.sh -q tests/core -k "not sqlite and not postgres" -p no:randomly

full: setup  ## the whole suite (SQLite, PostgreSQL when reachable, the stand-ins)
	./test.sh -q

bench: setup  ## python -m bench: BENCHMARKS.md (about 5 minutes, needs PostgreSQL)
	$(BIN)/python -m bench

ci:  ## exactly what CI runs: a fresh venv, every check, PostgreSQL required
	bash .ci/run
