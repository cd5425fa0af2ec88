# Lavka: `make run` starts everything on embedded defaults (production-shaped: gunicorn,
# DEBUG off), `make dev` the auto-reloading development server, `make test` the suite.
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

.PHONY: run dev test install migrate static demo-data flower lint format messages check-deploy clean \
	vision-env vision vision-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

static: install
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0

demo-data: migrate
	$(BIN)/python manage.py load_demo_data

## gunicorn (static files through WhiteNoise), Celery worker and Celery beat in the
## foreground, DEBUG off; the demo logins are printed last, once web and worker answer.
## Ctrl-C stops all.
run: migrate static
	$(BIN)/python manage.py load_demo_data > /dev/null
	@echo "Starting Lavka on http://127.0.0.1:$(PORT)/ (gunicorn, worker, beat, the vision service: its environment is installed on the first run); the demo logins follow once it is up. Ctrl-C stops all."
	WEB_PORT=$(PORT) $(BIN)/honcho start --port $(PORT) --env /dev/null

## The same with Django's auto-reloading development server and DEBUG on.
dev: migrate
	@echo "Starting Lavka for development on http://127.0.0.1:$(PORT)/ (runserver, DEBUG on). Ctrl-C stops all."
	DJANGO_DEBUG=true WEB_PORT=$(PORT) $(BIN)/honcho start --procfile Procfile.dev --port $(PORT) --env /dev/null

## The suite runs the demos against the real vision service, so it needs its environment.
test: install vision-env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

flower: install
	$(BIN)/celery -A lavka flower --port=$${FLOWER_PORT:-5555}

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lavka services
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Extract and compile translations (needs gettext; compiled files are committed).
messages: install
	cd lavka && ../$(BIN)/python ../manage.py makemessages --locale=ru --ignore='../.venv/*' && ../$(BIN)/python ../manage.py compilemessages --locale=ru

## Django's deployment checks on this environment: set LAVKA_SITE_URL=https://… and
## EMAIL_URL as the deployment will; fails naming what is missing.
check-deploy: install
	DJANGO_DEBUG=false $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/cache var/broker

## The reference vision service (services/vision) lives in its own virtual environment
## with its own pinned requirements; `make vision-env` creates or updates it (a few
## hundred MB of wheels with the models inside; nothing is downloaded at run time).
VISION_DIR := services/vision
VISION_VENV := $(VISION_DIR)/.venv
VISION_BIN := $(VISION_VENV)/bin
VISION_STAMP := $(VISION_VENV)/.installed
VISION_PYTHON ?= $(PYTHON)
VISION_PORT ?= 12120

$(VISION_BIN)/python:
	@echo "vision: creating $(VISION_VENV)"
	$(VISION_PYTHON) -m venv $(VISION_VENV)
	$(VISION_BIN)/python -m pip install --quiet --upgrade pip

$(VISION_STAMP): $(VISION_DIR)/requirements.txt $(VISION_DIR)/requirements-nodeps.txt $(VISION_DIR)/requirements-test.txt | $(VISION_BIN)/python
	@echo "vision: installing pinned packages (1/2: OpenCV, ONNX Runtime, dlib, FastAPI, test tools)..."
	$(VISION_BIN)/python -m pip install --progress-bar on -r $(VISION_DIR)/requirements.txt -r $(VISION_DIR)/requirements-test.txt
	@echo "vision: installing pinned packages (2/2: MediaPipe and RapidOCR, without their declared dependencies)..."
	$(VISION_BIN)/python -m pip install --progress-bar on --no-deps -r $(VISION_DIR)/requirements-nodeps.txt
	@echo "vision: checking that every model loads offline..."
	$(VISION_BIN)/python -m services.vision.check
	touch $(VISION_STAMP)
	@echo "vision: environment ready in $(VISION_VENV)"

vision-env: $(VISION_STAMP)

## Serve on VISION_PORT (default 12120) with VISION_WORKERS processes (default 1).
vision: vision-env
	$(VISION_BIN)/uvicorn services.vision.app:app --host $${VISION_HOST:-127.0.0.1} --port $(VISION_PORT) --workers $${VISION_WORKERS:-1}

## The vision service's tests, in its own environment (Lavka's suite does not collect them).
vision-test: vision-env
	$(VISION_BIN)/python -m pytest -c $(VISION_DIR)/pytest.ini $(VISION_DIR)/tests $(PYTEST_ARGS)
