"""A patch as a sampled instrument: which notes are sampled, the release a sampler is given, the SoundFont played by
fluidsynth (Debian's, as a user's sampler would play it) against the synth itself, and the command."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import soundfile
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from synth.cli import main
from synth.errors import InputError
from synth.instrument import release_seconds, sampled_instrument, sampled_keys, velocity_layers
from synth.midi_file import MidiNote, write_midi
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical
from synth.patch import save_patch
from synth.perceptual import mss_distance
from synth.phrase import TimedNote, play_notes
from synth.pitch import cents, estimate_pitch
from tests.synth.test_phrase import one_oscillator

RATE = 16000


def steady(octave: int = 1, note: float = 48.0, release_s: float = 0.3) -> torch.Tensor:
    """:func:`one_oscillator` without anything that moves in time but its envelopes (no LFO, chorus, echo or reverb),
    the amplifier released in ``release_s``: a sampler shifting it by a semitone changes nothing else."""
    params = one_oscillator(octave, note)
    for name in ("filter_lfo_amount", "lfo1_pwm", "lfo2_tremolo", "chorus_mix", "delay_mix", "reverb_mix",
                 "drive_mix"):
        params[PARAM_INDEX[name]] = 0.0
    params[PARAM_INDEX["amp_env_sustain"]] = 0.7
    params[PARAM_INDEX["amp_env_release"]] = from_physical(PARAM_SPECS[PARAM_INDEX["amp_env_release"]], release_s)
    return params


def test_every_key_plays_the_nearest_sampled_note():
    keys = sampled_keys(36, 84, 3)
    assert [root for root, _ in keys] == list(range(36, 85, 3))
    spans = [span for _, span in keys]
    assert spans[0][0] == 0 and spans[-1][1] == 127 and all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:]))
    assert all(abs(key - root) <= 1 for root, (low, high) in keys[1:-1] for key in range(low, high + 1))
    assert [root for root, _ in sampled_keys(36, 85, 3)] == list(range(36, 85, 3))[:-1] + [85]  # a short last step
    assert sampled_keys(60, 60, 5) == [(60, (0, 127))]
    assert velocity_layers(1, 0.8) == [(0.8, (0, 127))]
    assert velocity_layers(3, 0.8) == [(42 / 127, (1, 42)), (85 / 127, (43, 85)), (1.0, (86, 127))]


def test_the_sampler_release_follows_the_patch_and_a_silent_key_up_has_none():
    short, long = (release_seconds(steady(release_s=s), 48.0) for s in (0.1, 1.5))
    assert short is not None and long is not None and 3 * short < long
    silent = steady()
    silent[PARAM_INDEX["amp_env_sustain"]] = 0.0
    silent[PARAM_INDEX["amp_env_decay"]] = 0.0  # gone within ~10 ms: nothing left at the key-up
    assert release_seconds(silent, 48.0) is None


@pytest.mark.skipif(shutil.which("fluidsynth") is None,
                    reason="fluidsynth is not installed (.ci/run installs it): the SoundFont is not played here")
def test_fluidsynth_plays_the_soundfont_like_the_synth_at_every_key(tmp_path):
    patch = steady()
    instrument = sampled_instrument(patch, every=3, low=36, high=84)
    assert instrument.placed_by == "heard" and instrument.offset == 12.0
    font = tmp_path / "saw.sf2"
    instrument.write(font, "saw")
    keys = [45, 46, 47, 57, 69, 70]  # sampled (45, 57, 69) and a semitone from one
    notes = [MidiNote(4.0 * k, 1.0, key, 127, 0) for k, key in enumerate(keys)]
    write_midi(tmp_path / "keys.mid", notes)
    # at 48 kHz, as a DAW plays it (at 16 kHz a sample shifted up folds its top partials back)
    done = subprocess.run(["fluidsynth", "-ni", "-q", "-g", "1", "-R", "0", "-C", "0", "-r", "48000", "-F",
                           str(tmp_path / "out.wav"), str(font), str(tmp_path / "keys.mid")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr
    played, rate = soundfile.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    played = AF.resample(torch.from_numpy(played.mean(axis=1)), rate, RATE)
    timed = [TimedNote(n.onset_s, float(n.note), n.length_s) for n in notes]  # at the patch's own velocity
    ours = play_notes(patch, timed).audio
    pulse = patch.clone()
    pulse[PARAM_INDEX["osc1_shape"]] = 1.0
    other = play_notes(pulse, timed).audio  # the same notes as a pulse wave
    # fluidsynth starts its notes a few ms late (its blocks of 64 samples): each of its notes is read from where it
    # lines up best with the synth's (a 10 ms window's magnitude depends on where a 9 ms period falls in it)
    late = int(torch.nonzero(played.abs() > 1e-3)[0]) - int(torch.nonzero(ours.abs() > 1e-3)[0])
    assert 0 <= late < RATE // 20

    def note(audio: torch.Tensor, k: int, shift: int = 0) -> torch.Tensor:  # held 1 s and the first 0.25 s after
        part = audio[round(notes[k].onset_s * RATE) + shift:][:round(1.25 * RATE)]
        part = F.pad(part, (0, 65408 - part.shape[0]))
        return (part / part.pow(2).mean().sqrt())[None]

    for k, key in enumerate(keys):
        lag = max(range(max(0, late - 100), late + 100), key=lambda shift: float((note(played, k, shift)
                                                                                  * note(ours, k)).sum()))
        heard = estimate_pitch(note(played, k, lag))
        assert bool(heard.clear[0]) and abs(float(cents(heard.f0_hz[0], 440.0 * 2 ** ((key - 69) / 12)))) < 30, key
        mine, wrong = (float(mss_distance(note(played, k, lag), note(audio, k))) for audio in (ours, other))
        assert mine < 0.6 * wrong, (key, mine, wrong)  # (measured: 0.04-0.07 against 0.13-0.15)
        if key in (45, 57, 69):  # a sampled note: the synth's own render, the release a sampler's
            assert mine < 0.08, (key, mine)


def test_the_command_writes_a_font_and_says_what_it_holds(tmp_path, capsys):
    patch = tmp_path / "lead.patch.json"
    save_patch(patch, steady())
    out = tmp_path / "lead.sf2"
    assert main(["soundfont", str(patch), "-o", str(out), "--low", "C3", "--high", "C5", "--every", "6",
                 "--layers", "2", "--rate", "16000", "--no-loop", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["name"] == "lead" and report["bytes"] == out.stat().st_size and report["velocity_layers"] == 2
    assert report["sample_rate"] == 16000 and report["zones"][0]["seconds"] > 3.5  # held 3.5 s, then its release
    assert all(zone["loop_s"] is None for zone in report["zones"])  # --no-loop (this patch loops by default)
    assert [z["root"] for z in report["zones"]] == ["C3", "C3", "F#3", "F#3", "C4", "C4", "F#4", "F#4", "C5", "C5"]
    assert [z["velocities"] for z in report["zones"][:2]] == [[1, 64], [65, 127]]
    assert report["zones"][0]["peak_dbfs"] < report["zones"][1]["peak_dbfs"]  # the soft layer rendered softer
    assert "sounds at C4 with note_pitch 48.00" in captured.err and "5 notes from C3 to C5" in captured.err
    # what it cannot do is one line, before anything is written
    for args, message in ((["--low", "C0"], "plays whole keys from C2 to C8"),
                          (["--every", "0"], "expected 1-24 semitones"), (["--low", "C#9x"], "is not a note")):
        status = main(["soundfont", str(patch), "-o", str(tmp_path / "bad.sf2"), *args])
        err = capsys.readouterr().err
        assert status == 2 and message in err and "Traceback" not in err and not (tmp_path / "bad.sf2").exists()
    assert main(["soundfont", str(patch), "-o", str(patch)]) == 2 and "patch" in capsys.readouterr().err
    with pytest.raises(InputError, match="keys C4\\+50c"):
        sampled_instrument(steady(), low=60.5)
    silent = steady()
    silent[PARAM_INDEX["osc1_level"]] = 0.0  # (its only sound)
    with pytest.raises(InputError, match="the patch is silent at every note"):
        sampled_instrument(silent, every=24)


@pytest.mark.skipif(shutil.which("fluidsynth") is None,
                    reason="fluidsynth is not installed (.ci/run installs it): the SoundFont is not played here")
def test_a_key_held_past_the_render_sustains_on_the_loop_and_a_plucked_note_has_none(tmp_path):
    instrument = sampled_instrument(steady(), every=12, low=45, high=69)
    assert all(zone.loop is not None for zone in instrument.zones)
    assert "3 of 3 samples loop their sustain" in instrument.messages[-1]
    instrument.write(tmp_path / "pad.sf2", "pad")
    write_midi(tmp_path / "held.mid", [MidiNote(0.0, 8.0, 57, 127, 0)])
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "1", "-R", "0", "-C", "0", "-o", "audio.file.format=float", "-r",
                    "48000", "-F", str(tmp_path / "held.wav"), str(tmp_path / "pad.sf2"), str(tmp_path / "held.mid")],
                   check=True, capture_output=True, timeout=120)
    played, rate = soundfile.read(tmp_path / "held.wav", dtype="float32", always_2d=True)
    frames = torch.from_numpy(played.mean(axis=1))[:round(8.0 * rate) // 480 * 480].reshape(-1, 480)  # 10 ms
    level = 10 * torch.log10(frames.pow(2).mean(dim=1).clamp_min(1e-20))
    settled = float(level[150:250].mean())  # 1.5-2.5 s
    assert abs(float(level[600:790].mean()) - settled) < 1.0  # 6-7.9 s: still sounding, as loud
    assert float(level[300:790].min()) > settled - 2.0  # no dip where the loop jumps back (every ~1 s)
    plucked = steady()
    plucked[PARAM_INDEX["amp_env_sustain"]] = 0.0
    assert all(zone.loop is None for zone in sampled_instrument(plucked, every=24, low=45, high=69).zones)
