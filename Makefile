# The two commands: `make demo` and `make test`. Both install what is missing (a venv
# with the project, the broker jars, PostgreSQL, the npm tools) and start the local stack;
# each step is a no-op when already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test bench stack down lint install clean-var

demo: stack
	$(BIN)/flexmarket demo

test: stack
	$(BIN)/flexmarket stack up --only chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: stack
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

stack: install
	$(BIN)/flexmarket stack up

down:
	$(BIN)/flexmarket stack down

lint: install
	$(BIN)/ruff check .

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "flexmarket needs Python 3.11+"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Removes the stack's data (Kafka log, PostgreSQL cluster, read models); stop it first.
clean-var: down
	rm -rf var
