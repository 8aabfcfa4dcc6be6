# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PYTHON_BIN ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test venv lint format check-migrations setup clean

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
test: $(STAMP)
	$(PY) -m pytest

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
