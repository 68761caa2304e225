import numpy as np
import pytest
import soundfile

from specmask.checkpoint import DEFAULT_MODEL
from synth.errors import InputError
from webapp.enhancing import run_enhance


def test_the_exponent_reaches_the_mask_and_is_checked(tmp_path):
    t = np.arange(16000) / 16000
    noisy = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    path = tmp_path / "noisy.wav"
    soundfile.write(path, noisy.astype(np.float32), 16000)
    plain, deeper = (soundfile.read(run_enhance(DEFAULT_MODEL, str(path), tmp_path, exponent=e).audio)[0]
                     for e in (1.0, 2.0))
    assert np.sum(deeper ** 2) < np.sum(plain ** 2)  # the same mask squared: it only takes more away
    with pytest.raises(InputError, match=r"exponent in \[0.25, 4\]"):
        run_enhance(DEFAULT_MODEL, str(path), tmp_path, exponent=5.0)
