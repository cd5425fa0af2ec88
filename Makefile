# Lavka: `make run` starts everything on embedded defaults, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Links in emails and the printed address follow the port unless set explicitly.
LAVKA_SITE_URL ?= http://127.0.0.1:$(PORT)
export LAVKA_SITE_URL
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test install migrate demo-data flower lint format messages check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo-data: migrate
	$(BIN)/python manage.py load_demo_data

## Web server, Celery worker and Celery beat in the foreground; Ctrl-C stops all three.
run: demo-data
	@echo "Starting Lavka on http://127.0.0.1:$(PORT)/ (web, worker, beat). Ctrl-C stops all."
	PORT=$(PORT) $(BIN)/honcho start --port $(PORT) --env /dev/null

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

flower: install
	$(BIN)/celery -A lavka flower --port=$${FLOWER_PORT:-5555}

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lavka
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Extract and compile translations (needs gettext; compiled files are committed).
messages: install
	cd lavka && ../$(BIN)/python ../manage.py makemessages --locale=ru --ignore='../.venv/*' && ../$(BIN)/python ../manage.py compilemessages --locale=ru

check-deploy: install
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	DJANGO_ALLOWED_HOSTS=lavka.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/cache var/broker
