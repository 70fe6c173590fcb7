# The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3

.PHONY: run test lint requirements bench install migrate seed key clean

# requirements-dev.txt holds every package (runtime and dev) pinned with hashes, so pip installs
# exactly the files that were compiled (hash-checking mode) or fails.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
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

bench: install
	$(PY) bench/emit_bench.py

clean:
	rm -rf var $(VENV)
