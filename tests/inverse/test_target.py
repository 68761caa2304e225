"""Targets: a WAV keeps its audio, a spectrogram gets a Griffin-Lim reconstruction close enough to rank by."""

import numpy as np
import pytest
import torch

from inverse.target import Scores, Target, check_audible, load_any_target, score
from synth import render
from synth.audio_io import write_wav
from synth.errors import InputError
from synth.image_io import write_png
from synth.perceptual import match_distance
from synth.prior import draw
from synth.spectrogram import dequantize, distance_db, normalized_to_db, quantize, spectrogram


def test_reconstruction_is_far_closer_than_another_sound():
    audio = render(draw(8, 0, 3, prior="2"))
    specs = dequantize(quantize(spectrogram(audio)))
    rebuilt = torch.stack([Target.from_spectrogram(s).audio for s in specs])
    itself = match_distance(rebuilt, audio)
    others = match_distance(rebuilt, audio.roll(1, dims=0))
    assert bool((itself < 0.5 * others).all()), (itself, others)


def test_wav_targets_keep_their_audio_and_pngs_are_reconstructed(tmp_path):
    audio = render(draw(9, 0, 1, prior="2"))[0]
    write_wav(tmp_path / "t.wav", audio, 16000)
    write_png(tmp_path / "t.png", quantize(spectrogram(audio[None])[0]).numpy())
    from_wav, from_png = load_any_target(tmp_path / "t.wav"), load_any_target(tmp_path / "t.png")
    assert not from_wav.reconstructed and from_png.reconstructed
    assert float((from_wav.audio - audio).abs().max()) < 1e-4  # 16-bit WAV
    assert float((from_wav.spectrogram - from_png.spectrogram).abs().mean()) < 0.002  # 16-bit vs 8-bit rounding
    # the patch itself scores near zero against its own sound, and far closer than another patch
    scores = score(torch.cat([draw(9, 0, 1, prior="2"), draw(10, 0, 1, prior="2")]), from_wav)
    assert float(scores.match[0]) < 0.01 and float(scores.match[1]) > 10 * float(scores.match[0]) + 0.05


def test_silent_files_are_refused_with_what_was_silent(tmp_path):
    check_audible(torch.full((10,), 1e-3), "a.wav")
    with pytest.raises(InputError, match="a.wav: the first 4.088 s are silent"):
        check_audible(torch.zeros(65408), "a.wav")
    write_wav(tmp_path / "quiet.wav", torch.zeros(16000), 16000)
    write_png(tmp_path / "black.png", np.zeros((512, 512), np.uint8))
    with pytest.raises(InputError, match=r"quiet.wav: the first 4.088 s are silent \(peak below -80 dBFS\)"):
        load_any_target(tmp_path / "quiet.wav")
    with pytest.raises(InputError, match=r"black.png: the spectrogram's 4.088 s are silent"):
        load_any_target(tmp_path / "black.png")
    # a tensor is the caller's own: not a file to check
    assert load_any_target(torch.zeros(512, 512)).reconstructed


def test_scores_make_spectrograms_on_use_with_the_bits_of_any_batch():
    # the pool keeps audio only; a selection's spectrograms are made from it, the same as rendering those rows alone
    params = draw(11, 0, 5, prior="2")
    scores = score(params, Target.from_audio(render(params[:1])[0]), batch=2, render_path="eager")
    chosen = scores.select([4, 0, 2])
    assert "spectrogram" not in vars(chosen)
    assert torch.equal(chosen.spectrogram, spectrogram(render(params[[4, 0, 2]])))
    assert chosen.spectrogram is chosen.spectrogram  # made once
    assert scores.select([]).spectrogram.shape == (0, 512, 512)


def test_distance_db_is_made_on_use_with_the_bits_of_the_whole_pool_and_forgotten_when_rows_change():
    params = draw(12, 0, 5, prior="2")
    target = Target.from_audio(render(params[:1])[0])
    scores = score(params, target, batch=2, render_path="eager")
    assert "distance_db" not in vars(scores)
    whole = distance_db(normalized_to_db(spectrogram(render(params))), normalized_to_db(target.spectrogram)[None])
    assert torch.equal(scores.distance_db, whole)
    assert float(scores.distance_db[0]) < 0.05 < float(scores.distance_db[1:].min())  # the target's own patch
    chosen = scores.select([3, 1])
    assert torch.equal(chosen.distance_db, whole[[3, 1]])
    chosen.assign(torch.tensor([1]), scores.select([0]))  # in place: what was made from the old rows is dropped
    assert "distance_db" not in vars(chosen) and "spectrogram" not in vars(chosen)
    assert torch.equal(chosen.distance_db, whole[[3, 0]])
    assert scores.select([]).distance_db.shape == (0,)
    with pytest.raises(ValueError, match="needs the target"):
        _ = Scores(scores.match, scores.mss, scores.audio, scores.shape).distance_db
