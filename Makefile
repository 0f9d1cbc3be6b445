# The two commands of the quick start:
#   make run    the main job: the end-to-end pipeline on the bundled data, report in ragcook-report/
#   make test   every unit test and every notebook (nbval)
# Each creates .venv and installs what it needs the first time.
#
# Linux with no GPU: pip's default torch wheel is a multi-GB CUDA build. For the CPU build say
#   make test TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cpu

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_INDEX ?=
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export RAGCOOK_CACHE ?= $(CURDIR)/.cache/ragcook

.PHONY: install run test lint lab warm test-unit test-notebooks notebooks bench clean

install: $(VENV)/.installed

# uv, not pip, installs the packages: the same packages, fetched and unpacked in parallel, several times
# faster (WORKSHOP.md has the times). uv reads no pip configuration, so pip's local wheel folders
# (PIP_FIND_LINKS, where set) are passed on to it.
UV_INSTALL = $(VENV)/bin/uv pip install -q --python $(PY) $(foreach d,$(PIP_FIND_LINKS),--find-links $(d))

$(VENV)/.installed: pyproject.toml requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "uv==0.13.9"
	$(UV_INSTALL) "torch==2.13.0" $(TORCH_INDEX)
	$(UV_INSTALL) -e ".[dev,lab]"
	$(UV_INSTALL) --no-deps -r requirements-nodeps.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

run: install
	$(PY) -m ragcook run --out ragcook-report

# JupyterLab on the course's notebooks (the kernel "python3" is this .venv).
lab: install
	$(VENV)/bin/jupyter lab notebooks/

# Build every cache and model the notebooks need, so a workshop's attendees don't wait (see WORKSHOP.md).
warm: install
	$(PY) scripts/warm.py

# `make test` runs test files and notebooks in TEST_WORKERS pytest-xdist processes (each file whole on
# one worker), each with its share of the cores for torch: on 2 cores two one-thread processes encode
# faster than one two-thread process (benchmarks/bench_threads.py), and one worker's Python-bound work
# (kernel start, BM25, metrics) overlaps the other's. The workers take the files in the command line's
# order: the notebooks in the course's order (08 trains the model 13, 14 and 17 need, before they start),
# then the many short unit-test files, which fill one worker while the other finishes notebook 17.
# --no-loadscope-reorder keeps that order: by default xdist hands out the files with the most tests first,
# whatever they need, and notebook 17 took 865 s at 55edbc0, much of it waiting for models the other
# worker was still training (381 s with the order kept; CI 47 min before, 43 after). Trained models
# are built under a lock (cache.build_once), so two workers never train the same one.
# TEST_WORKERS=1: one process, in order.
TEST_WORKERS ?= 2
TEST_THREADS ?= $(shell $(PYTHON) -c "import os; print(max(1, (os.cpu_count() or 1) // $(TEST_WORKERS)))")
XDIST = $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: install lint
	TQDM_DISABLE=1 OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) \
	  $(PY) -m pytest notebooks tests --nbval-lax -p no:cacheprovider --durations=30 $(XDIST)

# Style and layering: ruff (lint + format) and import-linter's layers contract (pyproject.toml).
lint: install
	$(VENV)/bin/ruff check ragcook tests benchmarks scripts
	$(VENV)/bin/ruff format --check ragcook tests benchmarks scripts
	$(VENV)/bin/lint-imports

test-unit: install
	TQDM_DISABLE=1 $(PY) -m pytest tests -p no:cacheprovider

test-notebooks: install
	TQDM_DISABLE=1 $(PY) -m pytest notebooks --nbval-lax -p no:cacheprovider --durations=0

# Re-execute notebooks in place with their outputs, as they are committed: make notebooks NB=notebooks/03_*.ipynb
NB ?= notebooks/*.ipynb
notebooks: install
	$(PY) scripts/execute_notebooks.py $(NB)

bench: install
	$(PY) benchmarks/bench_retrieval.py

clean:
	rm -rf $(VENV) .cache ragcook-report results
