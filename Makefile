# Tandem: `make demo` starts it with demo data, `make test` runs every test.
# Without DATABASE_URL both use an embedded PostgreSQL server kept in .data/postgres.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test test-fast bench migrations-check db-stop clean-db

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_setup --host $(HOST) --port $(PORT)
	$(BIN)/python manage.py runserver --insecure $(HOST):$(PORT)

test: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything but the full replay of the shared data (about a minute instead of several).
test-fast: install
	$(BIN)/python -m pytest -m "not replay" $(PYTEST_ARGS)

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

db-stop:
	@$(BIN)/python -c "from pathlib import Path; from commerce.database import embedded_database_stop as stop; print('Stopped.' if stop(Path('.data/postgres').resolve()) else 'The embedded PostgreSQL server is not running.')"

clean-db: db-stop
	rm -rf .data/postgres
