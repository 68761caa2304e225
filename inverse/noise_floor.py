"""A recording's steady noise floor (hiss, room tone), taken out of an audio target before it is matched.

Every patch the synth renders ends in silence: its amplifier envelope closes on the noise too, so no patch can make a
floor that stays after the note. Matched as it is, such a floor decides the answer: a sox sawtooth note of 0.7 s
over white noise at -45 dBFS came back 3.5x farther from the note (best-of-10 MSS against the clean note 0.291
against 0.083 without the noise), its candidates chosen to fill the 3.3 s of faint hiss after the note.

:func:`steady_floor` finds a floor, in 1024-sample frames 256 apart (Hann), where the quietest :data:`FLOOR_SHARE` of
the frames above :data:`FLOOR_MIN_DBFS` (quieter frames are below what the perceptual distances compare, and the
zeros a short file is padded with are among them) are at least :data:`QUIET_DB` below the loudest frame, steady
(their levels' interquartile range at most :data:`STEADY_DB`: noise, not a decaying tail) and noise-like (their mean
spectrum's flatness at least :data:`FLAT_MIN`: hiss, not a patch's quiet tonal sustain). :func:`remove_floor` then
keeps each time-frequency bin by how far it rises over the floor's mean power in that bin: whole from
:data:`KEEP_DB` above it, nothing below :data:`GATE_DB`, a ramp between (a gate, not a subtraction: the note's
partials pass untouched), and rebuilds the audio (the inverse STFT of the same frames). It finds none in the 175
clean external sounds of the benchmarks, and one in a few hundred rendered synth patches (5 of 1,500 prior-2 renders,
a patch's own faint noise, which gating moves by at most 0.1 MSS); ``inverse predict --keep-noise`` matches a file
as it is (``benchmarks/results/noise_floor/``, and ``noise_floor_20db/`` for :data:`QUIET_DB`). A window of a longer
recording takes its floor from the recording (``remove_floor(window, recording)``): a note held through the window
leaves no quiet frames in it, but its lead-in and tail do (``benchmarks/results/held_noise/``).
"""

from __future__ import annotations

import math

import torch

FRAME = 1024  # samples per analysis frame (64 ms at 16 kHz)
HOP = 256  # samples between frames (75 % overlap: the Hann frames sum to a constant)
FLOOR_SHARE = 0.2  # the quietest fifth of the frames ...
# ... at least this far below the loudest frame (30 dB until 5 December missed fluidsynth notes at -17 to -23 dBFS over
# a floor at -45 to -48 dBFS, 21.7-29.4 dB below; with the other tests, no clean sound of the benchmarks and no
# prior-2 patch of 1,500 has a floor between 16.1 and 30.8 dB below) ...
QUIET_DB = 20.0
STEADY_DB = 3.0  # ... and their levels' interquartile range at most this ...
# ... and their mean spectrum is noise: spectral flatness at least this (white noise 0.98, pink 0.49; of 26 held-out
# patches whose quiet part passed the other tests, 3 reach it; the 9 that gating moved most are at 0.08 or below) ...
FLAT_MIN = 0.3
FLAT_BINS = (2, 480)  # ... over these bins (31 Hz - 7.5 kHz)
FLOOR_MIN_DBFS = -80.0  # frames at or below this (dB re a full-scale sine; the distances' floor) never a floor
GATE_DB = 6.0  # a bin less than this above the floor's power there is removed ...
KEEP_DB = 12.0  # ... one at least this far above it is kept whole, with a linear ramp in dB between
_SILENCE = 1e-20  # power floor inside the logarithms


_WINDOW = torch.hann_window(FRAME, dtype=torch.float64)
_REFERENCE = float(_WINDOW.sum() / 2) ** 2  # a full-scale sine's power in its peak bin: 0 dB


def steady_floor(power: torch.Tensor) -> tuple[float | None, torch.Tensor]:
    """From a sound's STFT power ``Tensor[bins, T]``: the level of its steady noise floor in dBFS (mean square re a
    full-scale sine's; None where it has none, the module docstring has the rule) and the frames it is taken from,
    the quietest :data:`FLOOR_SHARE` above :data:`FLOOR_MIN_DBFS` (``Tensor[F]`` indices)."""
    level = 10 * torch.log10(power.sum(dim=0) / _REFERENCE + _SILENCE)
    heard = torch.nonzero(level > FLOOR_MIN_DBFS).flatten()
    share = math.floor(FLOOR_SHARE * level.numel())
    quiet = heard[level[heard].argsort()][:share]
    if quiet.numel() == 0 or quiet.numel() < share:
        return None, quiet  # fewer frames than that above the distances' floor: no floor to take
    floor, top = float(level[quiet].median()), float(level.max())
    low, high = torch.quantile(level[quiet], torch.tensor([0.25, 0.75], dtype=level.dtype)).tolist()
    steady = high - low <= STEADY_DB
    spectrum = power[FLAT_BINS[0]: FLAT_BINS[1], quiet].mean(dim=1) + _SILENCE
    flat = float(spectrum.log().mean().exp() / spectrum.mean()) >= FLAT_MIN
    return (floor if steady and flat and floor <= top - QUIET_DB else None), quiet


def remove_floor(audio: torch.Tensor, recording: torch.Tensor | None = None) -> tuple[torch.Tensor, float | None]:
    """``audio`` ``Tensor[N]`` with its steady noise floor gated out, float32 and the same length, and the floor's
    level in dBFS (:func:`steady_floor`); ``audio`` itself and None where it has none. ``recording``: more of the
    same recording, at the same rate, whose quiet frames the floor is found in (``Tensor[M]``, e.g. the whole file
    that ``audio`` is a window of; None: ``audio`` itself): a note held through the window leaves no quiet frames
    in it, but the recording's lead-in and tail hold its floor."""
    spectrum, power = _stft(audio)
    searched = power if recording is None else _stft(recording)[1]
    floor, quiet = steady_floor(searched)
    if floor is None:
        return audio, None
    noise = searched[:, quiet].mean(dim=1, keepdim=True)  # (bins, 1): the floor's mean power per bin
    over_db = 10 * torch.log10((power + _SILENCE) / (noise + _SILENCE))
    gain = ((over_db - GATE_DB) / (KEEP_DB - GATE_DB)).clamp(0.0, 1.0)
    return torch.istft(spectrum * gain, FRAME, HOP, window=_WINDOW, length=audio.numel()).float(), floor


def _stft(audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``audio`` ``Tensor[N]`` -> its STFT and power, each ``Tensor[bins, T]`` (float64)."""
    spectrum = torch.stft(audio.double(), FRAME, HOP, window=_WINDOW, return_complex=True)
    return spectrum, spectrum.real.square() + spectrum.imag.square()
