# Every target bootstraps .venv from pyproject.toml when it is missing or older than pyproject.toml.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= test

.PHONY: demo test bench bench-quality lint docs clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# The main job with the shipped model: 10 candidate patches for a patch the model never saw in training;
# then the shipped mask model cleans a noisy recording (speech + pink noise at 0 dB) with a before/after figure.
demo: $(STAMP)
	$(PY) -m inverse predict inverse/pretrained/example.png --samples 10 --out demo_out
	$(PY) -m specmask enhance specmask/pretrained/example_noisy.wav -o demo_out/enhanced.wav \
		--figure demo_out/enhanced.png

lint: $(STAMP)
	$(PY) -m ruff check synth dataset_gen inverse specmask tests benchmarks

test: lint
	$(PY) -m pytest -q

bench: EXTRAS = test,bench
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	$(PY) benchmarks/synth_speed.py
	$(PY) benchmarks/dataset_speed.py
	$(PY) benchmarks/specmask_speed.py
	$(PY) benchmarks/specmask_quality.py

# Quality benchmarks of the shipped model: its training set (seed 1, for nearest-neighbour retrieval; ~35 min
# to render on 2 cores) and held-out targets (seed 3), then inverse_quality.py and methods.py.
data/train.h5: | $(STAMP)
	$(PY) -m dataset_gen --n 50000 --out $@ --seed 1

data/test.h5: | $(STAMP)
	$(PY) -m dataset_gen --n 500 --out $@ --seed 3

bench-quality: $(STAMP) data/train.h5 data/test.h5
	$(PY) benchmarks/inverse_quality.py --train data/train.h5 --targets data/test.h5
	$(PY) benchmarks/methods.py --train data/train.h5 --targets data/test.h5 --n 6 --ood-per-source 1
	$(PY) benchmarks/external_sounds.py training data/mask_sounds
	$(PY) benchmarks/specmask_ablation.py --wav-dir data/mask_sounds

docs: $(STAMP)
	$(PY) -m synth params --readme README.md

clean-venv:
	rm -rf $(VENV)
