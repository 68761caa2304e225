"""The anchors' wrappers on a short real file (espeak-ng speech under white noise): aligned with their input,
the noise reduced, lengths and rates kept. Skipped with the reason where a wheel or espeak-ng is missing."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from benchmarks.denoisers import ANCHORS, available


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "The quick brown fox jumps over the lazy dog."], check=True)
    audio, rate = soundfile.read(path, dtype="float32")
    return audio, rate


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    scale = np.dot(estimate, reference) / np.dot(reference, reference)
    target = scale * reference
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


@pytest.mark.parametrize("name", list(ANCHORS))
def test_anchor_denoises_aligned_at_any_rate(name, speech):
    loaded, missing = available()
    if name not in loaded:
        pytest.skip(missing[name])
    clean, rate = speech  # espeak-ng writes 22.05 kHz
    noisy = clean + 0.02 * np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32)
    out = loaded[name](noisy, rate)
    assert out.shape == clean.shape and np.isfinite(out).all()
    assert si_sdr(out, clean) > si_sdr(noisy, clean) + 1  # the noise is reduced (measured: RNNoise +1.9 dB)
    shifted = si_sdr(np.concatenate([np.zeros(22, np.float32), out[:-22]]), clean)  # 1 ms off
    assert si_sdr(out, clean) > shifted + 1  # and the output is aligned to the input
    assert loaded[name].compute_s > 0
