# Two entry points: `make demo` and `make test`. Each installs what it needs into $(VENV).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,torch]'
	touch $@

# the demo needs labelaudit alone (numpy, numba, pandas, pyarrow, rich, typer, jinja2), not the dev or torch extras
$(VENV)/.demo-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

demo: $(VENV)/.demo-installed
	@mkdir -p demo-out
	$(BIN)/labelaudit scan fixtures/cifar10-test-slice.csv --id-col id \
		-o demo-out/report.parquet --summary demo-out/summary.json --html demo-out/report.html
	@echo "wrote demo-out/report.parquet, demo-out/summary.json and demo-out/report.html"

test: lint
	$(BIN)/pytest -q -n 2 -p no:cacheprovider

lint: $(VENV)/.installed
	$(BIN)/ruff check labelaudit tests benchmarks
	$(BIN)/ruff format --check labelaudit tests benchmarks
	$(BIN)/lint-imports

# crowd-kit pulls in transformers and nltk: the peers get a virtualenv of their own, never the test one
BENCH_VENV ?= .venv-bench

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -e '.[bench,torch]'
	touch $@

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) demo-out build *.egg-info
