# paylens — the two commands are `make demo` and `make test`; both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_LOG := $(VENV)/pip.log

.PHONY: demo test test-fast test-slow lint bench clean chromium

# pip's output goes to $(PIP_LOG), and is shown only when an install fails
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing paylens and its dev tools into $(VENV) (pip's log: $(PIP_LOG))"
	@{ $(BIN)/python -m pip install --upgrade pip && \
	   $(BIN)/python -m pip install -e '.[dev]'; } >$(PIP_LOG) 2>&1 || \
	 { cat $(PIP_LOG); echo "pip failed; its log is in $(PIP_LOG)" >&2; exit 1; }
	@touch $(STAMP)

# The browser test (tests/app/test_browser.py) drives Debian's chromium through playwright's
# executable_path: playwright never downloads a browser. Installed with apt-get when missing, as
# root or with password-less sudo; otherwise (or offline) the browser test is skipped.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	  else echo "chromium missing and not root: the browser test will be skipped"; exit 0; fi; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
	  echo "could not install chromium: the browser test will be skipped"; }

demo: $(STAMP)
	$(BIN)/paylens demo

# two workers (the target machine has 2 cores); a test file stays on one worker, so its module
# fixtures (a synced warehouse) are built once
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadfile

test: $(STAMP) chromium
	$(PYTEST)

test-fast: $(STAMP)
	$(PYTEST) -m 'not slow'

test-slow: $(STAMP) chromium
	$(PYTEST) -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.run $(ONLY)

clean:
	rm -rf $(VENV) data/*.duckdb data/snapshots
