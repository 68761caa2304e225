"""Training and validation data for the mask model: clean sources by index, mixed on the fly.

Clean sources (:class:`SourcePool`) are synth renders of the prior, rows of a dataset's ``/audio``
(``python -m dataset_gen --audio``) and WAV files from folders. Every draw comes from a generator seeded by
``(seed, index)``, so example ``i`` is the same whatever the batch, worker count or order it is made in,
and a resumed run sees the same data. Synth sources are rolled by a random offset (a note's onset lands
anywhere in the window, as it does for a sliding stream); silent draws are replaced by the next candidate.

Interferer sounds (``noise_dirs``, ``--noise-dir``): WAV files used only as the ``sound`` interferer (music,
recordings, anything that is never the sound to keep), looped to fill the window from a drawn offset.

Sound classes: with labelled folders (``--wav-dir speech=PATH``) every source has a class (synth renders and
dataset audio are ``synth``) and every mixture a cue, the class the model is told to keep
(:mod:`specmask.generator`): a voice or babble interferer is then drawn from the *other* classes and the cue
is always the source's class (which of two sounds to keep is the cue's to say); with stationary noise the
cue is the source's class for :data:`CUE_SHARE` of the mixtures and 0 ("any": keep every sound) for the
rest, so the model also works without one.

:class:`MixtureDataset` returns batches of ``(mixture, clean, cue)``: ``float32 Tensor[B, 65408]`` at 16 kHz
twice and ``LongTensor[B]`` (all 0 without classes).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from dataset_gen.reader import SpectrogramDataset
from specmask.config import ANY
from specmask.mixing import BABBLE_SOURCES, MixConfig, generator_for, interferer_of, make_mixture
from synth.audio_io import read_wav
from synth.errors import InputError
from synth.prior import draw
from synth.spectrogram import DEFAULT_CONFIG
from synth.voice import render

NUM_SAMPLES = DEFAULT_CONFIG.num_samples
_SOURCE_STREAM = 1_000_003  # offset of the source draws' seed from the mixing draws' (independent streams)
_VOICE_INDEX = 1 << 40  # a second voice for index i is the source of index i + _VOICE_INDEX
_RETRY_INDEX = 1 << 41  # a silent draw is replaced by the source at index + k * _RETRY_INDEX
_SILENT_RMS = 1e-4  # -80 dBFS: below the spectrogram's floor
_OTHER_CLASS_INDEX = 1 << 42  # another try at an interferer of another class: index + k * _OTHER_CLASS_INDEX
_CUE_STREAM = 2_000_003  # offset of the cue draws' seed
_NOISE_STREAM = 3_000_017  # offset of the interferer sounds' draws' seed
_OTHER_CLASS_TRIES = 32
CUE_SHARE = 0.5  # share of noise-only mixtures whose cue names the source's class (the rest: any)
SYNTH_CLASS = "synth"  # the class of synth renders and dataset audio


def parse_wav_dir(spec: str | Path) -> tuple[str | None, Path]:
    """``"CLASS=PATH"`` -> ``(CLASS, PATH)``; a plain path -> ``(None, PATH)``."""
    text = str(spec)
    label, sep, path = text.partition("=")
    if not sep or "/" in label or not label:
        return None, Path(text)
    if label == ANY:
        raise InputError(f"--wav-dir {text}: {ANY!r} names no class; use another name")
    return label, Path(path)


class SourcePool:
    """Clean sources by index: ``sources(indices) -> Tensor[B, 65408]``.

    ``external_share`` of the indices (drawn per index) come from ``wav_dirs`` / ``audio_data`` when
    any are given (a random 4.088 s excerpt, zero-padded at a random place when shorter), the rest are
    synth renders. WAV files are read once (resampled to 16 kHz, channels averaged) and kept in memory.
    ``wav_dirs`` entries ``CLASS=PATH`` label their folder's sounds (all or none labelled); then ``classes``
    is ``("synth", labels...)`` and :meth:`cue_of` gives each source's cue (1 + its class's position).
    ``noise_dirs``: folders of WAV files that are only ever interferers (:meth:`noises`), never sources.
    """

    def __init__(self, seed: int, wav_dirs: Sequence[str | Path] = (), audio_data: str | Path | None = None,
                 external_share: float = 0.5, noise_dirs: Sequence[str | Path] = ()):
        if not 0.0 <= external_share <= 1.0:
            raise InputError(f"external_share must be in [0, 1], got {external_share}")
        self.seed, self.external_share = seed, external_share
        folders = [parse_wav_dir(spec) for spec in wav_dirs]
        labels = [label for label, _ in folders]
        if any(labels) and not all(labels):
            raise InputError("--wav-dir: label every folder with its class (CLASS=PATH) or none of them")
        self.classes: tuple[str, ...] = tuple(dict.fromkeys([SYNTH_CLASS, *labels])) if any(labels) else ()
        self.files: list[torch.Tensor] = []
        self.file_cues: list[int] = []
        for label, folder in folders:
            sounds = _loud_wavs(folder)
            self.files += sounds
            self.file_cues += [1 + self.classes.index(label) if label else 0] * len(sounds)
        self.noise_files = [audio for folder in noise_dirs for audio in _loud_wavs(Path(folder))]
        self.audio_data = SpectrogramDataset(audio_data, audio=True) if audio_data else None
        self.num_external = len(self.files) + (len(self.audio_data) if self.audio_data else 0)

    def reseeded(self, seed: int) -> SourcePool:
        """The same sources (WAV files read once) drawn with another seed (e.g. validation's)."""
        pool = copy.copy(self)
        pool.seed = seed
        return pool

    def sources(self, indices: Sequence[int]) -> torch.Tensor:
        return self.sources_with_cues(indices)[0]

    def sources_with_cues(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Sources ``Tensor[B, 65408]`` and their classes' cues ``LongTensor[B]`` (0 without classes)."""
        out = torch.zeros(len(indices), NUM_SAMPLES)
        cues = torch.zeros(len(indices), dtype=torch.long)
        pending = list(range(len(indices)))
        for attempt in range(4):
            candidates = [indices[row] + attempt * _RETRY_INDEX for row in pending]
            out[pending] = self._draw(candidates)
            cues[pending] = torch.tensor([self.cue_of(index) for index in candidates], dtype=torch.long)
            loud = out[pending].square().mean(dim=1).sqrt() > _SILENT_RMS
            pending = [row for row, ok in zip(pending, loud.tolist()) if not ok]
            if not pending:
                break
        return out, cues

    def noises(self, indices: Sequence[int]) -> torch.Tensor:
        """Interferer sounds ``Tensor[B, 65408]``: per index a drawn file of ``noise_dirs``, looped and cut from a
        drawn offset (an excerpt that is silent is drawn again)."""
        if not self.noise_files:
            raise InputError("the sound interferer needs folders of interferer sounds (--noise-dir FOLDER)")
        out = torch.zeros(len(indices), NUM_SAMPLES)
        for row, index in enumerate(indices):
            for attempt in range(4):
                g = generator_for(self.seed + _NOISE_STREAM, index + attempt * _RETRY_INDEX)
                audio = self.noise_files[int(torch.randint(len(self.noise_files), (), generator=g))]
                start = int(torch.randint(audio.shape[0], (), generator=g))
                loops = -(-(start + NUM_SAMPLES) // audio.shape[0])
                out[row] = audio.repeat(loops)[start: start + NUM_SAMPLES]
                if float(out[row].square().mean().sqrt()) > _SILENT_RMS:
                    break
        return out

    def cue_of(self, index: int) -> int:
        """The cue of source ``index``'s class, without drawing its audio (0 without classes)."""
        if not self.classes:
            return 0
        k, _ = self._pick(index)
        return self.file_cues[k] if k is not None and k < len(self.files) else 1 + self.classes.index(SYNTH_CLASS)

    def _pick(self, index: int) -> tuple[int | None, torch.Generator]:
        """Which external sound source ``index`` is (``None``: a synth render), and its generator for the
        draws that follow (excerpt or onset)."""
        g = generator_for(self.seed + _SOURCE_STREAM, index)
        if self.num_external > 0 and float(torch.rand((), generator=g)) < self.external_share:
            return int(torch.randint(self.num_external, (), generator=g)), g
        return None, g

    def other_class_index(self, index: int, cue: int) -> int:
        """``index`` or the first of ``index + k * _OTHER_CLASS_INDEX`` whose source has another class than
        ``cue`` (itself when there are no classes or none is found in a few tries)."""
        if not self.classes or cue == 0:
            return index
        for k in range(_OTHER_CLASS_TRIES):
            if self.cue_of(index + k * _OTHER_CLASS_INDEX) != cue:
                return index + k * _OTHER_CLASS_INDEX
        return index

    def _draw(self, indices: Sequence[int]) -> torch.Tensor:
        out = torch.zeros(len(indices), NUM_SAMPLES)
        synth_rows, synth_indices, offsets = [], [], []
        for row, index in enumerate(indices):
            k, g = self._pick(index)
            if k is not None:
                out[row] = self._external(k, g)
            else:
                synth_rows.append(row)
                synth_indices.append(index)
                offsets.append(int(torch.randint(NUM_SAMPLES, (), generator=g)))
        if synth_rows:
            params = torch.cat([draw(self.seed, index, 1) for index in synth_indices])
            with torch.no_grad():
                audio = render(params)
            for row, x, offset in zip(synth_rows, audio, offsets):
                out[row] = torch.roll(x, offset)
        return out

    def _external(self, k: int, g: torch.Generator) -> torch.Tensor:
        if k < len(self.files):
            audio = self.files[k]
        else:
            audio = self.audio_data[k - len(self.files)][2]
        if audio.shape[0] >= NUM_SAMPLES:
            start = int(torch.randint(audio.shape[0] - NUM_SAMPLES + 1, (), generator=g))
            return audio[start: start + NUM_SAMPLES]
        start = int(torch.randint(NUM_SAMPLES - audio.shape[0] + 1, (), generator=g))
        out = torch.zeros(NUM_SAMPLES)
        out[start: start + audio.shape[0]] = audio
        return out


def _loud_wavs(folder: Path) -> list[torch.Tensor]:
    """The WAV files under ``folder`` (recursively, by name) at 16 kHz, channels averaged, silent ones left out."""
    paths = sorted(folder.rglob("*.wav"))
    if not folder.is_dir() or not paths:
        raise InputError(f"{folder}: expected a folder with .wav files, found none")
    sounds = [read_wav(path, DEFAULT_CONFIG.sample_rate, downmix=True)[0] for path in paths]
    return [audio for audio in sounds if float(audio.square().mean().sqrt()) > _SILENT_RMS]


class MixtureDataset(Dataset):
    """Examples ``start .. start + count - 1``: ``dataset[indices] -> (mixture, clean, cue)``
    (``Tensor[B, 65408]`` twice, ``LongTensor[B]``; see the module docstring for the cue).

    Indexing with a list (a DataLoader batch sampler, or :meth:`__getitems__`) renders the batch's synth
    sources in one call.
    """

    def __init__(self, pool: SourcePool, mix: MixConfig, seed: int, start: int, count: int):
        self.pool, self.mix, self.seed, self.start, self.count = pool, mix, seed, start, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mixture, clean, cue = self.__getitems__([i])
        return mixture[0], clean[0], cue[0]

    def __getitems__(self, items: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        indices = [self.start + int(i) for i in items]
        if any(not 0 <= int(i) < self.count for i in items):
            raise IndexError(f"index out of range 0..{self.count - 1}")
        sources, classes = self.pool.sources_with_cues(indices)
        # other sources for the voice (1) and babble (BABBLE_SOURCES) interferers: of index i + j * _VOICE_INDEX
        # (with classes: the first of another class than the source's)
        kinds = [interferer_of(i, self.seed, self.mix) for i in indices]
        wanted = [{"voice": 1, "babble": BABBLE_SOURCES}.get(kind, 0) for kind in kinds]
        keys = [(k, j) for k, count in enumerate(wanted) for j in range(count)]
        other_indices = [self.pool.other_class_index(indices[k] + (j + 1) * _VOICE_INDEX, int(classes[k]))
                         for k, j in keys]
        others = self.pool.sources(other_indices) if keys else None
        sound_rows = [k for k, kind in enumerate(kinds) if kind == "sound"]
        sounds = self.pool.noises([indices[k] for k in sound_rows]) if sound_rows else None
        told = [wanted[k] > 0 or float(torch.rand((), generator=generator_for(self.seed + _CUE_STREAM, index)))
                < CUE_SHARE for k, index in enumerate(indices)]
        cues = torch.where(torch.tensor(told), classes, torch.zeros_like(classes))
        mixtures, cleans = [], []
        for k, index in enumerate(indices):
            rows = [others[keys.index((k, j))] for j in range(wanted[k])]
            other = rows[0] if kinds[k] == "voice" else torch.stack(rows) if rows else None
            if kinds[k] == "sound":
                other = sounds[sound_rows.index(k)]
            m = make_mixture(sources[k], index, self.seed, self.mix, other_voice=other)
            mixtures.append(m.mixture)
            cleans.append(m.clean)
        return torch.stack(mixtures), torch.stack(cleans), cues


def collate_pairs(batch):
    """DataLoader ``collate_fn`` for :meth:`MixtureDataset.__getitems__` batches (already stacked)."""
    return batch
