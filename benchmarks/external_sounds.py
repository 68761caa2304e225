"""Out-of-domain target sounds made by software no one here wrote: sox, fluidsynth (+ fluid-soundfont-gm), espeak-ng.

Each generator writes WAV files into a folder and returns ``[(name, path), ...]``; the same arguments
give the same files. The Debian packages are listed in DESIGN.md and installed by ``.ci/run``;
:func:`missing_tools` says which are absent so a benchmark can report it instead of failing.
"""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from synth.midi_file import var_len_bytes

if TYPE_CHECKING:
    import torch

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

# sox `synth` waveforms x pitches: plain oscillators, a plucked string and a filtered sweep.
_SOX_WAVES = ("sine", "square", "triangle", "sawtooth", "trapezium", "pluck")
_SOX_NOTES = ("A2", "E3", "C4", "G4", "D5")
# General MIDI programs: piano, electric piano, organ, guitar, bass, strings, trumpet, flute, synth lead, pad.
_GM_PROGRAMS = (0, 4, 16, 24, 33, 48, 56, 73, 80, 88)
_GM_NOTES = (45, 52, 60, 67, 72)
# General MIDI percussion (channel 10): kicks, snare, clap, closed and open hat, toms, crash, cowbell, wood block,
# side stick.
_GM_DRUMS = (35, 36, 38, 39, 42, 46, 41, 45, 49, 56, 76, 37)
# sox one-shots: (name, `synth` arguments and effects), each well under half the 4.088 s window.
_SOX_ONE_SHOTS = (
    ("kick", ["synth", "0.4", "sine", "160:45", "fade", "0", "0.4", "0.35"]),
    ("hat", ["synth", "0.08", "whitenoise", "highpass", "7000", "fade", "0", "0.08", "0.07"]),
    ("snare", ["synth", "0.25", "pinknoise", "fade", "0", "0.25", "0.24", "gain", "-3"]),
    ("pluck_A3", ["synth", "0.6", "pluck", "%-12", "fade", "0", "0.6", "0.5"]),
    ("pluck_E4", ["synth", "0.6", "pluck", "%-5", "fade", "0", "0.6", "0.5"]),
    ("blip_C5", ["synth", "0.1", "square", "%3", "fade", "0.005", "0.1", "0.05", "gain", "-6"]),
    ("zap", ["synth", "0.3", "sawtooth", "2000:100", "fade", "0", "0.3", "0.25", "gain", "-6"]),
    ("tom", ["synth", "0.35", "sine", "200:110", "fade", "0", "0.35", "0.3"]),
)
_PHRASES = ("the quick brown fox", "sound matching", "one two three four", "synthesizer", "hello world",
            "spectral masking")
_VOICES = ("en", "en-us", "de", "fr")


def missing_tools() -> list[str]:
    """Which of sox, fluidsynth (with its GM soundfont) and espeak-ng are not installed."""
    missing = [tool for tool in ("sox", "fluidsynth", "espeak-ng") if shutil.which(tool) is None]
    if "fluidsynth" not in missing and not SOUNDFONT.is_file():
        missing.append(f"fluid-soundfont-gm ({SOUNDFONT})")
    return missing


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")


def _sox_synth(path: Path, *effects: str) -> None:
    """Write ``path``: sox's ``synth`` effects (``effects``, all of sox's arguments after the output file), 16 kHz
    mono 16-bit, repeatable (-R) and without dither (-D): the same bytes every time."""
    _run(["sox", "-R", "-D", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), *effects])


def render_midi(midi: bytes, midi_path: Path, path: Path, rate: int = 16000) -> None:
    """Write ``midi`` (a Standard MIDI File) to ``midi_path`` and fluidsynth's rendering of it with FluidR3_GM at
    ``rate`` to ``path``."""
    midi_path.write_bytes(midi)
    _run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", str(rate), "-F", str(path), str(SOUNDFONT), str(midi_path)])


