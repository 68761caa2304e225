"""The perceptual distances on known cases: a tone against itself, a semitone up, an octave up, the same
note with a longer tail; the ranking distance penalises a wrong pitch far more than a different tail, and, given
the target's pitch, a layer an octave below it."""

import math

import pytest
import torch

from synth.perceptual import (
    SHAPE_FFT,
    SHAPE_HOP,
    SUBOCTAVE_WEIGHT,
    MSSConfig,
    band_share_db,
    features,
    match_distance,
    mss_distance,
    mss_weight,
    shape_distance,
    sounding_share,
    stft_magnitude,
    suboctave_excess,
)

N = 65408
T = torch.arange(N) / 16000


def note(f0_hz: float, decay_s: float = 0.5, harmonics: int = 1) -> torch.Tensor:
    """A decaying tone (1.5 s gate): a sine, or a saw-like stack of ``harmonics`` partials below 8 kHz."""
    tone = sum(torch.sin(2 * math.pi * f0_hz * k * T) / k for k in range(1, harmonics + 1) if f0_hz * k < 8000)
    return 0.5 * torch.exp(-T / decay_s) * (T < 1.5) * tone


@pytest.mark.parametrize("f0_hz", [110.0, 440.0])
@pytest.mark.parametrize("harmonics", [1, 40])
def test_known_cases(f0_hz, harmonics):
    target = note(f0_hz, harmonics=harmonics)[None]
    cases = torch.stack([note(f0_hz, harmonics=harmonics), note(f0_hz * 2 ** (1 / 12), harmonics=harmonics),
                         note(2 * f0_hz, harmonics=harmonics), note(f0_hz, 0.6, harmonics=harmonics)])
    same, semitone, octave, tail = match_distance(cases, target).tolist()
    assert same < 1e-6
    # a wrong pitch costs far more than a 20 % longer decay, for a sine as for a harmonic stack
    assert semitone > 5 * tail and octave > 5 * tail
    mss = mss_distance(cases, target)
    assert float(mss[0]) < 1e-6 and bool((mss[1:] > 0).all())
    assert float(shape_distance(cases[3:], target)) < 0.01  # the tail does not change the spectrum's shape


def test_mss_alone_barely_separates_a_low_sine_semitone_from_a_tail():
    """Why the ranking adds the shape term: a mel band at 110 Hz is wider than a semitone."""
    target = note(110.0)[None]
    semitone, tail = mss_distance(torch.stack([note(110.0 * 2 ** (1 / 12)), note(110.0, 0.6)]), target).tolist()
    assert semitone < 3 * tail


def test_scale_and_broadcast():
    loud = note(440.0)[None]
    silent = torch.zeros(1, N)
    full_scale_vs_silence = float(mss_distance(loud, silent))
    assert 0 < full_scale_vs_silence < math.log(1e4)  # bounded by the -80 dB floor
    many = torch.stack([note(440.0), note(220.0), note(880.0)])
    one_by_one = torch.cat([match_distance(row[None], loud) for row in many])
    assert torch.allclose(match_distance(many, loud), one_by_one, atol=1e-6)
    assert torch.allclose(match_distance(many, features(loud)), one_by_one, atol=1e-6)


def hit(f0_hz: float, decay_s: float = 0.02, length_s: float = 0.08) -> torch.Tensor:
    """A short harmonic hit (10 partials, ``length_s`` long): a pluck or a drum's tone."""
    tone = sum(torch.sin(2 * math.pi * f0_hz * k * T) / k for k in range(1, 11))
    return 0.5 * torch.exp(-T / decay_s) * (T < length_s) * tone


def test_a_sound_that_fills_the_window_keeps_the_plain_sum():
    """A sustained tone sounds in every frame: the MSS weight is 1 and the match is MSS + shape, as before."""
    tone = (0.5 * torch.sin(2 * math.pi * 440.0 * T))[None]
    assert float(sounding_share(tone)) == 1.0 and float(mss_weight(tone)) == 1.0
    cases = torch.stack([note(440.0), note(466.16)])
    assert torch.equal(match_distance(cases, tone), mss_distance(cases, tone) + shape_distance(cases, tone))


def test_a_short_target_weighs_its_mss_per_sounding_frame():
    """An 80 ms hit sounds in ~2 % of the window (the 25 ms frames overlapping it): the MSS counts ~22x, so a
    faint copy of it (-30 dB: the same spectral shape) ranks behind candidates at its level a semitone or an
    octave off, where the plain sum put it ahead of them (MSS over the whole window: 0.056 against 0.021 and
    0.039, the level-blind shape term deciding)."""
    target = hit(440.0)[None]
    share = float(sounding_share(target))
    assert 0.018 < share < 0.03
    assert float(mss_weight(target)) == pytest.approx(0.5 / share)
    faint, other_decay, semitone, octave = torch.stack(
        [hit(440.0) * 10 ** (-30 / 20), hit(440.0, decay_s=0.03), hit(440.0 * 2 ** (1 / 12)), hit(880.0)])[:, None]
    plain = [float(mss_distance(x, target) + shape_distance(x, target)) for x in (faint, other_decay, semitone, octave)]
    assert plain[0] < min(plain[2:])  # the weakness: a faint copy won
    match = [float(match_distance(x, target)) for x in (faint, other_decay, semitone, octave)]
    assert match[1] < match[2] < match[3] < match[0]
    assert float(sounding_share(torch.zeros(1, N))) == 0.0  # silence: nothing sounds


