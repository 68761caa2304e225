"""Non-stationary interferers for the denoising benchmark, made by software and recordings no one here made:

- ``babble``: four espeak-ng voices (English, German, French, Spanish) reading different sentences at once;
- ``music``: fluidsynth General MIDI notes of several instruments, overlapping (chords and entries);
- ``recorded``: the recorded WAVs that alsa-utils installs (``/usr/share/sounds/alsa``: a noise recording
  and spoken channel names), never the recording that is the source itself.

:class:`NoiseBank` renders a few clips of each kind at 16 kHz once; :meth:`NoiseBank.draw` cuts a unit-RMS
piece of any length from one of them (looping short clips), chosen and offset by a ``torch.Generator``, so a
test set is reproducible from its seed. Kinds whose tool is missing are absent (:attr:`NoiseBank.missing`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import torch

from benchmarks.external_sounds import SOUNDFONT, render_midi, single_note_midi
from synth.audio_io import read_wav

RATE = 16000
ALSA = Path("/usr/share/sounds/alsa")
NON_STATIONARY = ("babble", "music", "recorded")
_BABBLE_VOICES = ("en-us", "de", "fr", "es")
_BABBLE_TEXTS = (
    "The weather was fine and the market was full of people buying fruit and bread.",
    "Am Morgen fuhr der Zug pünktlich ab, und alle Reisenden fanden einen Platz am Fenster.",
    "Le concert a commencé tard, mais personne ne voulait partir avant la dernière chanson.",
    "El museo abre a las nueve y cierra a las seis, excepto los lunes y los días festivos.",
    "Please remember to bring the documents to the meeting on Thursday afternoon.",
    "Die Kinder spielten im Garten, während die Eltern über die Ferien sprachen.",
)
_MUSIC_PROGRAMS = (0, 24, 40, 56, 65, 73)  # piano, nylon guitar, violin, trumpet, alto sax, flute
_MUSIC_NOTES = (48, 55, 60, 64, 67, 72)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-300:]}")


def _unit_rms(x: torch.Tensor) -> torch.Tensor:
    return x / x.square().mean().sqrt().clamp(min=1e-8)


def overlay(parts: list[torch.Tensor], offsets: list[int]) -> torch.Tensor:
    """``parts`` at unit RMS each, added starting at ``offsets`` (samples): ``Tensor[max(len + offset)]``."""
    length = max(p.shape[0] + o for p, o in zip(parts, offsets))
    out = torch.zeros(length)
    for part, offset in zip(parts, offsets):
        out[offset:offset + part.shape[0]] += _unit_rms(part)
    return out


class NoiseBank:
    """Clips per kind (``clips[kind]``: list of (name, ``Tensor[n]`` at 16 kHz)), rendered into ``folder``."""

    def __init__(self, folder: Path, clips_per_kind: int = 3):
        self.clips: dict[str, list[tuple[str, torch.Tensor]]] = {}
        self.missing: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        if shutil.which("espeak-ng"):
            self.clips["babble"] = [self._babble(folder, k) for k in range(clips_per_kind)]
        else:
            self.missing.append("babble (espeak-ng)")
        if shutil.which("fluidsynth") and SOUNDFONT.is_file():
            self.clips["music"] = [self._music(folder, k) for k in range(clips_per_kind)]
        else:
            self.missing.append("music (fluidsynth + fluid-soundfont-gm)")
        recordings = sorted(ALSA.glob("*.wav"))
        if recordings:
            self.clips["recorded"] = [(p.name, read_wav(p, RATE, downmix=True)[0]) for p in recordings]
        else:
            self.missing.append(f"recorded (alsa-utils, {ALSA})")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind in NON_STATIONARY if kind in self.clips)

    def _babble(self, folder: Path, k: int) -> tuple[str, torch.Tensor]:
        voices = []
        for v, voice in enumerate(_BABBLE_VOICES):
            path = folder / f"babble{k}_{voice}.wav"
            text = _BABBLE_TEXTS[(k + v) % len(_BABBLE_TEXTS)]
            _run(["espeak-ng", "-v", voice, "-s", str(150 + 10 * v), "-w", str(path), text])
            voices.append(read_wav(path, RATE)[0])
        return f"babble{k}", overlay(voices, [int(0.3 * RATE * v) for v in range(len(voices))])

    def _music(self, folder: Path, k: int) -> tuple[str, torch.Tensor]:
        notes = []
        for n in range(4):
            program = _MUSIC_PROGRAMS[(k + n) % len(_MUSIC_PROGRAMS)]
            note = _MUSIC_NOTES[(2 * k + n) % len(_MUSIC_NOTES)]
            midi, path = folder / f"music{k}_{n}.mid", folder / f"music{k}_{n}.wav"
            render_midi(single_note_midi(program, note, seconds=2.0), midi, path, RATE)
            notes.append(read_wav(path, RATE, downmix=True)[0])
        return f"music{k}", overlay(notes, [int(0.5 * RATE * n) for n in range(len(notes))])

    def draw(self, kind: str, n: int, g: torch.Generator, exclude: str | None = None) -> torch.Tensor:
        """A unit-RMS ``Tensor[n]`` of ``kind``, from a clip other than ``exclude`` (a source's own name)."""
        clips = [(name, clip) for name, clip in self.clips[kind] if name != exclude and name.rsplit(".", 1)[0]
                 != exclude]
        name, clip = clips[int(torch.randint(len(clips), (1,), generator=g))]
        reps = -(-(n + clip.shape[0]) // clip.shape[0])
        looped = clip.repeat(reps)
        start = int(torch.randint(clip.shape[0], (1,), generator=g))
        return _unit_rms(looped[start:start + n])
