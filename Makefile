# Each target is one command of `python -m mnist_cnn` (or a tool): the same works without make.
.DEFAULT_GOAL := help
PYTHON ?= $(firstword $(foreach p,python3.11 python3.12 python3.13 python3,$(shell command -v $(p) 2>/dev/null)))
BIN := .venv/bin
RUN := $(BIN)/python -m mnist_cnn
SHARED ?= ../shared
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: help setup data run lab test notebooks tune bench student wheelhouse site from-notebooks test-python clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) install.py --dev

setup: $(BIN)/python  ## Create .venv with the pinned libraries (python install.py --dev)

data: setup  ## Copy the offline data copies in ../shared, verified, into data/raw/
	@if [ -d $(SHARED)/mnist ]; then $(RUN) data --both --from $(SHARED); fi

run: data  ## Run the series headless: make run SET="EPOCHS=1 FILTERS=(16,32)"
	$(RUN) run $(SET)

lab: data  ## JupyterLab on your copy of the notebooks (lab/)
	$(RUN) lab

test: data  ## Every test: ruff, unit tests, every notebook and worked solution under nbval (what CI runs)
	$(RUN) test

notebooks: data  ## Re-store every notebook's and worked solution's outputs, on this machine
	$(RUN) notebooks

tune: data  ## Notebook 07a's search of record (about half an hour on 2 cores) -> notebooks/results/
	$(RUN) run 07a TUNING=\"full\"

bench: data  ## The training benchmark: the default against today's baseline, seeds 42-46
	$(BIN)/python tools/benchmark.py

student: setup  ## The student edition: build/student/mnist-cnn-student.zip
	$(RUN) student

site: setup  ## The reference site from the stored notebooks, offline: build/site/
	$(BIN)/python tools/build_site.py

from-notebooks: setup  ## After editing a #@save cell or the repository address: regenerate
	$(BIN)/python tools/save_cells.py

PY ?= 3.12
test-python: data  ## Notebooks 01-04 under nbval with another Python (make test-python PY=3.13)
	$(BIN)/python tools/test_python.py $(PY)

WHEELHOUSE ?= build/wheelhouse
PLATFORM ?= linux
wheelhouse: setup  ## Wheels for a class without internet: PLATFORM=linux, windows or macos
	$(BIN)/python tools/wheelhouse.py $(WHEELHOUSE) $(PLATFORM)

clean:  ## Delete generated data, models and reports (keeps .venv, data/raw and lab/)
	rm -rf data/processed build reports/* models/*.keras models/*.json models/*.md
	git checkout -- models/README.md reports/README.md 2>/dev/null || true
