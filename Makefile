# Two commands matter: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CALLOPS_HOME ?= $(CURDIR)/.callops

.PHONY: demo test lint bench clean venv mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

# The simulation engine compiled with mypyc (issue 18), rebuilt when its source changes; a failed build only
# leaves the pure-Python engine in use (identical results, slower).
FAST_SIM := $(VENV)/.fast-sim
$(FAST_SIM): $(STAMP) src/callops/sim/engine.py tools/build_fast_sim.py
	-$(BIN)/python tools/build_fast_sim.py
	touch $(FAST_SIM)

venv: $(STAMP) $(FAST_SIM)

demo: $(STAMP) $(FAST_SIM)
	$(BIN)/python -m callops.demo

test: $(STAMP) $(FAST_SIM)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not console"
	$(BIN)/python tools/console_tests.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools

# Mutation testing of the core modules (slow, not part of `make test`): docs/testing.md. MODULES=validator limits it.
mutate: $(STAMP)
	nice -n 10 $(BIN)/python tools/mutate.py $(MODULES)

bench: $(STAMP)
	$(BIN)/python bench/ingest_bank.py
	$(BIN)/python bench/ingest_10m.py

clean:
	rm -rf $(VENV) .callops .pytest_cache .ruff_cache build/mutate
