"""The voice's contract: shape, range, determinism, batch invariance, golden audio, gradients."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synth import render
from synth.params import (
    CONTINUOUS_INDICES,
    NUM_PARAMS,
    PARAM_INDEX,
    PARAM_SPECS,
    discrete_index,
    from_physical,
    to_physical,
)
from synth.prior import draw
from synth.spectrogram import spectrogram
from synth.voice import FILTER_FFT, FILTER_FRAME, FILTER_HOP, Voice

GOLDEN = Path(__file__).parent / "golden" / "voice_golden.npz"
NUM_SAMPLES = 65408


def patch(**physical) -> torch.Tensor:
    """A normalised (1, 100) patch: the middle of every range, with ``physical`` values overriding."""
    x = torch.full((1, NUM_PARAMS), 0.5)
    for name, value in physical.items():
        x[0, PARAM_INDEX[name]] = from_physical(PARAM_SPECS[PARAM_INDEX[name]], value)
    return x


# Every continuous parameter is audible here: all sources on, pulse/saw morph (so pulse width
# matters), FM on, sine LFOs with depth, noise through the filter, every effect partly wet, the key
# released inside the 4 s window, velocity below 1 (velocity depths act), no clamped frequencies.
AUDIBLE = dict(
    note_pitch=57, note_velocity=0.7, note_gate=1.5, analog_drift=10,
    osc1_shape=0.85, osc2_shape=0.85, osc3_shape=0.85, osc1_fm_index=1.5, osc2_fm_index=1.5, osc3_fm_index=1.5,
    osc1_octave=0, osc2_octave=0, osc3_octave=0, osc1_semitone=0, osc2_semitone=7, osc3_semitone=-5,
    sub_level=0.5, noise_level=0.5, noise_decay=1.0, noise_route=0, ring_level=0.5,
    filter_type=0, filter_slope=12, filter_cutoff=1200, filter_env_amount=2.0,
    lfo1_shape=0, lfo2_shape=0, lfo1_fade=0.5, lfo2_fade=0.5, lfo1_pwm=0.2, lfo2_tremolo=0.5,
    drive_gain=12, drive_type=0, drive_mix=0.5,
    chorus_mix=0.5, delay_mix=0.4, delay_time=0.3, delay_feedback=0.5,
    reverb_mix=0.4, reverb_early=0.5, reverb_predelay=0.02, output_gain=-12,
    amp_env_attack=0.05, amp_env_release=0.5, filter_env_attack=0.05, filter_env_release=0.5,
    pitch_env_amount=5, pitch_env_decay=0.2, sub_octave=-1, sub_shape=0,
)


def test_shape_dtype_and_range():
    audio = render(draw(1, 0, 3))
    assert audio.shape == (3, NUM_SAMPLES) and audio.dtype == torch.float32
    assert torch.isfinite(audio).all() and float(audio.abs().max()) <= 1.0
    assert (audio.abs().amax(dim=1) > 1e-3).all(), "prior patches should be audible"
    for path in ("eager", "fast"):  # an empty batch is empty audio (no fast library loaded or built for it)
        assert render(torch.zeros(0, 100), path=path).shape == (0, NUM_SAMPLES)


def test_same_input_same_bits():
    params = draw(2, 0, 4)
    assert torch.equal(render(params), render(params.clone()))


def test_batch_invariance_64_2x32_and_uneven():
    """A row renders to the same bits whatever the batch: 64 == 2 x 32 == 1 + 7 + 56 (a batch of one and
    odd sizes exercise other vectorisation remainders than powers of two)."""
    params = draw(3, 0, 64)
    whole = render(params)
    halves = torch.cat([render(chunk) for chunk in params.split(32)])
    uneven = torch.cat([render(chunk) for chunk in params.split([1, 7, 56])])
    assert torch.equal(whole, halves)
    assert torch.equal(whole, uneven)


def test_thread_count_invariance():
    params = draw(4, 0, 6)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = render(params)
        torch.set_num_threads(2)
        two = render(params)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def golden_params() -> torch.Tensor:
    return torch.cat([patch(**AUDIBLE), draw(20261121, 0, 3)])


# The stored golden audio is compared at tolerances measured across builds, not bit for bit: MKL picks its
# FFT kernels by CPU, and the same code on another CPU (reproduced here with MKL_ENABLE_INSTRUCTIONS=SSE4_2
# against AVX-512) differs by up to 1.93e-4 per sample (rms 7.9e-6; match distance 5.1e-5 per row), exactly
# the 1.9e-4 a user saw on a fresh machine. Each tolerance is about 5x that, and below what the smallest real
# change tried (amplifier decay +0.005 normalised, ~+2.6 %) produces: 3.2e-3 / 1.5e-4 / 3.3e-4.
GOLDEN_MAX_ABS = 1e-3
GOLDEN_RMS = 4e-5
GOLDEN_MATCH = 2e-4  # synth.perceptual.match_distance per row: a perceptual check that a change of sound fails


def golden_problems(audio: torch.Tensor) -> list[str]:
    """How ``audio`` (the golden patches' render) differs from the stored golden audio beyond tolerance."""
    from synth.perceptual import match_distance

    stored = np.load(GOLDEN)
    assert str(stored["synth_version"]) == __import__("synth").SYNTH_VERSION
    reference = torch.from_numpy(stored["audio"])
    difference = (audio - reference).abs()
    problems = []
    if float(difference.max()) > GOLDEN_MAX_ABS:
        problems.append(f"max |difference| {float(difference.max()):.2e} > {GOLDEN_MAX_ABS:g}")
    if float(difference.pow(2).mean().sqrt()) > GOLDEN_RMS:
        problems.append(f"rms difference {float(difference.pow(2).mean().sqrt()):.2e} > {GOLDEN_RMS:g}")
    match = match_distance(audio, reference)
    if float(match.max()) > GOLDEN_MATCH:
        problems.append(f"match distance {match.tolist()} > {GOLDEN_MATCH:g}")
    return problems


def test_golden_reference():
    """Stored audio for fixed patches; regenerate with ``python tests/synth/test_voice.py`` only when
    the sound changes on purpose (and bump SYNTH_VERSION then)."""
    assert golden_problems(render(golden_params())) == []


def test_golden_reference_on_another_cpus_fft_kernels(tmp_path):
    """The render on MKL's SSE4.2 code path (as on an older or another vendor's CPU) passes the same check."""
    out = tmp_path / "audio.npy"
    script = ("import sys, numpy as np; sys.path.insert(0, sys.argv[2]); from test_voice import golden_params; "
              "from synth import render; np.save(sys.argv[1], render(golden_params()).numpy())")
    env = {**os.environ, "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
    subprocess.run([sys.executable, "-c", script, str(out), str(Path(__file__).parent)], env=env, check=True,
                   timeout=300, cwd=Path(__file__).parents[2])
    assert golden_problems(torch.from_numpy(np.load(out))) == []


@pytest.mark.parametrize("name, delta", [("amp_env_decay", 0.005), ("note_pitch", 0.0014), ("output_gain", 0.004),
                                         ("reverb_mix", 0.01), ("filter_cutoff", 0.002)])
def test_the_golden_tolerance_catches_small_real_changes(name, delta):
    """~2.6 % longer decay, 10 cents, 0.1 dB, 1 % more reverb, 0.2 % cutoff: each fails the golden check."""
    params = golden_params()
    params[:, PARAM_INDEX[name]] += delta
    assert golden_problems(render(params)) != []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.floats(0.0, 1.0), min_size=NUM_PARAMS, max_size=NUM_PARAMS))
