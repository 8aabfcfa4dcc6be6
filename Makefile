# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PYTHON_BIN ?= python3
PY := $(VENV)/bin/python

# Every install comes from uv.lock (hashes included) through uv, pinned here. uv lives in
# its own small venv, .tools/ (gitignored), not in .venv: `uv sync` removes from .venv
# whatever the lock does not list, uv included, and `make clean` drops .venv but keeps uv.
# A new UV_VERSION reinstalls it (the stamp names the version).
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON_BIN)

# Two installs of the same venv, each redone only when the lock or pyproject.toml changes.
# Runtime (`make run`): the [project] dependencies alone, as production has them; --inexact
# so that it leaves the test tools of an earlier `make test` in place instead of removing them.
# Dev (`make test` and the tools): runtime + every group (test, load, lint), exactly the lock.
RUNTIME_STAMP := $(VENV)/.synced-runtime
DEV_STAMP := $(VENV)/.synced-dev

# requirements.txt: the runtime dependencies exported from uv.lock with hashes, for deployers
# who install with pip. `make lock` writes it; `make check-lock` (CI) fails if it is stale.
REQ_HEADER := \
	'\# Generated from uv.lock by `make lock`; do not edit. The runtime dependencies only, with' \
	'\# hashes: `pip install -r requirements.txt`. Development tools: pyproject.toml [dependency-groups].'
UV_EXPORT := $(UV) export --locked --no-default-groups --no-emit-project --format requirements-txt --no-header --quiet

.PHONY: run test test-fast venv lint format typecheck importlint check-migrations setup clean \
	bench bench-short bench-stats loadtest loadtest-cluster loadtest-cluster-short haproxy lock check-lock

$(UV_STAMP):
	test -x $(TOOLS)/bin/python || $(PYTHON_BIN) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	rm -f $(TOOLS)/.uv-*
	touch $@

$(RUNTIME_STAMP): uv.lock pyproject.toml $(UV_STAMP)
	$(UV) sync --locked --no-default-groups --inexact
	touch $@

$(DEV_STAMP): uv.lock pyproject.toml $(UV_STAMP)
	$(UV) sync --locked --no-default-groups --group dev
	touch $@ $(RUNTIME_STAMP)

venv: $(DEV_STAMP)

# After a change to the dependencies in pyproject.toml: re-resolve, then re-export.
lock: $(UV_STAMP)
	$(UV) lock
	{ printf '%s\n' $(REQ_HEADER); $(UV_EXPORT); } > requirements.txt

check-lock: $(UV_STAMP)
	$(UV) lock --check
	{ printf '%s\n' $(REQ_HEADER); $(UV_EXPORT); } | diff -u requirements.txt - \
		|| { echo "requirements.txt is stale: run make lock" >&2; exit 1; }

# Migrate, load the bank, create the demo accounts, serve on 127.0.0.1:8000 (SQLite by default).
setup: export DJANGO_DEBUG ?= true
setup: $(RUNTIME_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_bank
	$(PY) manage.py validate_bank
	$(PY) manage.py create_demo_accounts

# Beside the server, the task queue: its worker (jobs are rows of the same database, so no
# other server is needed) and the scheduler, ticking every 30 s instead of production's cron
# entry. Both stop when the server does (Ctrl+C).
run: export DJANGO_DEBUG ?= true
run: setup
	@$(PY) manage.py db_worker --interval 2 & worker=$$!; \
	$(PY) manage.py run_schedule --loop 30 & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null; wait' EXIT; \
	$(PY) manage.py runserver 127.0.0.1:8000

# Tests run with debug off, as in production; the key is a throwaway for the test process.
test: export DJANGO_SECRET_KEY ?= test-only-secret-key-not-for-production
# The live server of the browser tests speaks plain HTTP (the redirect is tested on its own).
test: export DJANGO_SECURE_SSL_REDIRECT ?= false
# The whole suite, spread over the cores (pytest-xdist: one test database per worker).
test: $(DEV_STAMP)
	$(PY) -m pytest -n auto

# The quick loop: SQLite, no browser, fuzz, load or slow tests, spread over the cores.
test-fast: export DJANGO_SECRET_KEY ?= test-only-secret-key-not-for-production
test-fast: export DJANGO_SECURE_SSL_REDIRECT ?= false
test-fast: $(DEV_STAMP)
	DATABASE_URL= $(PY) -m pytest -m "not browser and not fuzz and not load and not slow" -n auto -q

# The resident's flow over HTTP (with and without JavaScript) against the fixed and the
# realistic floor, on SQLite and PostgreSQL, 2 and 4 gunicorn workers, 1, 4 and 8 clients; the
# heavy pages on PostgreSQL with the generated history (1,000 residents x 50 x 40, ~6 min to
# generate); double submits; worker memory. About 30 minutes; writes its table to
# docs/benchmarks.md. BENCH_ARGS=--reuse-db keeps the databases for next time (bench/run.py -h).
BENCH_ARGS ?=
bench: $(DEV_STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

# The same in about a minute on small data, 2 workers, 1 and 8 clients (CI); the table goes
# to a temporary file.
bench-short: $(DEV_STAMP)
	$(PY) bench/run.py --short $(BENCH_ARGS)

# Timings of the dashboard aggregates on a synthetic history, in-process (docs/benchmarks.md).
BENCH_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
bench-stats: $(DEV_STAMP)
	DATABASE_URL= $(PY) bench/stats_bench.py
	DATABASE_URL=$(BENCH_POSTGRES_URL) $(PY) bench/stats_bench.py

# 100 residents for 60 s on gunicorn + PostgreSQL, a worker killed and the database
# connections dropped once; fails on any lost answer or 5xx outside the faults (loadtest/).
loadtest: $(DEV_STAMP)
	$(PY) loadtest/run.py

# 150 residents for 3 min through HAProxy to three app hosts, each gunicorn in a network
# namespace of its own, sharing PostgreSQL and a Redis of the test's own: one host killed and
# brought back, Redis stopped and restarted, the database connections dropped, the load
# balancer reloaded. Needs root, haproxy and redis-server (loadtest/README.md).
loadtest-cluster: $(DEV_STAMP) haproxy
	$(PY) loadtest/cluster.py

# The same faults in 75 s (CI).
loadtest-cluster-short: $(DEV_STAMP) haproxy
	$(PY) loadtest/cluster.py --duration 75

# Debian's HAProxy for the cluster load test, installed when missing (needs root).
haproxy:
	@test -x /usr/sbin/haproxy || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The django-stubs plugin imports the settings, which need a secret key unless debug is on.
typecheck: export DJANGO_DEBUG ?= true
typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

importlint: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-migrations: export DJANGO_DEBUG ?= true
check-migrations: $(RUNTIME_STAMP)
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
