# Every target creates .venv on first use and installs what it needs: a fresh clone needs
# only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo web test test-fast lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml example_connector_app/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]' -e ./example_connector_app
	touch $(STAMP)

demo: $(STAMP)  ## the whole admin flow against the bundled mock connector
	$(VENV)/bin/erpsync demo

web: $(STAMP)  ## the web admin against the bundled mock with demo data (docs/web.md)
	$(VENV)/bin/erpsync web --demo $(WEB_ARGS)

# Both cores (pytest-xdist): one worker per core; --dist loadfile keeps a test module on one
# worker, so its module-scoped servers (mock ERPs, the browser, the web admin) start once.
# `make test XDIST=` runs serially, as plain `pytest` does.
XDIST ?= -n 2 --dist loadfile

test: $(STAMP)  ## the host's tests and the example app's tests, on both cores
	$(PY) -m pytest $(XDIST) tests example_connector_app/tests

test-fast: $(STAMP)  ## the same without the tests marked slow (venv builds, pip installs, long runs): about a minute
	$(PY) -m pytest $(XDIST) -m "not slow" tests example_connector_app/tests

bench: $(STAMP)  ## the benchmark suite: one JSON document of figures (docs/performance.md)
	@$(PY) bench/run.py $(BENCH_ARGS)

lint: $(STAMP)  ## ruff format + ruff check + mypy on host/
	$(VENV)/bin/ruff format --check host plugins example_connector_app tests bench
	$(VENV)/bin/ruff check host plugins example_connector_app tests bench
	$(VENV)/bin/mypy host

format: $(STAMP)
	$(VENV)/bin/ruff format host plugins example_connector_app tests bench
	$(VENV)/bin/ruff check --fix host plugins example_connector_app tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
