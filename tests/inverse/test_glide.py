"""Glide candidates (inverse.glide): a target whose pitch moves, played by the synth's pitch envelope."""

import pytest
import torch

from inverse.glide import AMOUNT_ST, MIN_MOVE, Glide, bent_copies, estimate_glide, fit_glide, glide_params
from inverse.plain import SHAPES, fitted_loudness, plain_params, with_loudness
from inverse.sampling import SamplingConfig, add_glides
from inverse.target import Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS, to_physical
from synth.pitch import midi_to_hz, pitch_track
from synth.voice import render

ENVELOPE = {"amp_env_attack": 0.002, "amp_env_decay": 0.6, "amp_env_sustain": 0.0, "amp_env_release": 0.1,
            "note_gate": 1.0, "amp_env_curve": 0.5}
SAW = 2  # SHAPES index of the sawtooth
SOURCE = torch.full((1, 100), 0.5)


def physical(row: torch.Tensor, name: str) -> float:
    return to_physical(PARAM_SPECS[PARAM_INDEX[name]], float(row[PARAM_INDEX[name]]))


def bent(note: float, amount: float, decay_s: float) -> torch.Tensor:
    """A plain sawtooth at ``note`` bent by the pitch envelope, with a decaying level: normalised ``Tensor[1, 100]``."""
    row = with_loudness(plain_params(SOURCE, midi_to_hz(note))[SAW:SAW + 1], ENVELOPE)
    return with_loudness(row, {"pitch_env_amount": amount, "pitch_env_decay": decay_s})


def test_the_fit_recovers_the_envelopes_own_curve_and_clamps_the_amount_to_its_reach():
    t = torch.arange(0, 1.5, 0.02)
    glide = fit_glide(t, 55.0 + 10.0 * torch.exp(-t / 0.3))
    assert glide.note == pytest.approx(55.0, abs=0.1) and glide.amount == pytest.approx(10.0, abs=0.3)
    assert glide.decay_s == pytest.approx(0.3, rel=0.06) and glide.residual < 0.05
    assert glide.move == pytest.approx(10.0 * (1 - float(torch.exp(-t[-1] / glide.decay_s))), abs=0.3)
    far = fit_glide(t, 40.0 + 40.0 * torch.exp(-t / 0.2))  # a 40-semitone drop: beyond the envelope's two octaves
    assert far.amount == AMOUNT_ST and far.residual > 1.0
    flat = fit_glide(t, torch.full_like(t, 60.0))
    assert flat.note == pytest.approx(60.0) and flat.move < 1e-6


def test_a_rendered_bend_is_read_back_and_a_steady_note_or_a_staircase_is_not():
    rows = [bent(52.0, 12.0, 0.15), bent(70.0, -15.0, 0.8), bent(52.0, 0.0, 0.15), bent(52.0, 0.5, 0.15),
            bent(62.0, 0.0, 0.15)]
    dropping, rising, steady, slight, high = render(torch.cat(rows), path="eager")
    glide = estimate_glide(dropping)
    assert glide is not None
    assert glide.note == pytest.approx(52.0, abs=0.5) and glide.amount == pytest.approx(12.0, abs=1.5)
    assert glide.decay_s == pytest.approx(0.15, rel=0.3)
    rising = estimate_glide(rising)
    assert rising is not None and rising.amount == pytest.approx(-15.0, abs=2.0)
    assert estimate_glide(steady) is None
    assert MIN_MOVE > 0.5 and estimate_glide(slight) is None
    # Two steady notes one after the other (a melody's steps) are no one bend.
    assert estimate_glide(torch.cat([steady[:8000], high[:57408]])) is None


def test_glide_patches_are_plain_patches_bent_by_the_fit_and_follow_the_targets_pitch():
    target = render(bent(57.0, 9.0, 0.25), path="eager")[0]
    glide = estimate_glide(target)
    made = glide_params(torch.cat([SOURCE, SOURCE]), glide)
    assert made.shape == (2 * len(SHAPES), 100)
    for row in made:
        assert physical(row, "pitch_env_amount") == pytest.approx(glide.amount, abs=1e-3)
        assert physical(row, "pitch_env_decay") == pytest.approx(glide.decay_s, rel=1e-3)
        assert physical(row, "noise_level") == 0.0 and physical(row, "osc1_fm_index") == 0.0
    theirs = dict(zip((round(float(t) * 1000) for t in pitch_track(target)[0]), pitch_track(target)[1].tolist()))
    times, hz = pitch_track(render(with_loudness(made[SAW:SAW + 1], ENVELOPE), path="eager")[0])
    gaps = [abs(1200 * torch.log2(f / theirs[round(float(t) * 1000)])) for t, f in zip(times, hz)
            if round(float(t) * 1000) in theirs]
    assert len(gaps) >= 10 and float(torch.stack(gaps).median()) < 30.0


def test_a_glide_target_is_matched_by_a_glide_candidate_and_a_steady_note_gets_none():
    target = Target.from_audio(render(bent(48.0, 14.0, 0.2), path="eager")[0])
    pool = torch.rand(3, 100, generator=torch.Generator().manual_seed(1))
    scores = score(pool, target, render_path="eager")
    loudness = fitted_loudness(target.audio)
    params, together = add_glides(pool, scores, target, SamplingConfig(glides=2), loudness, "eager")
    assert params.shape[0] == 3 + 2 * len(SHAPES) + 2 and torch.equal(params[:3], pool)
    assert float(together.mss[3:].min()) < 0.25 * float(scores.mss.min())
    assert add_glides(pool, scores, target, SamplingConfig(glides=0), loudness, "eager")[0].shape[0] == 3
    steady = Target.from_audio(render(bent(48.0, 0.0, 0.2), path="eager")[0])
    assert add_glides(pool, scores, steady, SamplingConfig(glides=2), loudness, "eager")[0].shape[0] == 3


def test_bent_copies_keep_everything_but_the_note_and_the_bend():
    rows = torch.rand(3, 100, generator=torch.Generator().manual_seed(2))
    glide = Glide(note=50.0, amount=-7.0, decay_s=0.4, residual=0.1, move=6.0, centre=53.0)
    out = bent_copies(rows, glide)
    changed = [PARAM_INDEX[name] for name in ("note_pitch", "pitch_env_amount", "pitch_env_decay")]
    kept = [k for k in range(100) if k not in changed]
    assert torch.equal(out[:, kept], rows[:, kept])
    for before, after in zip(rows, out):
        expected = min(max(physical(before, "note_pitch") - 3.0, 24.0), 96.0)
        assert physical(after, "note_pitch") == pytest.approx(expected, abs=1e-4)
        assert physical(after, "pitch_env_amount") == pytest.approx(-7.0, abs=1e-4)
        assert physical(after, "pitch_env_decay") == pytest.approx(0.4, rel=1e-4)
