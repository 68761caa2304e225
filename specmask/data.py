"""Training and validation data for the mask model: clean sources by index, mixed on the fly.

Clean sources (:class:`SourcePool`) are synth renders of the prior, rows of a dataset's ``/audio``
(``python -m dataset_gen --audio``) and WAV files from folders. Every draw comes from a generator seeded by
``(seed, index)``, so example ``i`` is the same whatever the batch, worker count or order it is made in,
and a resumed run sees the same data. Synth sources are rolled by a random offset (a note's onset lands
anywhere in the window, as it does for a sliding stream); silent draws are replaced by the next candidate.

:class:`MixtureDataset` returns batches of ``(mixture, clean)``, each ``float32 Tensor[B, 65408]`` at 16 kHz.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from dataset_gen.reader import SpectrogramDataset
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


class SourcePool:
    """Clean sources by index: ``sources(indices) -> Tensor[B, 65408]``.

    ``external_share`` of the indices (drawn per index) come from ``wav_dirs`` / ``audio_data`` when
    any are given (a random 4.088 s excerpt, zero-padded at a random place when shorter), the rest are
    synth renders. WAV files are read once (resampled to 16 kHz, channels averaged) and kept in memory.
    """

    def __init__(self, seed: int, wav_dirs: Sequence[str | Path] = (), audio_data: str | Path | None = None,
                 external_share: float = 0.5):
        if not 0.0 <= external_share <= 1.0:
            raise InputError(f"external_share must be in [0, 1], got {external_share}")
        self.seed, self.external_share = seed, external_share
        self.files: list[torch.Tensor] = []
        for folder in wav_dirs:
            paths = sorted(Path(folder).rglob("*.wav"))
            if not Path(folder).is_dir() or not paths:
                raise InputError(f"{folder}: expected a folder with .wav files, found none")
            for path in paths:
                audio, _ = read_wav(path, DEFAULT_CONFIG.sample_rate, downmix=True)
                if float(audio.square().mean().sqrt()) > _SILENT_RMS:
                    self.files.append(audio)
        self.audio_data = SpectrogramDataset(audio_data, audio=True) if audio_data else None
        self.num_external = len(self.files) + (len(self.audio_data) if self.audio_data else 0)

    def reseeded(self, seed: int) -> SourcePool:
        """The same sources (WAV files read once) drawn with another seed (e.g. validation's)."""
        pool = copy.copy(self)
        pool.seed = seed
        return pool

    def sources(self, indices: Sequence[int]) -> torch.Tensor:
        out = torch.zeros(len(indices), NUM_SAMPLES)
        pending = list(range(len(indices)))
        for attempt in range(4):
            candidates = [indices[row] + attempt * _RETRY_INDEX for row in pending]
            out[pending] = self._draw(candidates)
            loud = out[pending].square().mean(dim=1).sqrt() > _SILENT_RMS
            pending = [row for row, ok in zip(pending, loud.tolist()) if not ok]
            if not pending:
                break
        return out

    def _draw(self, indices: Sequence[int]) -> torch.Tensor:
        out = torch.zeros(len(indices), NUM_SAMPLES)
        synth_rows, synth_indices, offsets = [], [], []
        for row, index in enumerate(indices):
            g = generator_for(self.seed + _SOURCE_STREAM, index)
            external = self.num_external > 0 and float(torch.rand((), generator=g)) < self.external_share
            if external:
                out[row] = self._external(int(torch.randint(self.num_external, (), generator=g)), g)
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


class MixtureDataset(Dataset):
    """Examples ``start .. start + count - 1``: ``dataset[indices] -> (mixture, clean)`` ``Tensor[B, 65408]``.

    Indexing with a list (a DataLoader batch sampler, or :meth:`__getitems__`) renders the batch's synth
    sources in one call.
    """

    def __init__(self, pool: SourcePool, mix: MixConfig, seed: int, start: int, count: int):
        self.pool, self.mix, self.seed, self.start, self.count = pool, mix, seed, start, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        mixture, clean = self.__getitems__([i])
        return mixture[0], clean[0]

    def __getitems__(self, items: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        indices = [self.start + int(i) for i in items]
        if any(not 0 <= int(i) < self.count for i in items):
            raise IndexError(f"index out of range 0..{self.count - 1}")
        sources = self.pool.sources(indices)
        # other sources for the voice (1) and babble (BABBLE_SOURCES) interferers: of index i + j * _VOICE_INDEX
        kinds = [interferer_of(i, self.seed, self.mix) for i in indices]
        wanted = [{"voice": 1, "babble": BABBLE_SOURCES}.get(kind, 0) for kind in kinds]
        keys = [(k, j) for k, count in enumerate(wanted) for j in range(count)]
        others = self.pool.sources([indices[k] + (j + 1) * _VOICE_INDEX for k, j in keys]) if keys else None
        mixtures, cleans = [], []
        for k, index in enumerate(indices):
            rows = [others[keys.index((k, j))] for j in range(wanted[k])]
            other = rows[0] if kinds[k] == "voice" else torch.stack(rows) if rows else None
            m = make_mixture(sources[k], index, self.seed, self.mix, other_voice=other)
            mixtures.append(m.mixture)
            cleans.append(m.clean)
        return torch.stack(mixtures), torch.stack(cleans)


def collate_pairs(batch):
    """DataLoader ``collate_fn`` for :meth:`MixtureDataset.__getitems__` batches (already stacked)."""
    return batch
