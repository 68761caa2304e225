# Every target bootstraps .venv from the lock file (exact versions and hashes of every dependency, the set
# that was tested) when the venv is missing or older than the lock or pyproject.toml; the project itself is
# installed editable on top, without dependencies. `make lock` regenerates the lock files after a change
# of pyproject.toml's dependencies (tests/test_lock.py checks that the two agree).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
BENCH_LOCK := requirements-bench.lock
UV_VERSION := 0.13.9
LOCK_VENV := .venv-lock
COMPILE = $(LOCK_VENV)/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --no-config --quiet --custom-compile-command "make lock"

.PHONY: demo app test bench bench-quality lint docs lock clean-venv

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

# The main job with the shipped model: 10 candidate patches for a patch the model never saw in training;
# then the shipped mask model cleans a noisy recording (speech + pink noise at 0 dB) with a before/after figure.
demo: $(STAMP)
	$(PY) -m inverse predict inverse/pretrained/example.png --samples 10 --out demo_out
	$(PY) -m synth play demo_out/rank01.patch.json --notes 'C3 G3 C4:2' -o demo_out/phrase.wav
	$(PY) -m synth soundfont demo_out/rank01.patch.json -o demo_out/rank01.sf2
	$(PY) -m specmask enhance specmask/pretrained/example_noisy.wav -o demo_out/enhanced.wav \
		--figure demo_out/enhanced.png

# The local web app on http://127.0.0.1:7860 (Ctrl-C stops it); APP_ARGS="--port 8000" to change its options.
app: $(STAMP)
	$(PY) -m inverse app $(APP_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check synth dataset_gen inverse specmask webapp tests benchmarks

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet --require-hashes -r $(BENCH_LOCK)
	$(PY) benchmarks/synth_speed.py
	$(PY) benchmarks/dataset_speed.py
	$(PY) benchmarks/specmask_speed.py
	$(PY) benchmarks/specmask_quality.py
	$(PY) benchmarks/specmask_fullband.py

# Quality benchmarks of the shipped model, the commands of the README's headline: the shipped retrieval index's
# 30,000 rows (seed 1, prior 2; ~20 min to render on 2 cores) for nearest-neighbour retrieval and 500 held-out
# targets (seed 3, prior 2), then inverse_quality.py (~2 hours on 2 cores; `--resume` after an interruption keeps
# the targets done) into benchmarks/results/bench_quality (compare it with the shipped run:
# `python benchmarks/compare_runs.py benchmarks/results/predict_gpu benchmarks/results/bench_quality`) and
# methods.py.
data/train_p2.h5: | $(STAMP)
	$(PY) -m dataset_gen --n 30000 --out $@ --seed 1 --prior 2

data/test_p2.h5: | $(STAMP)
	$(PY) -m dataset_gen --n 500 --out $@ --seed 3 --prior 2

bench-quality: $(STAMP) data/train_p2.h5 data/test_p2.h5
	$(PY) benchmarks/inverse_quality.py --flow inverse/pretrained/flow --train data/train_p2.h5 \
		--targets data/test_p2.h5 --methods hybrid_refined nearest --n 500 --ood-per-source 20 --pitch-targets 500 \
		--out benchmarks/results/bench_quality --resume
	$(PY) benchmarks/methods.py --train data/train_p2.h5 --targets data/test_p2.h5 --n 6 --ood-per-source 1 \
		--out benchmarks/results/bench_quality
	$(PY) benchmarks/external_sounds.py training data/mask_sounds
	$(PY) benchmarks/specmask_ablation.py --wav-dir data/mask_sounds

docs: $(STAMP)
	$(PY) -m synth params --readme README.md

# Regenerate the lock files from pyproject.toml (needs the network). The bench lock is constrained by the test
# lock, so the packages they share have the same versions.
# uv lives in its own small venv, so the project's venv holds exactly the locked set.
lock:
	@test -x $(LOCK_VENV)/bin/uv || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION))
	$(COMPILE) --extra test --extra app -o $(LOCK)
	$(COMPILE) --extra test --extra app --extra bench -c $(LOCK) -o $(BENCH_LOCK)

clean-venv:
	rm -rf $(VENV)
