# Two entry points (see README): `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean docs messages

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
test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_FLAGS)

docs: $(STAMP)
	$(BIN)/python scripts/gen_cli_docs.py > docs/cli.md

# The Russian catalogue (docs/i18n.md): extract every marked message, merge it into the .po (new
# ones untranslated: tests/test_i18n.py names them), then compile the .mo shipped in the wheel.
KEYWORDS := -k _ -k N_ -k ngettext:1,2 -k pgettext:1c,2 -k about:2
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-wrap --no-location --sort-output --omit-header -o dealcli/locale/dealcli.pot .
	$(BIN)/pybabel update -i dealcli/locale/dealcli.pot -d dealcli/locale -D dealcli --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d dealcli/locale -D dealcli --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache demo-repo
