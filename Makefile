# remote_groups — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app remote_groups
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: run test test-sqlite test-postgres bench catalogs extract lint clean setup browser screenshots \
	calendar-readers test-dates faketime

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed catalogs

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -l $*

catalogs: $(MO_FILES)

## extract: collect translatable strings into messages.pot and merge them into each catalog
extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

# PORT=… serves elsewhere; the links in mail and feeds follow it (BASE_URL), unless
# REMOTE_GROUPS_BASE_URL is set.
PORT ?= 5000
run: setup
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	REMOTE_GROUPS_RUN_SCHEDULER=true \
	REMOTE_GROUPS_BASE_URL="$${REMOTE_GROUPS_BASE_URL:-http://127.0.0.1:$(PORT)}" \
		$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: lint test-sqlite test-postgres

test-sqlite: setup browser calendar-readers
	$(BIN)/python -m pytest

# Debian's chromium and chromium-driver, for the browser tests (tests/browser/, run in
# test-sqlite) and `make screenshots`; Selenium is given their paths and never downloads one.
# Installed with apt-get (as root, else with sudo) when missing. If that fails, outside CI the
# browser tests are skipped with a message; with CI=true it fails the run.
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo )apt-get
APT_LOG := /tmp/remote-groups-apt.log
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif echo "Installing chromium and chromium-driver (log: $(APT_LOG))" && \
		$(APT_GET) update -qq > $(APT_LOG) 2>&1 && \
		DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium chromium-driver >> $(APT_LOG) 2>&1; then :; \
	elif [ "$$CI" = "true" ]; then \
		tail -20 $(APT_LOG) >&2; \
		echo "Could not install chromium and chromium-driver, and CI=true requires them" >&2; exit 1; \
	else \
		echo "Could not install chromium and chromium-driver (see $(APT_LOG)): the browser tests will be skipped (CI would fail)"; \
	fi

# The calendar parsers people's clients use, for the feed tests (tests/calendar/test_readers.py):
# Mozilla's ical.js (Thunderbird), pinned in tools/calendar_readers/package-lock.json and
# installed with npm ci, and GNOME's libical through Debian's gir1.2-ical-3.0 and python3-gi
# (run with /usr/bin/python3). Missing parts are installed like chromium above; if that fails,
# outside CI those tests are skipped with a message, with CI=true the run fails.
READERS := tools/calendar_readers
$(READERS)/node_modules/.installed: $(READERS)/package.json $(READERS)/package-lock.json
	cd $(READERS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

calendar-readers: $(READERS)/node_modules/.installed
	@if /usr/bin/python3 -c "import gi; gi.require_version('ICalGLib', '3.0')" 2>/dev/null; then :; \
	elif echo "Installing gir1.2-ical-3.0 and python3-gi (log: $(APT_LOG))" && \
		$(APT_GET) update -qq > $(APT_LOG) 2>&1 && \
		DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq gir1.2-ical-3.0 python3-gi >> $(APT_LOG) 2>&1; then :; \
	elif [ "$$CI" = "true" ]; then \
		tail -20 $(APT_LOG) >&2; \
		echo "Could not install gir1.2-ical-3.0 and python3-gi, and CI=true requires them" >&2; exit 1; \
	else \
		echo "Could not install libical's Python binding (see $(APT_LOG)): the libical feed tests will be skipped (CI would fail)"; \
	fi

# The same suite against the real PostgreSQL server. Outside CI an unreachable server is
# reported and skipped; with CI=true it fails the run. The browser tests run once, in
# test-sqlite: they check pages and markup, which do not depend on the database.
test-postgres: setup calendar-readers
	@if $(BIN)/python -m tests.pg_available "$(PG_TEST_URL)"; then \
		TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest -m "not browser"; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(PG_TEST_URL) is unreachable, and CI=true requires it" >&2; exit 1; \
	else \
		echo "PostgreSQL at $(PG_TEST_URL) is unreachable: skipped the PostgreSQL run (CI would fail)"; \
	fi

## test-dates: the suite under faketime at each of DATES, Helsinki wall-clock times where dates
## go wrong: just after midnight (UTC still on the day before, here the eve of Epiphany), the
## eves of both clock changes, New Year's Eve, a leap day.
# Each time is given to faketime with its zone, so the machine's time zone does not matter (the
# test process keeps its own). The tests run on a frozen clock (tests/conftest.py), so this finds
# what still reads the real one: a test that dates its data from it, the processes that the fault
# tests start (they inherit faketime), C code such as OpenSSL's certificate checks. SQLite only,
# and without the browser tests: they check pages and markup, which no date changes.
DATES ?= 2027-01-05 00:30,2027-03-27 23:30,2027-10-30 23:30,2027-12-31 23:30,2028-02-29 12:00
test-dates: setup calendar-readers faketime
	@if ! command -v faketime > /dev/null; then \
		echo "faketime is not installed: skipped make test-dates (CI would fail)"; exit 0; \
	fi; \
	failed=; dates='$(DATES)'; IFS=,; for day in $$dates; do \
		echo "== the suite at $$day in Helsinki"; \
		faketime "TZ=\"Europe/Helsinki\" $$day" $(BIN)/python -m pytest -m "not browser" -q \
			|| failed="$$failed [$$day]"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test-dates failed at$$failed" >&2; exit 1; fi

# Debian's faketime, for test-dates: installed and reported like chromium above.
faketime:
	@if command -v faketime > /dev/null; then :; \
	elif echo "Installing faketime (log: $(APT_LOG))" && \
		$(APT_GET) update -qq > $(APT_LOG) 2>&1 && \
		DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq faketime >> $(APT_LOG) 2>&1; then :; \
	elif [ "$$CI" = "true" ]; then \
		tail -20 $(APT_LOG) >&2; \
		echo "Could not install faketime, and CI=true requires it" >&2; exit 1; \
	else \
		echo "Could not install faketime (see $(APT_LOG)): make test-dates is skipped (CI would fail)"; \
	fi

## screenshots: the group page and the application form, 320 and 1280 px wide, fi and sv
screenshots: setup browser
	$(BIN)/python -m tools.screenshots

bench: setup
	$(BIN)/python -m bench.run

## lint: ruff, and the layering contract of .importlinter (ARCHITECTURE.md, "Layers")
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) *.egg-info translations/*/LC_MESSAGES/*.mo
