# The two promises: `make run` and `make test`. Each installs what it needs first
# (uv into .tools/, then the locked dependencies into .venv/), so a machine with only
# Python 3.11+ and make is enough.

PYTHON ?= python3
PORT ?= 8000
UV_VERSION := 0.13.8
REDOCLY_VERSION := 2.77.0
UV := .tools/bin/uv
VENV := .venv/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: run test lint typecheck lint-spec format openapi bench install clean

run: install
	$(VENV)/helpdesk serve --port $(PORT)

test: install lint typecheck lint-spec
	$(VENV)/pytest

# Redocly's recommended rules over the committed OpenAPI document. npx fetches the
# pinned CLI from the npm registry the first time; without node the step is skipped.
lint-spec:
	@if command -v npx >/dev/null 2>&1; then \
		npx --yes @redocly/cli@$(REDOCLY_VERSION) lint --format=stylish openapi/openapi.json; \
	else \
		echo "lint-spec: node/npx not found, skipping the Redocly lint of openapi/openapi.json"; \
	fi

install: .venv/.installed

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/lint-imports --no-cache

typecheck: install
	$(VENV)/mypy app

format: install
	$(VENV)/ruff check --fix .
	$(VENV)/ruff format .

openapi: install
	$(VENV)/helpdesk openapi --output openapi/openapi.json

bench: install
	$(VENV)/python -m bench

clean:
	rm -rf .tools .venv .mypy_cache .ruff_cache .pytest_cache
