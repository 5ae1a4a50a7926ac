# Two entry points (see README): `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean docs messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh $(BIN)/dealcli

# The suite runs on every core (pytest-xdist); `make test PYTEST_FLAGS=` runs it in one process.
# UPDATE_GOLDEN=1 make test rewrites tests/golden/*.txt from the current output (review the diff).
PYTEST_FLAGS ?= -n auto
test: lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_FLAGS)

# The linter and the type checker, configured in pyproject.toml ([tool.ruff], [tool.mypy]): any finding fails.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python scripts/gen_cli_docs.py > docs/cli.md

# The Russian catalogue (docs/i18n.md): extract every marked message and the help of every command,
# merge them into the .po (new ones untranslated: tests/test_i18n.py names them), compile the .mo.
messages: $(STAMP)
	$(BIN)/python scripts/messages.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache demo-repo
