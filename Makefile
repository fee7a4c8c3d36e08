# The verbs people type. `make run` and `make test` work on a fresh machine.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench venv setup worker clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (pyenv: see .python-version)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip check
	touch $@

venv: $(BIN)/.installed

setup: venv
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py dev_setup

# Links in emails and letters point at the server `make run` starts (unless SITE_URL is set, in
# the environment or in .env).
ifeq ($(shell grep -s '^SITE_URL=' .env),)
run setup: export SITE_URL ?= http://$(HOST):$(PORT)
endif
run: setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: venv
	$(BIN)/celery -A allmytracks worker -Q default,ingest,letters,email -B --loglevel=INFO

test: venv
	DJANGO_ENV=test $(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv  # search.py loads the million-track catalogue that pages.py serves
	@for script in search pages licensing ingest; do echo "== bench/$$script.py"; \
		DJANGO_ENV=test $(BIN)/python bench/$$script.py || exit 1; done

clean:
	rm -rf var staticfiles .pytest_cache
