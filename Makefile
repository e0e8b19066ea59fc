# Two commands for a newcomer: `make demo` and `make test`. Both install what they need into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
DEMO   ?= demo

.PHONY: demo test lint typecheck imports pytest install install-test chromium clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

# The stamp files make re-runs fast; they are rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[postgres]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian's chromium for the browser tests (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(BIN)/ftigate demo --out $(DEMO)

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-test
	$(BIN)/mypy

imports: install-test
	$(BIN)/lint-imports

pytest: install-test chromium
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck imports pytest

bench: install-test
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) $(DEMO) ftigate.db ftigate-data .pytest_cache .mypy_cache .ruff_cache