def test_any_vector_gives_bounded_finite_audio(values):
    params = torch.tensor([values], dtype=torch.float32)
    audio = render(params)
    assert torch.isfinite(audio).all()
    assert float(audio.abs().max()) <= 1.0
    spec = spectrogram(audio)
    assert float(spec.min()) >= 0.0 and float(spec.max()) <= 1.0


def test_extreme_corners_are_bounded():
    corners = torch.stack([torch.zeros(NUM_PARAMS), torch.ones(NUM_PARAMS), torch.full((NUM_PARAMS,), 0.5)])
    audio = render(corners)
    assert torch.isfinite(audio).all() and float(audio.abs().max()) <= 1.0


def test_every_continuous_parameter_has_a_gradient_where_audible():
    params = patch(**AUDIBLE, eq_mid_gain=6).requires_grad_(True)  # at 0 dB the peaking band's Q is inaudible
    audio = render(params)
    probe = torch.randn(NUM_SAMPLES, generator=torch.Generator().manual_seed(0))
    loss = (audio[0] * probe).sum() + spectrogram(audio).mean()
    loss.backward()
    grad = params.grad[0]
    assert torch.isfinite(grad).all()
    silent = [PARAM_SPECS[i].name for i in CONTINUOUS_INDICES if grad[i] == 0]
    assert not silent, f"no gradient for {silent}"