def test_features_are_each_rows_own_bit_for_bit_with_and_without_a_gradient():
    """Row by row on the CPU: a row's features do not depend on the batch it came in (the whole batch at once
    rounded the spectral shape of batches of 4 rows or more differently), the differentiable path gives the same
    values as the one without a gradient, and a row's gradient is the one it gets alone."""
    batch = torch.stack([note(f, decay_s=d, harmonics=h) for f, d, h in
                         [(110.0, 0.5, 40), (220.0, 0.2, 5), (440.0, 1.0, 1), (97.0, 0.05, 20), (660.0, 0.5, 3)]])
    noise = 0.1 * torch.randn(3, batch.shape[1], generator=torch.Generator().manual_seed(0))
    batch = torch.cat([batch, noise])  # (the whole batch's gradient rounded the last noise rows' differently)
    together = features(batch)
    for i in range(len(batch)):
        alone = features(batch[i: i + 1])
        assert all(torch.equal(a[i], b[0]) for a, b in zip(together.mels, alone.mels))
        assert torch.equal(together.shape[i], alone.shape[0])
    tracked = batch.clone().requires_grad_()
    reference = features(note(220.0, harmonics=5)[None])
    distance = match_distance(tracked, reference)
    assert torch.equal(distance.detach(), match_distance(together, reference))
    distance.sum().backward()
    for i in range(len(batch)):
        row = batch[i: i + 1].clone().requires_grad_()
        match_distance(row, reference).sum().backward()
        assert torch.equal(row.grad[0], tracked.grad[i])


def test_differentiable():
    audio = note(220.0, harmonics=5)[None].clone().requires_grad_()
    match_distance(audio * 0.5, note(220.0, harmonics=5)[None]).sum().backward()
    assert audio.grad is not None and torch.isfinite(audio.grad).all() and float(audio.grad.abs().sum()) > 0


def test_band_share_of_a_sine():
    """A sine holds (nearly) all its energy within 3 % of its frequency and none an octave below."""
    shape = features(note(440.0)[None]).shape
    assert float(band_share_db(shape, 440.0)) > -0.5
    assert float(band_share_db(shape, 220.0)) < -30  # the 1.5 s gate's click spreads a little


def test_suboctave_layer_is_penalised_given_the_pitch():
    """A note plus a layer an octave below at -20 dB against the note alone: its shares at f0 / 2 and 3 f0 / 2
    (-22 and -32 dB here; the target's are -33 and -50, from its gate's click) exceed the target's by ~18 dB in
    all, and the match distance grows by the weighted excess only when the target's pitch is given; the note
    itself and the same note with a longer tail get (nearly) none."""
    f0 = 220.0
    target = note(f0, harmonics=20)[None]
    layered = note(f0, harmonics=20) + 0.1 * note(f0 / 2, harmonics=40)
    cases = torch.stack([note(f0, harmonics=20), note(f0, 0.6, harmonics=20), layered])
    excess = suboctave_excess(cases, target, f0)
    assert float(excess[0]) == 0 and float(excess[1]) < 0.05
    assert 1.5 < float(excess[2]) < 2.1  # units of 10 dB
    plain, pitched = match_distance(cases, target), match_distance(cases, target, f0)
    assert torch.allclose(plain[:2], pitched[:2], atol=0.01)
    assert float(pitched[2] - plain[2]) == pytest.approx(SUBOCTAVE_WEIGHT * float(excess[2]), rel=1e-4)
    assert bool((suboctave_excess(cases, target, float("nan")) == 0).all())


def test_suboctave_excess_is_relative_to_the_target():
    """A target that has the layer itself does not penalise a candidate that has it too."""
    layered = (note(220.0, harmonics=20) + 0.1 * note(110.0, harmonics=40))[None]
    assert float(suboctave_excess(layered, layered, 220.0)) == 0


def test_stft_magnitude_is_torch_stft_with_autograds_gradient():
    """The perceptual features' STFT magnitude (hand-written backward) gives torch.stft(...).abs() bit for bit and
    autograd's gradient to float rounding, at every scale, including through silence (|X| = 0) without NaN."""
    torch.manual_seed(0)
    audio = torch.randn(2, 65408) * 0.3
    audio[:, :8000] = 0.0  # silent frames
    config = MSSConfig()
    scales = [(w, 1 << (w - 1).bit_length(), w // config.hop_divisor) for w in config.windows]
    for width, n_fft, hop in scales + [(SHAPE_FFT, SHAPE_FFT, SHAPE_HOP)]:
        window = torch.hann_window(width)
        reference_in, ours_in = audio.clone().requires_grad_(True), audio.clone().requires_grad_(True)
        reference = torch.stft(reference_in, n_fft, hop, width, window, center=True, return_complex=True).abs()
        ours = stft_magnitude(ours_in, window, n_fft, hop)
        assert torch.equal(ours.detach(), reference.detach())
        weights = torch.randn_like(reference)
        (reference * weights).sum().backward()
        (ours * weights).sum().backward()
        assert torch.isfinite(ours_in.grad).all()
        assert torch.allclose(ours_in.grad, reference_in.grad, rtol=0, atol=1e-5 * float(reference_in.grad.abs().max()))
