# melrecon: `make demo` and `make test` each set up the environment (once) and run. Setting up ends with the
# compile warm-up (melrecon/apps/warmup.py: `melrecon invert`'s programs for 1-10 s inputs at the default preset
# put in the machine's compile cache, ~2 min on 2 cores); `make setup WARMUP=0` skips it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lab figures bench-quality bench-speed system-deps notebooks-sync notebooks-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,metrics,notebooks]"
	$(if $(filter 0,$(WARMUP)),,$(PY) -m melrecon.apps.warmup)
	touch $(STAMP)

setup: $(STAMP)

# Debian packages used by the browser test and the sample renderer (installed only when missing and root).
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/melrecon demo

# ruff (the configuration: pyproject.toml [tool.ruff]) then the tests
test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n auto --maxprocesses=4 --dist loadgroup --durations=15

# Every measured figure the README and docs/speed.md quote, re-taken in one go (run it on an idle machine; ~10 min
# on 2 cores), then rendered into their tables by scripts/docs_tables.py (tests/test_docs.py checks they agree).
figures: $(STAMP)
	$(VENV)/bin/melrecon demo --quiet
	$(PY) benchmarks/dropin.py
	mkdir -p results/startup && $(PY) benchmarks/startup.py --json results/startup/startup.json
	$(PY) benchmarks/speed.py --only ratios
	$(PY) scripts/docs_tables.py --demo results/demo/metrics.json --dropin results/dropin/dropin.json \
		--startup results/startup/startup.json --speed results/speed/speed.json

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/

# Re-pair notebooks/NN_name.ipynb with notebooks/NN_name.py (jupytext; the newer file wins), outputs cleared.
notebooks-sync: $(STAMP)
	$(VENV)/bin/jupytext --sync notebooks/*.py
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/*.ipynb

# Run every notebook top to bottom in normal mode (MELRECON_FAST unset, what `make lab` gives); fails on any error.
notebooks-check: $(STAMP)
	$(PY) scripts/run_notebooks.py

clean:
	rm -rf $(VENV) .pytest_cache results/demo