def test_parameters_change_the_sound_where_audible():
    base = patch(**AUDIBLE)
    ref = render(base)
    for name in ("osc1_pulse_width", "drive_bias", "reverb_damping", "delay_damping", "osc2_phase"):
        moved = base.clone()
        moved[0, PARAM_INDEX[name]] = 0.1 if float(base[0, PARAM_INDEX[name]]) > 0.5 else 0.9
        assert (render(moved) - ref).abs().max() > 1e-4, name


def test_swapping_oscillator_slots_gives_the_same_sound():
    base = patch(**{**AUDIBLE, "ring_level": 0.0, "analog_drift": 0.0})
    swapped = base.clone()
    for suffix in ("shape", "octave", "semitone", "fine", "level", "pulse_width", "fm_ratio", "fm_index",
                   "vibrato", "phase"):
        a, b = PARAM_INDEX[f"osc1_{suffix}"], PARAM_INDEX[f"osc3_{suffix}"]
        swapped[0, a], swapped[0, b] = base[0, b], base[0, a]
    assert not torch.equal(swapped, base)
    torch.testing.assert_close(render(swapped), render(base), atol=1e-5, rtol=0)


def test_unpack_matches_the_parameter_table():
    voice = Voice()
    x = torch.rand(8, NUM_PARAMS, generator=torch.Generator().manual_seed(3))
    x[0], x[1] = 0.0, 1.0
    values, onehots = voice.unpack(x)
    for i, spec in enumerate(PARAM_SPECS):
        expected = torch.tensor([to_physical(spec, float(v)) for v in x[:, i]])
        torch.testing.assert_close(values[spec.name][:, 0], expected, rtol=1e-5, atol=1e-6)
        if spec.is_discrete:
            assert torch.equal(onehots[spec.name][:, :, 0].argmax(dim=0), discrete_index(x[:, i], spec.choices))


def test_filter_stft_is_torch_stft_and_overlap_add_reconstructs():
    """The filter stage's reshaped framing gives ``torch.stft(center=True)``'s frames, and its overlap-add
    (no synthesis window: Hann at 50 % overlap sums to 1) gives the signal back."""
    voice = Voice()
    x = torch.randn(3, NUM_SAMPLES, generator=torch.Generator().manual_seed(4))
    re, im = voice._stft(x)
    reference = torch.stft(x, FILTER_FFT, FILTER_HOP, FILTER_FRAME, voice.filter_window, center=True,
                           pad_mode="constant", return_complex=True).transpose(1, 2)
    torch.testing.assert_close(torch.complex(re, im), reference, rtol=0, atol=1e-4)
    # Every sample but the last half hop lies under two frames (the last one fades under a half window).
    covered = (re.shape[1] - 1) * FILTER_HOP
    torch.testing.assert_close(voice._istft((re, im))[:, :covered], x[:, :covered], rtol=0, atol=1e-5)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(2, 99), "shape"),
    (torch.full((1, 100), float("nan")), "NaN"),
    (torch.full((1, 100), 1.5), r"\[0, 1\]"),
    (torch.zeros(1, 100, dtype=torch.int64), "float"),
])
def test_bad_params_raise_one_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        render(bad)


if __name__ == "__main__":
    import synth

    np.savez_compressed(GOLDEN, audio=render(golden_params()).numpy(), synth_version=synth.SYNTH_VERSION)
    print(f"wrote {GOLDEN}")
