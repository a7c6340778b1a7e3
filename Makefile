# Quick start: `make run` (set up, then run notebooks 01-06) and `make test` (set up, then test all).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Offline copies of MNIST and Fashion-MNIST, used when present (CI and machines without
# internet). Without them, notebook 01 downloads the data with Keras; for Fashion-MNIST the
# loader also finds Debian's package `dataset-fashion-mnist`.
MNIST_OFFLINE_COPY ?= ../shared/mnist
FASHION_OFFLINE_COPY ?= ../shared/fashion_mnist

export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

# Every numbered notebook; 07 (tuning) runs in its quick mode under nbval. The worked solutions
# run last: they read what the series wrote.
TUNING_NOTEBOOK := $(wildcard notebooks/07_*.ipynb)
NOTEBOOKS := $(filter-out $(TUNING_NOTEBOOK),$(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb)))
SOLUTIONS := $(sort $(wildcard notebooks/solutions/[0-9][0-9]_solutions.ipynb))
NBVAL := $(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	--nbval-cell-timeout=1800 -p no:cacheprovider

.PHONY: help setup data run test lint unit notebooks-test portability integration fashion tune bench lab lab-refresh \
	from-notebooks notebooks site class-report student wheelhouse test-python clean clean-all

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-notebooks.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed  ## Create .venv with the pinned libraries (once)

data: setup  ## Copy and verify the offline MNIST and Fashion-MNIST copies, when there are some
	$(BIN)/python -m mnist_cnn.offline_copies --from $(MNIST_OFFLINE_COPY) --dataset mnist
	$(BIN)/python -m mnist_cnn.offline_copies --from $(FASHION_OFFLINE_COPY) --dataset fashion_mnist

run: data  ## Run the series headless (01-06, 08, 09), in order; print the validation accuracy against the default's band, the test accuracy and the model path
	$(BIN)/python -m mnist_cnn.runner

# Each pytest run writes a JUnit report; the last line counts them and names every skipped test
# (the browser tests skip without Chromium): "passed" never hides a test that did not run.
TEST_REPORTS := build/test-reports
test: data lint unit notebooks-test portability integration fashion  ## Run every test (what CI runs)
	@$(BIN)/python tools/test_summary.py $(addprefix $(TEST_REPORTS)/,unit.xml notebooks.xml portability.xml integration.xml)

lint: setup  ## ruff over the package, tests, tools and notebooks
	$(BIN)/ruff check src tests tools notebooks

unit: setup  ## Unit tests of the package (seconds)
	$(BIN)/pytest tests -m "not slow" --junitxml=$(TEST_REPORTS)/unit.xml

# Notebook 07 runs in its quick mode here, writing *_quick files: `make tune`'s are kept.
notebooks-test: data  ## nbval: execute every notebook and worked solution on MNIST, compare stored outputs
	$(NBVAL) --junitxml=$(TEST_REPORTS)/notebooks.xml $(NOTEBOOKS) $(TUNING_NOTEBOOK) $(SOLUTIONS)

# The same notebooks on the other numerics path (oneDNN switched the other way from the series'
# default on this machine, so off on x86 CPUs; one thread), in a scratch copy: what nbval compares and what the text claims
# must hold on any machine, not only on the one that stored the outputs.
portability: data  ## nbval over 01-06 and 08 on another numerics path (oneDNN switched, 1 thread), in build/portability/
	@$(BIN)/python -m mnist_cnn.portability describe
	env $$($(BIN)/python -m mnist_cnn.portability env) \
		$(NBVAL) --durations=10 --junitxml=$(TEST_REPORTS)/portability.xml $$($(BIN)/python -m mnist_cnn.portability prepare build/portability)

# Two at a time: a notebook's kernel start, imports and plotting use one core, and a training
# leaves about a third of two cores idle, which the other worker's test takes up. Tests that share
# a fixture or the project's files keep to one worker (their xdist_group; tests/conftest.py).
SLOW_WORKERS ?= 2
integration: data  ## Rerun and reproducibility tests on the artifacts the notebooks wrote
	$(BIN)/pytest tests -m slow -n $(SLOW_WORKERS) --dist loadgroup --durations=15 \
		--junitxml=$(TEST_REPORTS)/integration.xml

# Under make test the series runs as shipped: the runner fails unless notebook 04 logs it as the
# default (on MNIST, nbval's comparison of 03's "This run is the default" does the same).
test: FASHION_FLAGS := --expect-default
fashion: data  ## Run the whole series (every notebook) on Fashion-MNIST
	$(BIN)/python -m mnist_cnn.runner --dataset fashion_mnist --all $(FASHION_FLAGS)

tune: data  ## Notebook 07 with the full search budget (about an hour on 2 AVX-512 cores; up to two without)
	MNIST_CNN_TUNING=full $(BIN)/python -m mnist_cnn.runner 07

bench: data  ## Benchmark: training and inference speed, accuracy over seeds -> reports/benchmark.json
	$(BIN)/python tools/benchmark.py

# JupyterLab on lab/, with idle kernels of closed notebooks shut down after 15 minutes
# (mnist_cnn/workspace.py: LAB_OPTIONS).
lab: data  ## Open your working copy of the notebooks (lab/, ignored by git) in JupyterLab
	$(BIN)/python -m mnist_cnn.workspace lab

lab-refresh: setup  ## Replace lab/'s copies of REFRESH="03 07" by the current notebooks (yours are kept)
	$(BIN)/python -m mnist_cnn.workspace refresh $(REFRESH)

from-notebooks: setup  ## Copy the notebooks' #@save cells into src/mnist_cnn/from_notebooks.py (after editing one)
	$(BIN)/python -m mnist_cnn.save_cells

notebooks: data  ## Maintainers: rerun the series (not 07) and store the outputs in the notebooks (refused on another numerics path than the stored one unless RESTORE_FLAGS=--new-path)
	$(BIN)/python -m mnist_cnn.runner --inplace $(RESTORE_FLAGS)

student: setup  ## The student edition: build/student/ and a zip to hand out (no outputs, solutions or keys)
	$(BIN)/python tools/build_student.py --out build/student

# Wheels for a class without internet: pip downloads them once (from its cache when it can), and
# students install with `pip install --no-index --find-links WHEELHOUSE -r requirements-notebooks.txt`.
# Another platform's wheels: make wheelhouse PLATFORM="--platform win_amd64 --python-version 3.11 --only-binary=:all:"
WHEELHOUSE ?= build/wheelhouse
PLATFORM ?=
wheelhouse: setup  ## Download the wheels of what the notebooks need into build/wheelhouse/ (a class installs offline)
	$(BIN)/python -m pip download --quiet --dest $(WHEELHOUSE) $(PLATFORM) -r requirements-notebooks.txt
	@echo "$(WHEELHOUSE): $$(ls $(WHEELHOUSE) | wc -l) files, $$(du -sh $(WHEELHOUSE) | cut -f1)"

# Before a release, not in `make test`: the notebooks under another Python version, in a second
# environment (build/venv-<PY>/) installed from PyPI with the notebook pins, 01-03 under nbval.
PY ?= python3.13
PY_VENV = build/venv-$(notdir $(PY))
test-python: data  ## Before a release: notebooks 01-03 under nbval with another Python (make test-python PY=python3.13)
	@command -v $(PY) >/dev/null || { echo "$(PY) is not installed here: name another with PY=..."; exit 2; }
	$(PY) -m venv $(PY_VENV)
	$(PY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PY_VENV)/bin/python -m pip install --quiet -r requirements-notebooks.txt \
		$$(grep -E '^(nbval|pytest)==' requirements.txt)
	$(PY_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@echo "testing with $$($(PY_VENV)/bin/python --version)"
	$(PY_VENV)/bin/pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout=1800 -p no:cacheprovider $(wordlist 1,3,$(NOTEBOOKS))

# A class's runs: each student runs `.venv/bin/python -m mnist_cnn.classroom export NAME`, the
# teacher collects the NAME.runs.json files in one folder.
FOLDER ?= reports/class
class-report: setup  ## Draw every run of the students' files in FOLDER (default reports/class/) -> reports/class_runs.png
	$(BIN)/python -m mnist_cnn.classroom report $(FOLDER)

site: setup  ## Build the reference site from the stored notebooks into build/site/ (offline)
	$(BIN)/python tools/build_site.py --out build/site

clean:  ## Delete generated data, models and reports, the experiment log (keeps .venv, data/raw, lab/)
	rm -rf data/processed build reports/* models/*.keras models/*.json models/*.md
	git checkout -- models/README.md reports/README.md 2>/dev/null || true

clean-all: clean  ## Also delete the virtual environment and the raw data copy
	rm -rf $(VENV) data/raw
