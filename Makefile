# Two commands do all set-up: `make dev` (local stack) and `make test` (the whole suite, what CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck bench clean sam-deps browser-deps package-model

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "asyncml needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,model,aws,dev]'
	touch $(STAMP)

# SAM CLI (~340 MB, with its own pins) lives apart from the project's venv; tests/cloud runs
# `sam validate --lint` and `sam build` with it.
SAM_STAMP := .venv-sam/.installed
$(SAM_STAMP):
	$(PYTHON) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet 'aws-sam-cli==1.170.0'
	touch $(SAM_STAMP)

sam-deps: $(SAM_STAMP)

# Debian's Chromium for tests/browser (Playwright drives it; `playwright install` never runs). apt needs
# root, as in CI; without root the browser tests skip, saying so.
browser-deps:
	@if test -x /usr/bin/chromium; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	else echo "make: no /usr/bin/chromium and not root: tests/browser will skip"; fi

dev: $(STAMP)
	$(BIN)/asyncml serve

test: $(STAMP) $(SAM_STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadfile

# The model.tar.gz SageMaker's framework containers load, from the paths `asyncml serve --entry-point
# ENTRY_POINT --model-dir MODEL_DIR` took: the model dir's files at the root, the entry point in code/.
OUTPUT ?= model.tar.gz
package-model: $(STAMP)
	@test -n "$(ENTRY_POINT)" -a -n "$(MODEL_DIR)" || \
	  { echo "usage: make package-model ENTRY_POINT=inference.py MODEL_DIR=model/ [OUTPUT=model.tar.gz]"; exit 2; }
	$(BIN)/asyncml package-model --entry-point "$(ENTRY_POINT)" --model-dir "$(MODEL_DIR)" --output "$(OUTPUT)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-sam .asyncml .aws-sam .pytest_cache .mypy_cache .ruff_cache
