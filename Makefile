# The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3

.PHONY: run test lint requirements bench bench-engine install migrate seed key clean

# `make run` is a local development run (SQLite and the filesystem broker unless DATABASE_URL and
# CELERY_BROKER_URL say otherwise): every step and all three processes (web, worker, beat) use the
# local settings, named here, whatever DJANGO_SETTINGS_MODULE the shell has. Without it the
# servers would use config.settings.production (docs/deployment.md).
RUN_SETTINGS := config.settings.local
RUN_ENV := DJANGO_SETTINGS_MODULE=$(RUN_SETTINGS)

# requirements-dev.txt holds every package (runtime and dev) pinned with hashes, so pip installs
# exactly the files that were compiled (hash-checking mode) or fails.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# This installation's own secret key, made on the first run (random, mode 0600): the local
# settings read it when DJANGO_SECRET_KEY is not set. Production takes DJANGO_SECRET_KEY only.
var/secret_key: | install
	$(PY) -c 'from config.settings.local import VAR_DIR, installation_secret_key as k; k(VAR_DIR / "secret_key")'

migrate: install var/secret_key
	mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --noinput

seed: migrate
	$(RUN_ENV) $(PY) manage.py seed_demo

key: seed
	@$(RUN_ENV) $(PY) manage.py create_api_key "make run $$(date +%Y-%m-%dT%H:%M:%S)" | tee var/last-api-key.txt

## make run: set everything up and run web server, Celery worker and beat (SQLite + filesystem broker by default)
run: key
	$(RUN_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(HOST):$(PORT)/ (API /api/v1/, admin /admin/, docs /api/docs/)."
	@echo "API key: $$(tail -n 1 var/last-api-key.txt)   (also in var/last-api-key.txt)"
	@echo "Admin user: $(PY) manage.py createsuperuser"
	@echo "Settings: $(RUN_SETTINGS) (web, worker and beat)."
	$(RUN_ENV) HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

## make test: the whole suite (PostgreSQL when DATABASE_URL is set, SQLite otherwise)
test: install
	mkdir -p var
	$(VENV)/bin/pytest

## make lint: what CI runs before the tests; fails on any lint, format, migration or schema problem
# The manage.py checks use the local settings on an in-memory SQLite database and the filesystem
# broker, whatever DATABASE_URL, CELERY_BROKER_URL or .env say: no server is needed.
LINT_ENV := DJANGO_SETTINGS_MODULE=config.settings.local DATABASE_URL=sqlite://:memory: CELERY_BROKER_URL=filesystem://
lint: install
	mkdir -p var
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(LINT_ENV) $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

## make requirements: recompile requirements.txt and requirements-dev.txt from the .in files,
## keeping every pin that still fits; UPGRADE="django celery" (or "django==5.2.20") moves those
## packages to the newest (or the given) version the .in ranges allow. Uses pip's index settings.
UPGRADE ?=
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make requirements" $(VENV)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	$(addprefix --upgrade-package ,$(UPGRADE))
requirements: install
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements.in requirements-dev.in

## make bench: the HTTP benchmark of issue 11 (bench/http_bench.py, bench/README.md): gunicorn with the
## production settings on PostgreSQL (BENCH_DATABASE_URL, default loyalty_bench11, flushed), Redis DBs
## 2 and 3, wrk at 16 connections for BENCH_SECONDS (30) per figure. Installs wrk (Debian) if missing.
bench: install
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) bench/http_bench.py

## make bench-engine: the engine alone, no HTTP (bench/emit_bench.py; SQLite unless BENCH_DATABASE_URL)
bench-engine: install
	$(PY) bench/emit_bench.py

clean:
	rm -rf var $(VENV)
