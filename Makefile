# The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3

.PHONY: run test lint bench install migrate seed key clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

key: seed
	@$(PY) manage.py create_api_key "make run $$(date +%Y-%m-%dT%H:%M:%S)" | tee var/last-api-key.txt

## make run: set everything up and run web server, Celery worker and beat (SQLite + filesystem broker by default)
run: key
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(HOST):$(PORT)/ (API /api/v1/, admin /admin/, docs /api/docs/)."
	@echo "API key: $$(tail -n 1 var/last-api-key.txt)   (also in var/last-api-key.txt)"
	@echo "Admin user: $(PY) manage.py createsuperuser"
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

## make test: the whole suite (PostgreSQL when DATABASE_URL is set, SQLite otherwise)
test: install
	mkdir -p var
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/emit_bench.py

clean:
	rm -rf var $(VENV)
