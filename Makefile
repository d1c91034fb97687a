# rentalcoop: `make run` to try it, `make test` to check it. Both set everything up themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
PO     := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)

.PHONY: run test install install-dev translations lint format e2e e2e-deps clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# axe-core for the browser journeys (tests/e2e/package-lock.json). Without it (no npm, or the
# registry out of reach) the browser tests are skipped, and pytest says why.
E2E_NODE := tests/e2e/node_modules/.installed
$(E2E_NODE): tests/e2e/package.json tests/e2e/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found (apt-get install npm): the browser tests will be skipped"; \
	elif npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error; then \
	  touch $@; \
	else \
	  echo "npm ci failed: the browser tests will be skipped"; \
	fi
e2e-deps: $(E2E_NODE)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(PY) -m babel.messages.frontend compile --statistics -i $< -o $@

translations: $(MO)

run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo-data
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The suite runs on TEST_WORKERS processes (pytest-xdist, each test file on one worker, the
# workers sharing one load of the demo town). With TEST_DATABASE_URL set, the SQLite and the
# PostgreSQL pass run at the same time; PostgreSQL's output follows SQLite's, and either
# failing fails `make test`.
# PYTEST_ARGS: more options for both passes, e.g. PYTEST_ARGS=--durations=30.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
PYTEST := $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: install-dev translations e2e-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if [ -z "$$TEST_DATABASE_URL" ]; then \
	  $(PYTEST) || exit $$?; \
	  echo "Databases tested: SQLite only (set TEST_DATABASE_URL to include PostgreSQL)"; \
	  exit 0; \
	fi; \
	log=$$(mktemp); \
	$(PYTEST) -m "not sqlite_only" >"$$log" 2>&1 & postgres=$$!; \
	echo "== SQLite pass (PostgreSQL's runs alongside; its output follows) =="; \
	env -u TEST_DATABASE_URL $(PYTEST); sqlite_status=$$?; \
	wait $$postgres; postgres_status=$$?; \
	echo "== PostgreSQL pass ($$TEST_DATABASE_URL) =="; \
	cat "$$log"; rm -f "$$log"; \
	if [ $$sqlite_status -ne 0 ] || [ $$postgres_status -ne 0 ]; then \
	  echo "FAILED: SQLite pass exit $$sqlite_status, PostgreSQL pass exit $$postgres_status"; \
	  exit 1; \
	fi; \
	echo "Databases tested: SQLite and PostgreSQL ($$TEST_DATABASE_URL)"

# Browser journeys (Debian's Chromium); screenshots of every step land in test-artifacts/e2e/.
e2e: install-dev translations e2e-deps
	$(PY) -m pytest -q -p no:cacheprovider -m e2e tests/e2e
	@echo "Screenshots: test-artifacts/e2e/"

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) $(MO) .pytest_cache .ruff_cache tests/e2e/node_modules
