# Every target bootstraps .venv from pyproject.toml when it is missing or older than pyproject.toml.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= test

.PHONY: demo test bench lint docs clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m synth demo --out demo_out

lint: $(STAMP)
	$(PY) -m ruff check synth dataset_gen inverse specmask tests benchmarks

test: lint
	$(PY) -m pytest -q

bench: EXTRAS = test,bench
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	$(PY) benchmarks/synth_speed.py
	$(PY) benchmarks/dataset_speed.py

docs: $(STAMP)
	$(PY) -m synth params --readme README.md

clean-venv:
	rm -rf $(VENV)
