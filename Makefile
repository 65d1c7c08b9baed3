# Two commands on a fresh machine with Python 3.11+:
#   make run    set up, migrate, seed demo data if empty, serve http://127.0.0.1:5000
#   make test   set up and run the whole test suite
#   make serve  migrate and serve under gunicorn: WORKERS=4 BIND=0.0.0.0:8000 (rate limits: set
#               FLASK_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 so that all workers share them)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app app
WORKERS ?= 2
BIND ?= 127.0.0.1:8000

.PHONY: run test install serve bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The mail worker runs beside the server and prints each mail on this console (MAIL_CONSOLE);
# it stops with the server (Ctrl-C).
run: install
	$(FLASK) db upgrade
	$(FLASK) seed demo
	FLASK_MAIL_CONSOLE=1 $(FLASK) mail worker --interval 1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	FLASK_MAIL_CONSOLE=1 $(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/python -m pytest

serve: install
	$(FLASK) db upgrade
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(BIND) 'app:create_app()'

bench: install
	$(BIN)/python bench/run.py

# Refresh the README's screenshots (docs/screenshots/): the screen tests write them when SCREENSHOTS=1.
screenshots: install
	SCREENSHOTS=1 REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_screens_browser.py
