# The Data Flow Console: `make run` to try it, `make test` to test it. Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# `PORT=8080 make run`: honcho gives every process a PORT of its own, so the web port travels
# to the Procfile as CONSOLE_WEB_PORT.
WEB_PORT := $(or $(PORT),8000)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

.PHONY: install-local run test test-embedded lint format bench install install-dev chromium redis-server gettext compilemessages messages reset-demo-passwords clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when the requirements change.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

# Development only: honcho runs the development Procfile.
$(VENV)/.installed-local: requirements.txt requirements-local.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-local.txt
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-local: $(VENV)/.installed-local

## make run: web on http://127.0.0.1:8000 (PORT=8080 for another), a Celery worker and the SCP simulator; Ctrl-C stops all.
run: install-local
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	@DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Starting the console on http://127.0.0.1:$(WEB_PORT) (web, worker, SCP simulator); sign in with a demo login above. Ctrl-C stops everything."
	DEBUG=1 CONSOLE_WEB_PORT=$(WEB_PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

reset-demo-passwords: install
	@DEBUG=1 $(BIN)/python manage.py seed_demo --reset-passwords

# Debian's Chromium drives the browser tests; Playwright cannot download browsers here.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null \
	  || { echo "Could not install chromium; install it (apt-get install chromium) or set CHROMIUM=/path/to/chromium"; exit 1; }; \
	fi

# The broker-outage tests start and stop a redis-server of their own.
redis-server:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  echo "Installing redis-server for the broker-outage tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server >/dev/null \
	  || { echo "Could not install redis-server; install it (apt-get install redis-server)"; exit 1; }; \
	fi

# GNU gettext compiles the translations (msgfmt) and extracts new strings (xgettext).
gettext:
	@if ! command -v msgfmt >/dev/null 2>&1; then \
	  echo "Installing gettext for the translations"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gettext >/dev/null \
	  || { echo "Could not install gettext; install it (apt-get install gettext)"; exit 1; }; \
	fi

# The compiled catalogues (.mo) are tracked, so that a deployment needs no GNU gettext; after
# editing a .po file, compile them again (a test checks that they match their sources).
compilemessages: install gettext
	@DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var -v 0

## make messages: add the strings marked since the last time to the .po files, then compile them.
messages: install gettext
	DEBUG=1 $(BIN)/python manage.py makemessages -l ko --no-obsolete \
	  --ignore=.venv --ignore=var --ignore=tests --ignore=node_modules
	@DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var -v 0

## make test: everything the suite needs, then the whole suite.
test: install-dev chromium redis-server gettext
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest

## The browser smoke test on the embedded defaults (SQLite + filesystem broker), whatever the environment says.
test-embedded: install-dev chromium
	env -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND CONSOLE_VAR_DIR=$(CURDIR)/var/test-embedded \
	  CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/browser tests/test_celery_roundtrip.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	$(BIN)/python -m tests.bench

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
