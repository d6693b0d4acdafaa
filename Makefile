# ThermoLab: `make run` starts the app, `make test` runs every check, `make bench` the benchmarks.
# Each target creates .venv when it is missing and reinstalls only when a requirements file or
# pyproject.toml changed since the last install (stamp files inside .venv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CHROMIUM := /usr/bin/chromium

RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test bench lint chromium clean-venv

run: $(RUN_STAMP)
	$(VENV)/bin/streamlit run app.py

test: $(TEST_STAMP) chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

bench: $(BENCH_STAMP)
	$(PY) bench/sampler.py

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt pyproject.toml | $(PY)
	$(PIP) install -r requirements.txt -e .
	touch $@

$(TEST_STAMP): requirements.txt requirements-test.txt pyproject.toml | $(PY)
	$(PIP) install -r requirements-test.txt -e .
	touch $@

$(BENCH_STAMP): requirements.txt requirements-bench.txt pyproject.toml | $(PY)
	$(PIP) install -r requirements-bench.txt -e .
	touch $@

# Browser tests drive Debian's chromium through Playwright (never Playwright's own browser download).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "installing Debian chromium for the browser tests"; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

clean-venv:
	rm -rf $(VENV)