def sox_notes(folder: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` 3 s notes from sox's ``synth`` effect (waveform x pitch, with a fade-out), 16 kHz mono."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        wave, note = _SOX_WAVES[k % len(_SOX_WAVES)], _SOX_NOTES[(k // len(_SOX_WAVES)) % len(_SOX_NOTES)]
        path = folder / f"sox_{wave}_{note}.wav"
        _sox_synth(path, "synth", "3", wave, f"%{_semitones(note)}", "fade", "0.01", "3", "0.8", "gain", "-6")
        out.append((path.stem, path))
    return out


def fluidsynth_notes(folder: Path, count: int, rate: int = 16000) -> list[tuple[str, Path]]:
    """``count`` 2.5 s notes of General MIDI instruments rendered by fluidsynth from FluidR3_GM.sf2 at ``rate``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        program, note = _GM_PROGRAMS[k % len(_GM_PROGRAMS)], _GM_NOTES[(k // len(_GM_PROGRAMS)) % len(_GM_NOTES)]
        midi, path = folder / f"gm{program:03d}_{note}.mid", folder / f"fluidsynth_gm{program:03d}_n{note}.wav"
        render_midi(single_note_midi(program, note, seconds=2.5), midi, path, rate)
        out.append((path.stem, path))
    return out


def drum_hits(folder: Path, count: int, rate: int = 16000) -> list[tuple[str, Path]]:
    """``count`` General MIDI drum hits (channel 10, FluidR3_GM's standard kit) rendered by fluidsynth at ``rate``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        note = _GM_DRUMS[k % len(_GM_DRUMS)]
        midi, path = folder / f"drum_{note}.mid", folder / f"fluidsynth_drum_n{note}.wav"
        render_midi(single_note_midi(0, note, seconds=1.0, channel=9), midi, path, rate)
        out.append((path.stem, path))
    return out


def sox_one_shots(folder: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` (at most 8) short sounds from sox's ``synth`` effect, 16 kHz mono: a kick sweep, a hat, a snare,
    two plucks, a square blip, a sawtooth zap and a tom sweep, each 0.08-0.6 s."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, effects in _SOX_ONE_SHOTS[:count]:
        path = folder / f"sox_{name}.wav"
        _sox_synth(path, *effects)
        out.append((path.stem, path))
    return out


# Short pitched notes (issue 13, benchmarks/short_pitch.py): sox blips (waveform x pitch x length) and General MIDI
# staccato notes of quickly decaying instruments (piano, electric piano, marimba, xylophone, guitar, bass,
# pizzicato, square lead, trumpet, steel drums).
_BLIP_WAVES = ("square", "sawtooth", "triangle", "sine")
_BLIP_NOTES = ("E3", "A3", "C4", "G4", "D5", "A5")
_BLIP_SECONDS = (0.04, 0.06, 0.1, 0.15)
_STACCATO_PROGRAMS = (0, 4, 12, 13, 24, 33, 45, 80, 56, 114)
_STACCATO_NOTES = (50, 57, 64, 69, 76)


def sox_blips(folder: Path, count: int) -> list[tuple[str, Path, float]]:
    """``count`` (at most 24) blips of sox's ``synth`` effect, 16 kHz mono: each of 4 waveforms at each of 6
    pitches (E3-A5), 40-150 ms long (5 ms fade-in, a fade-out over the second half). ``[(name, path, f0 Hz)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(min(count, len(_BLIP_WAVES) * len(_BLIP_NOTES))):
        wave, note = _BLIP_WAVES[k // len(_BLIP_NOTES)], _BLIP_NOTES[k % len(_BLIP_NOTES)]
        seconds = _BLIP_SECONDS[k % len(_BLIP_SECONDS)]
        path = folder / f"sox_blip_{wave}_{note}_{round(seconds * 1000)}ms.wav"
        _sox_synth(path, "synth", str(seconds), wave, f"%{_semitones(note)}", "fade", "0.005", str(seconds),
                   str(seconds / 2), "gain", "-6")
        out.append((path.stem, path, 440.0 * 2 ** (_semitones(note) / 12)))
    return out


def tracker_blips(folder: Path) -> list[tuple[str, Path, float]]:
    """46 sox blips for checking the pitch tracker, disjoint from :func:`sox_blips`: every third of 4 waveforms x
    7 pitches (F3-C6) x 5 lengths (30-200 ms; 3 ms fade-in, a fade-out over the last 30 %). ``[(name, path, f0)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    grid = itertools.product(("F3", "B3", "D4", "F#4", "B4", "E5", "C6"), _BLIP_WAVES, (0.03, 0.05, 0.08, 0.12, 0.2))
    out = []
    for k, (note, wave, seconds) in enumerate(grid):
        if k % 3 != 2:
            continue
        path = folder / f"sox_blip_{wave}_{note.replace('#', 's')}_{round(seconds * 1000)}ms.wav"
        _sox_synth(path, "synth", str(seconds), wave, f"%{_semitones(note)}", "fade", "0.003", str(seconds),
                   f"{0.3 * seconds:g}", "gain", "-8")
        out.append((path.stem, path, 440.0 * 2 ** (_semitones(note) / 12)))
    return out


# High notes (C7-C8), above the 2 kHz top of CREPE's range: sox waveforms, and General MIDI programs that play there
# (celesta, glockenspiel, music box, xylophone, piccolo, flute, whistle, ocarina).
_HIGH_SOX_WAVES = ("sine", "square", "triangle", "sawtooth")
_HIGH_SOX_NOTES = ("C7", "E7", "G7", "C8")
_HIGH_GM_PROGRAMS = (8, 9, 10, 13, 72, 73, 78, 79)
_HIGH_GM_NOTES = (96, 101)


def high_notes(folder: Path) -> list[tuple[str, Path, float]]:
    """32 notes from C7 (2093 Hz) to C8 (4186 Hz): 16 sox notes of 2 s (4 waveforms x C7, E7, G7, C8; 10 ms fade-in,
    a fade-out over the last 0.5 s) and 16 General MIDI notes held 1.5 s (8 programs x C7, F7) by fluidsynth,
    16 kHz mono. ``[(name, path, f0 Hz of the note)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for wave, note in itertools.product(_HIGH_SOX_WAVES, _HIGH_SOX_NOTES):
        path = folder / f"sox_{wave}_{note}.wav"
        _sox_synth(path, "synth", "2", wave, f"%{_semitones(note)}", "fade", "0.01", "2", "0.5", "gain", "-6")
        out.append((path.stem, path, 440.0 * 2 ** (_semitones(note) / 12)))
    for program, note in itertools.product(_HIGH_GM_PROGRAMS, _HIGH_GM_NOTES):
        midi, path = folder / f"high{program:03d}_{note}.mid", folder / f"fluidsynth_gm{program:03d}_n{note}.wav"
        render_midi(single_note_midi(program, note, seconds=1.5), midi, path)
        out.append((path.stem, path, 440.0 * 2 ** ((note - 69) / 12)))
    return out


def unpitched_bursts(folder: Path) -> list[tuple[str, Path]]:
    """15 short sounds without one pitch from sox: white noise, band-passed pink noise and a 300-1500 Hz chirp, each
    30-200 ms long."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {"white": ["whitenoise"], "pink": ["pinknoise", "bandpass", "1000", "2q"], "chirp": ["sine", "300:1500"]}
    out = []
    for name, effect in kinds.items():
        for seconds in (0.03, 0.06, 0.1, 0.15, 0.2):
            wave, *filters = effect
            path = folder / f"sox_{name}_{round(seconds * 1000)}ms.wav"
            _sox_synth(path, "synth", str(seconds), wave, *filters, "fade", "0", str(seconds), f"{seconds / 2:g}",
                       "gain", "-6")
            out.append((path.stem, path))
    return out


def staccato_notes(folder: Path, count: int, seconds: float = 0.08,
                   rate: int = 16000) -> list[tuple[str, Path, float]]:
    """``count`` General MIDI notes held for ``seconds`` (then released) rendered by fluidsynth at ``rate``:
    ``[(name, path, f0 Hz of the MIDI note)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        program = _STACCATO_PROGRAMS[k % len(_STACCATO_PROGRAMS)]
        note = _STACCATO_NOTES[(k + k // len(_STACCATO_PROGRAMS)) % len(_STACCATO_NOTES)]
        midi, path = folder / f"st{program:03d}_{note}.mid", folder / f"fluidsynth_staccato_gm{program:03d}_n{note}.wav"
        render_midi(single_note_midi(program, note, seconds=seconds), midi, path, rate)
        out.append((path.stem, path, 440.0 * 2 ** ((note - 69) / 12)))
    return out


def espeak_phrases(folder: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` short phrases spoken by espeak-ng (several voices; 22.05 kHz, resampled when loaded)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        phrase, voice = _PHRASES[k % len(_PHRASES)], _VOICES[(k // len(_PHRASES)) % len(_VOICES)]
        path = folder / f"espeak_{voice}_{k:02d}.wav"
        _run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(path), phrase])
        out.append((path.stem, path))
    return out


# Training material for the mask model, disjoint from the test makers above (other programs, notes, texts).
_TRAIN_GM_PROGRAMS = (1, 6, 11, 19, 26, 32, 40, 42, 52, 57, 65, 68, 71, 74, 81, 89, 105, 114)
_TRAIN_GM_NOTES = (40, 48, 55, 62, 64, 69, 76)
_TRAIN_TEXTS = (
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about a little.",
    "The sun shone, having no alternative, on the nothing new.",
    "Happy families are all alike; every unhappy family is unhappy in its own way.",
    "All this happened, more or less. The war parts, anyway, are pretty much true.",
    "Far out in the uncharted backwaters of the unfashionable end of the western spiral arm of the galaxy.",
    "Whether I shall turn out to be the hero of my own life, these pages must show.",
    "In my younger and more vulnerable years my father gave me some advice that I have been turning over.",
)
_TRAIN_VOICES = ("en-gb", "en-us", "en+f3", "en-us+m3", "en+f2", "en-gb-x-rp", "en+m7", "en-us+f4")


# More speech for a speech model (``training-speech``): other texts, more voices and speeds, disjoint from
# _PHRASES, _TRAIN_TEXTS and make demo's sentence.
_SPEECH_TEXTS = (
    "The rain had stopped by the time we reached the harbour, and the boats were coming in.",
    "Please leave the parcel at the back door if nobody answers.",
    "She counted the coins twice before handing them over.",
    "Turn left at the second light, then keep going until you see the bakery.",
    "We were told the meeting would start at half past nine, but nobody came until ten.",
    "A small dog followed them all the way home.",
    "Could you read that number again, a little more slowly?",
    "The library closes early on Fridays during the summer.",
    "He painted the fence green because it was the only colour left in the shed.",
    "Nobody knew where the old map had come from.",
    "The train to the coast was delayed by a fallen tree.",
    "Mix the flour and the butter first, then add the milk a little at a time.",
    "I think we should wait until the weather clears up.",
    "The children built a tower of blocks taller than themselves.",
    "After the concert, the hall was silent for a long moment.",
    "Write your name at the top of every page.",
    "The river was higher than anyone could remember.",
    "They argued about the price for almost an hour.",
    "My grandmother kept every letter she ever received.",
    "The lights flickered twice and then went out.",
    "Seven people signed up for the course, but only four finished it.",
    "Keep the receipt in case you need to return it.",
    "The wind carried the smell of smoke across the valley.",
    "We planted tomatoes along the south wall of the garden.",
)
_SPEECH_VOICES = ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                  "en+f1", "en+f2", "en+f4", "en+f5", "en+m1", "en+m2", "en+m4", "en+m6", "en-us+f3", "en-us+m8",
                  "en+klatt", "en+whisper", "en+croak")


def training_speech(folder: Path, count: int = 480) -> list[Path]:
    """``count`` espeak-ng readings (:data:`_SPEECH_TEXTS` x :data:`_SPEECH_VOICES`, speeds 120-180 words a
    minute, pitch 30-70) into ``folder``: sources for a speech model (``specmask train --wav-dir FOLDER``), none a
    text of the benchmarks' test speech or of :func:`training_sounds`."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = list(itertools.product(_SPEECH_TEXTS, _SPEECH_VOICES))
    out = []
    for k in range(count):
        text, voice = pairs[(k * 7) % len(pairs)]  # 7 is prime to the 480 pairs: voices and texts interleave
        path = folder / f"speech_{k:04d}.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(120 + 15 * (k % 5)), "-p", str(30 + 10 * (k % 5)), "-w", str(path),
              text])
        out.append(path)
    return out


