# Two entry points for a fresh machine with Python >= 3.10 and pip: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0

.PHONY: venv demo test soak bench-smoke clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e ".[report,dev]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/gtl-ray evolve configs/quickstart.yaml --overwrite
	$(VENV)/bin/gtl-ray evaluate runs/quickstart

# Two workers, one test file each at a time, longest files first (tests/conftest.py; module fixtures such as the fault cluster stay in one
# worker): most of the suite waits on Ray start-ups and injected faults, so two overlap well. The 15 slowest tests
# close the output: where the suite's 10-minute budget goes.
test: venv
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15

# The 64-member x 30-generation soak (~20 GB of RAM, ~3.5 min on 2 cores); figures to benchmarks/results/soak.json
soak: venv
	GTL_RAY_SOAK_OUT=benchmarks/results/soak.json $(PY) -m pytest -q -s -m soak tests/end_to_end/test_soak.py

# The speed benchmarks' --tiny smoke tests (systems.py, gpu.py): several minutes of Ray start-ups
bench-smoke: venv
	$(PY) -m pytest -q -m bench tests/test_benchmarks.py

clean:
	rm -rf $(VENV) runs .pytest_cache
