# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PYTHON_BIN ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test venv lint format check-migrations setup clean bench bench-short bench-stats loadtest

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# Migrate, load the bank, create the demo accounts, serve on 127.0.0.1:8000 (SQLite by default).
setup: export DJANGO_DEBUG ?= true
setup: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_bank
	$(PY) manage.py validate_bank
	$(PY) manage.py create_demo_accounts

run: export DJANGO_DEBUG ?= true
run: setup
	$(PY) manage.py runserver 127.0.0.1:8000

# Tests run with debug off, as in production; the key is a throwaway for the test process.
test: export DJANGO_SECRET_KEY ?= test-only-secret-key-not-for-production
# The live server of the browser tests speaks plain HTTP (the redirect is tested on its own).
test: export DJANGO_SECURE_SSL_REDIRECT ?= false
test: $(STAMP)
	$(PY) -m pytest

# The pages on PostgreSQL with the generated history (1,000 residents x 50 x 40, ~6 min to
# generate) under gunicorn: server time, queries, throughput against the floor, worker memory;
# writes its table to docs/benchmarks.md. BENCH_ARGS=--reuse-db keeps the database for next time.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

# The same in about 30 s on small data (CI); the table goes to a temporary file.
bench-short: $(STAMP)
	$(PY) bench/run.py --short $(BENCH_ARGS)

# Timings of the dashboard aggregates on a synthetic history, in-process (docs/benchmarks.md).
BENCH_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
bench-stats: $(STAMP)
	DATABASE_URL= $(PY) bench/stats_bench.py
	DATABASE_URL=$(BENCH_POSTGRES_URL) $(PY) bench/stats_bench.py

# 100 residents for 60 s on gunicorn + PostgreSQL, a worker killed and the database
# connections dropped once; fails on any lost answer or 5xx outside the faults (loadtest/).
loadtest: $(STAMP)
	$(PY) loadtest/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-migrations: export DJANGO_DEBUG ?= true
check-migrations: $(STAMP)
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