# Interferer sounds for a speech model (``training-noise``): programs and notes other than the benchmark's music
# (noise_bank._MUSIC_PROGRAMS 0, 24, 40, 56, 65, 73) and its sources' (_GM_PROGRAMS).
_NOISE_GM_PROGRAMS = (1, 6, 11, 19, 26, 32, 42, 52, 57, 68, 71, 74, 81, 89, 105, 114)
_NOISE_GM_NOTES = (41, 46, 50, 53, 57, 59, 62, 65, 70, 74, 77, 81)
# sox recipes of changing noise (pulsing, swelling, sweeping, clicking, ringing), each played at 3 rates or pitches
_NOISE_SOX = (
    ("pulse", lambda r: ["synth", "6", "pinknoise", "tremolo", str(1 + 2 * r), "90"]),
    ("swell", lambda r: ["synth", "6", "brownnoise", "tremolo", str(0.3 + 0.3 * r), "70"]),
    ("hiss", lambda r: ["synth", "6", "whitenoise", "highpass", str(2000 + 2000 * r), "tremolo", str(5 + 4 * r),
                        "100"]),
    ("rumble", lambda r: ["synth", "6", "pinknoise", "lowpass", str(200 + 200 * r), "tremolo", "0.4", "80"]),
    ("sweep", lambda r: ["synth", "3", "sine", f"{150 * (r + 1)}-{2500 * (r + 1)}", "repeat", "1"]),
    ("buzz", lambda r: ["synth", "6", "sawtooth", f"{90 + 40 * r}:{300 + 200 * r}", "tremolo", "3", "60"]),
    ("clicks", lambda r: ["synth", "0.04", "whitenoise", "fade", "0", "0.04", "0.035", "pad", "0", str(0.15 + 0.1 * r),
                          "repeat", "30"]),
    ("ring", lambda r: ["synth", "0.4", "sine", str(800 + 300 * r), "sine", str(1300 + 300 * r), "pad", "0", "0.3",
                        "repeat", "8"]),
    ("knock", lambda r: ["synth", "0.12", "sine", f"{180 + 60 * r}:60", "fade", "0", "0.12", "0.1", "pad", "0",
                         str(0.4 + 0.2 * r), "repeat", "10"]),
)


def training_noise(folder: Path, count: int = 120) -> list[Path]:
    """Interferer sounds for a speech model (``specmask train --noise-dir FOLDER --interferers ... sound``), none a
    program, note or recording of the benchmarks' test noise: ``count`` pieces of music (two or three GM programs
    of :data:`_NOISE_GM_PROGRAMS` playing melodies and chords that enter one after another, fluidsynth),
    ``count`` pads (:func:`training_pads`), ``count`` synth renders (prior version 2, seed 77) and 27 sox noises that
    change over time (:data:`_NOISE_SOX` at 3 settings), in ``folder/music``, ``folder/pads``, ``folder/synth`` and
    ``folder/sox``."""
    import torch

    from benchmarks.noise_bank import overlay
    from synth.prior import draw
    from synth.voice import render

    for name in ("music", "synth", "sox"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        parts = []
        for n in range(2 + k % 2):
            program = _NOISE_GM_PROGRAMS[(3 * k + 5 * n) % len(_NOISE_GM_PROGRAMS)]
            notes = [_NOISE_GM_NOTES[(k + 2 * n + 3 * j) % len(_NOISE_GM_NOTES)] for j in range(4)]
            midi = (chord_midi(program, notes[:3], seconds=2.5) if (k + n) % 3 == 0
                    else melody_midi(program, notes, seconds=0.25 + 0.25 * ((k + n) % 3), gap=0.05 * (n + 1)))
            parts.append(_rendered_part(midi, folder / "music" / f"part{n}"))
        mixed = overlay(parts, [int(16000 * (0.4 + 0.3 * (k % 4)) * n) for n in range(len(parts))])
        out.append(_write_peak(folder / "music" / f"music_{k:03d}.wav", mixed))
    out += training_pads(folder / "pads", count)
    with torch.no_grad():
        audio = render(draw(77, 0, count, prior="2"))
    out += [_write_peak(folder / "synth" / f"synth_{k:03d}.wav", x) for k, x in enumerate(audio)]
    for name, effects in _NOISE_SOX:
        for r in range(3):
            path = folder / "sox" / f"{name}_{r}.wav"
            _sox_synth(path, *effects(r), "gain", "-n", "-1")
            out.append(path)
    return out


def training_pads(folder: Path, count: int) -> list[Path]:
    """``count`` pads in ``folder``: three to five held notes (1.5-3 s each) of :data:`_NOISE_GM_PROGRAMS`, each
    entering 0.3-0.8 s after the one before: sustained partials under every word of a talker (tried to teach a speech
    model to take music out from under words, not only between them; it did not: see
    ``benchmarks/results/specmask_speech_pads/``)."""
    from benchmarks.noise_bank import overlay

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        parts, offsets = [], [0]
        for n in range(3 + k % 3):
            program = _NOISE_GM_PROGRAMS[(7 * k + 3 * n) % len(_NOISE_GM_PROGRAMS)]
            note = _NOISE_GM_NOTES[(5 * k + 4 * n) % len(_NOISE_GM_NOTES)]
            midi = single_note_midi(program, note, seconds=1.5 + 0.5 * ((k + n) % 4))
            parts.append(_rendered_part(midi, folder / f"note{n}"))
            offsets.append(offsets[-1] + int(16000 * (0.3 + 0.1 * ((2 * k + 3 * n) % 6))))
        out.append(_write_peak(folder / f"pad_{k:03d}.wav", overlay(parts, offsets[:-1])))
    return out


def _rendered_part(midi: bytes, stem: Path) -> torch.Tensor:
    """fluidsynth's rendering of ``midi`` at 16 kHz, mono ``Tensor[n]`` (written to ``stem``.mid/.wav, then removed)."""
    from synth.audio_io import read_wav

    midi_path, wav = stem.with_suffix(".mid"), stem.with_suffix(".wav")
    render_midi(midi, midi_path, wav)
    audio = read_wav(wav, 16000, downmix=True)[0]
    midi_path.unlink()
    wav.unlink()
    return audio


def _write_peak(path: Path, audio: torch.Tensor) -> Path:
    """Write ``audio`` to ``path`` with its peak at 0.9 of full scale; returns ``path``."""
    from synth.audio_io import write_wav

    write_wav(path, 0.9 * audio / audio.abs().max().clamp(min=1e-8))
    return path


def single_sounds(folder: Path) -> list[tuple[str, Path]]:
    """Issue 13's 60 single sounds from other software: 20 sox notes, 20 fluidsynth notes and 20 espeak-ng phrases
    (:func:`sox_notes`, :func:`fluidsynth_notes`, :func:`espeak_phrases`), in ``folder``'s ``sox``, ``fluidsynth`` and
    ``espeak``."""
    return sox_notes(folder / "sox", 20) + fluidsynth_notes(folder / "fluidsynth", 20) + espeak_phrases(
        folder / "espeak", 20)


def training_sounds(folder: Path) -> list[Path]:
    """WAV sources for training the mask model (``specmask train --wav-dir``): 64 espeak-ng readings (8 texts
    x 8 voices, two speeds) and 126 fluidsynth notes (18 GM programs x 7 notes), none of them a phrase,
    program or note of :func:`espeak_phrases` / :func:`fluidsynth_notes` (the benchmarks' test sounds).
    Speech goes to ``folder/speech``, notes to ``folder/instrument``: one class each (``specmask train --wav-dir
    speech=FOLDER/speech --wav-dir instrument=FOLDER/instrument``)."""
    for name in ("speech", "instrument"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    out = []
    for k, (text, voice) in enumerate((t, v) for t in _TRAIN_TEXTS for v in _TRAIN_VOICES):
        path = folder / "speech" / f"speech_{k:03d}.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(130 + 40 * (k % 2)), "-w", str(path), text])
        out.append(path)
    for program in _TRAIN_GM_PROGRAMS:
        for note in _TRAIN_GM_NOTES:
            midi = folder / "instrument" / f"gm{program:03d}_{note}.mid"
            path = folder / "instrument" / f"note_gm{program:03d}_n{note}.wav"
            render_midi(single_note_midi(program, note, seconds=3.0), midi, path)
            midi.unlink()
            out.append(path)
    return out


def single_note_midi(program: int, note: int, seconds: float, velocity: int = 100, channel: int = 0) -> bytes:
    """A format-0 Standard MIDI File: one program change and one note of ``seconds`` at 120 bpm on ``channel``
    (0-15; 9 is General MIDI's percussion)."""
    return chord_midi(program, [note], seconds, velocity, channel)


def vibrato_note_midi(program: int, note: int, seconds: float, wheel: int = 127, velocity: int = 100) -> bytes:
    """A format-0 Standard MIDI File: one program change, the modulation wheel (CC 1) at ``wheel`` (0-127) and one note
    of ``seconds`` at 120 bpm on channel 0. SoundFont 2's default modulator turns the wheel into vibrato depth (up to
    50 cents at 127) on the preset's vibrato LFO (fluidsynth with FluidR3_GM: ~8.2 Hz)."""
    events = b"\x00" + bytes([0xC0, program]) + b"\x00" + bytes([0xB0, 1, wheel])
    events += b"\x00" + bytes([0x90, note, velocity])
    events += var_len_bytes(int(seconds * TICKS_PER_SECOND)) + bytes([0x80, note, 0])
    return _midi_file(events)


def chord_midi(program: int, notes: list[int], seconds: float, velocity: int = 100, channel: int = 0) -> bytes:
    """A format-0 Standard MIDI File: one program change and ``notes`` struck together and held ``seconds`` at 120
    bpm on ``channel``."""
    ticks = int(seconds * TICKS_PER_SECOND)
    events = b"\x00" + bytes([0xC0 | channel, program])
    for note in notes:
        events += b"\x00" + bytes([0x90 | channel, note, velocity])
    for k, note in enumerate(notes):
        events += (var_len_bytes(ticks) if k == 0 else b"\x00") + bytes([0x80 | channel, note, 0])
    return _midi_file(events)


def melody_midi(program: int, notes: list[int], seconds: float, gap: float = 0.0, velocity: int = 100) -> bytes:
    """A format-0 Standard MIDI File: one program change and ``notes`` one after another, each held ``seconds`` and
    followed by ``gap`` seconds of rest (none after the last), at 120 bpm on channel 0."""
    events = b"\x00" + bytes([0xC0, program])
    for k, note in enumerate(notes):
        events += (var_len_bytes(int(gap * TICKS_PER_SECOND)) if k else b"\x00") + bytes([0x90, note, velocity])
        events += var_len_bytes(int(seconds * TICKS_PER_SECOND)) + bytes([0x80, note, 0])
    return _midi_file(events)


TICKS_PER_SECOND = 960  # 480 ticks per quarter note, 2 quarter notes per second


def _midi_file(events: bytes) -> bytes:
    """One track of ``events`` (an end-of-track event appended) as a format-0 file, 480 ticks per quarter note."""
    events += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(events)) + events


def _semitones(note: str) -> int:
    """Scientific pitch name -> semitones from A4 (sox's ``%N`` pitch notation)."""
    names = {"C": -9, "D": -7, "E": -5, "F": -4, "G": -2, "A": 0, "B": 2}
    sharp = note[1] == "#"
    return names[note[0]] + sharp + 12 * (int(note[1 + sharp:]) - 4)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # training-noise uses benchmarks.noise_bank

    makers = {"training": training_sounds, "training-speech": training_speech, "training-noise": training_noise}
    if len(sys.argv) != 3 or sys.argv[1] not in makers:
        sys.exit("usage: python benchmarks/external_sounds.py training FOLDER   (mask-model training sources)\n"
                 "       python benchmarks/external_sounds.py training-speech FOLDER   (a speech model's readings)\n"
                 "       python benchmarks/external_sounds.py training-noise FOLDER   (a speech model's interferers)")
    print(f"{len(makers[sys.argv[1]](Path(sys.argv[2])))} files in {sys.argv[2]}")
