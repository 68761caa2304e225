"""Render a dataset (or one shard of it) into an HDF5 file, streaming, resumable and crash-safe.

The run writes ``<out>.partial``; after each batch it flushes the rows, then raises the ``complete_rows``
attribute and flushes again, so the rows below ``complete_rows`` are always on disk. When every row is
written it sets ``complete = 1`` and renames the file to ``<out>`` (an atomic rename). Running the same
command again after an interruption (Ctrl-C, ``kill -9``, a lost machine) continues from ``complete_rows``;
because row ``r`` depends only on ``(seed, r)``, the result is byte-for-byte what an uninterrupted run
writes.

Rendering and writing overlap: batch ``k + 1`` is rendered while one writer thread compresses and writes batch
``k`` (HDF5 compresses inside ``H5Dwrite``, which h5py runs without holding the GIL). With ``workers`` > 1 the
rows are rendered by that many processes, one per CPU (:mod:`dataset_gen.render_workers`; the same bytes), and
the main thread only collects and writes them; otherwise the main thread renders. At most two rendered batches
wait for the writer, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm import tqdm

from dataset_gen.chunks import StoredBatch
from dataset_gen.layout import (
    AUDIO,
    AUDIO_DTYPES,
    COMPRESSIONS,
    FORMAT_VERSION,
    NO_AUDIO,
    PARAMS,
    PARAMS_CHUNK_ROWS,
    SPECTROGRAMS,
    FileAttrs,
    Shard,
    canonical_json,
    fsync_path,
    h5_file,
    partial_path,
    row_chunks,
    short_reason,
    spectrogram_shape,
)
from dataset_gen.render_workers import RenderWorkers, WorkerError, check_workers, usable_cpus
from dataset_gen.rendering import ExampleRenderer, RenderedBatch, row_params
from synth.errors import InputError, note
from synth.params import NUM_PARAMS, SYNTH_VERSION, spec_json
from synth.prior import LATEST_PRIOR, PRIOR_VERSIONS, SAMPLERS
from synth.spectrogram import DEFAULT_CONFIG, SpectrogramConfig

#: Rendered batches allowed to wait for the writer thread (bounds memory; 2 keeps the writer busy).
MAX_PENDING_WRITES = 2
#: Complete rows whose parameters are re-checked before a run resumes from a partial file.
RESUME_CHECK_ROWS = 64


@dataclass(frozen=True)
class GenerateOptions:
    """One ``python -m dataset_gen`` run (the command-line flags, typed)."""

    num_rows: int  # rows of the whole dataset, all shards together (--n)
    out: Path  # the finished file; the run writes <out>.partial until it is complete
    seed: int = 0  # example i depends only on (seed, i)
    sampler: str = "uniform"  # one of synth.prior.SAMPLERS
    prior: str = LATEST_PRIOR  # one of synth.prior.PRIOR_VERSIONS
    batch_size: int = 32  # rows rendered at once; changes speed and memory, never content
    compression: str = "lzf"  # a key of layout.COMPRESSIONS
    audio_dtype: str = NO_AUDIO  # "none" (no /audio), "float16" or "float32"
    device: str = "cpu"  # where the synth renders ("cpu", "cuda", "cuda:1")
    render: str = "fast"  # synth.render's path: fast (CPU; built on first use, ~5x eager's speed) or eager
    shard: Shard = field(default_factory=Shard)  # which contiguous part of the rows this run writes
    overwrite: bool = False  # replace an existing <out>, and discard a <out>.partial instead of resuming
    workers: int = 1  # render processes, one per CPU (CPU only; the same bytes); 1: render in this process

    def validate(self) -> None:
        """Raise :class:`InputError` for any value a run cannot use."""
        if isinstance(self.num_rows, bool) or not isinstance(self.num_rows, int) or self.num_rows < 1:
            raise InputError(f"--n must be a positive number of rows, got {self.num_rows}")
        if not 0 <= self.seed < 2**63:
            raise InputError(f"--seed must be in 0..2**63-1, got {self.seed}")
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.sampler not in SAMPLERS:
            raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.prior not in PRIOR_VERSIONS:
            raise InputError(f"--prior must be one of {', '.join(PRIOR_VERSIONS)}, got {self.prior!r}")
        if self.compression not in COMPRESSIONS:
            raise InputError(f"--compression must be one of {', '.join(COMPRESSIONS)}, got {self.compression!r}")
        if self.audio_dtype not in (NO_AUDIO, *AUDIO_DTYPES):
            raise InputError(f"audio dtype must be one of {', '.join(AUDIO_DTYPES)}, got {self.audio_dtype!r}")
        check_workers(self.workers, self.device)
        self.shard.rows(self.num_rows)


@dataclass(frozen=True)
class GenerateSummary:
    """What a finished run did."""

    path: Path
    rows: int  # rows in the file
    rows_rendered: int  # rows rendered by this call (fewer than ``rows`` after a resume)
    resumed_from: int  # rows already in the partial file when this call started
    bytes_on_disk: int
    seconds: float  # wall time of this call

    @property
    def bytes_per_example(self) -> float:
        return self.bytes_on_disk / self.rows

    @property
    def examples_per_second(self) -> float:
        return self.rows_rendered / self.seconds if self.seconds > 0 else float("nan")

    def lines(self) -> list[str]:
        resumed = f" (resumed after {self.resumed_from})" if self.resumed_from else ""
        return [
            f"wrote {self.path}: {self.rows} rows{resumed}",
            f"  {self.bytes_on_disk:,} bytes on disk, {self.bytes_per_example:,.0f} bytes per example",
            f"  {self.rows_rendered} rows in {self.seconds:.1f} s: {self.examples_per_second:.1f} examples/s",
        ]


def expected_attrs(options: GenerateOptions, config: SpectrogramConfig, device_type: str,
                   render_path: str = "eager") -> FileAttrs:
    """The root attributes a run with ``options`` writes (with no rows complete yet)."""
    row_start, row_stop = options.shard.rows(options.num_rows)
    return FileAttrs(
        format_version=FORMAT_VERSION,
        synth_version=SYNTH_VERSION,
        param_spec=canonical_json(spec_json()),
        spectrogram_config=canonical_json(config.to_json()),
        seed=options.seed,
        sampler=options.sampler,
        prior=options.prior,
        total_rows=options.num_rows,
        row_start=row_start,
        row_stop=row_stop,
        complete_rows=0,
        complete=0,
        compression=options.compression,
        audio_dtype=options.audio_dtype,
        render_device=device_type,
        render_path=render_path,
    )


def generate(options: GenerateOptions, *, config: SpectrogramConfig = DEFAULT_CONFIG, progress: bool = True,
             on_batch: Callable[[int], None] | None = None,
             warn: Callable[[str], None] | None = None) -> GenerateSummary:
    """Write ``options.out`` (resuming ``<out>.partial`` when it holds the same run). Returns a summary.

    ``on_batch(rows_rendered)`` is called in the calling thread after each batch is rendered and queued
    (tests use it to interrupt a run). ``warn`` receives one-line warnings (default: stderr).
    Raises :class:`InputError` for unusable options or files; an interruption (``KeyboardInterrupt`` or an
    exception from ``on_batch``) propagates after every batch already rendered has been saved.
    """
    started = time.perf_counter()
    warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
    options.validate()
    out = Path(options.out)
    partial = partial_path(out)
    if out.is_dir():
        raise InputError(f"{out} is a directory; --out must name a file")
    if out.exists() and not options.overwrite:
        raise InputError(f"{out} already exists; pass --overwrite to replace it")
    settings = dict(seed=options.seed, sampler=options.sampler, config=config, device=options.device,
                    audio_dtype=None if options.audio_dtype == NO_AUDIO else options.audio_dtype, prior=options.prior,
                    render_path=options.render)
    with _renderers(options, settings) as (render_rows, device_type, render_path):
        attrs = expected_attrs(options, config, device_type, render_path)
        expected = functools.partial(row_params, options.seed, options.sampler, options.prior)
        file, done = _open_partial(partial, attrs, expected, options.overwrite, warn)
        total = attrs.num_rows
        resumed_from = done
        try:
            datasets = [file[PARAMS], file[SPECTROGRAMS], file[AUDIO] if attrs.has_audio else None]
            ranges = [(attrs.row_start + local, min(options.batch_size, total - local))
                      for local in range(done, total, options.batch_size)]
            with tqdm(total=total, initial=done, unit="ex", desc=out.name, disable=not progress, file=sys.stderr,
                      dynamic_ncols=True, smoothing=0.05) as bar:
                _write_all(render_rows(ranges), file, datasets, attrs, bar, on_batch)
            file.attrs["complete"] = np.int64(1)
        finally:
            file.close()
    fsync_path(partial)
    if out.exists() and not options.overwrite:
        raise InputError(f"{out} appeared while this run was writing; the finished rows are in {partial}")
    os.replace(partial, out)
    fsync_path(out.parent)
    return GenerateSummary(out, total, total - resumed_from, resumed_from, out.stat().st_size,
                           time.perf_counter() - started)


@contextmanager
def _renderers(options: GenerateOptions, settings: dict):
    """What renders the run's rows: yields ``(render_rows, device type, render path)``, where ``render_rows(ranges)``
    yields the rows of each ``(start, count)`` in order: ``options.workers`` processes (:class:`RenderWorkers`,
    started before this process opens the file or starts a thread; their rows come already filtered for the file, as
    :class:`StoredBatch`), or this process (:class:`RenderedBatch`)."""
    if options.workers > 1:  # options.validate() made sure the device is the CPU
        try:
            with RenderWorkers(usable_cpus()[:options.workers], settings, options.compression) as workers:
                yield workers.batches, "cpu", workers.render_path
        except WorkerError as error:  # a worker that could not start or render: one line, not a traceback
            raise InputError(str(error)) from None
        return
    renderer = ExampleRenderer(**settings, log=note)

    def render_rows(ranges: list[tuple[int, int]]) -> Iterator[RenderedBatch]:
        return (renderer.render(start, count) for start, count in ranges)
    yield render_rows, renderer.device.type, renderer.render_path


def _write_all(batches: Iterator[RenderedBatch | StoredBatch], file: h5py.File, datasets: list, attrs: FileAttrs,
               bar: tqdm, on_batch: Callable[[int], None] | None) -> None:
    """Write each rendered batch (consecutive rows of the file, in order) while the next one is rendered: one writer
    thread stores them, at most :data:`MAX_PENDING_WRITES` waiting."""
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-writer") as writer:
        try:
            for batch in batches:
                local = batch.start - attrs.row_start
                while len(pending) >= MAX_PENDING_WRITES:
                    pending.popleft().result()
                pending.append(writer.submit(_write_batch, file, datasets, batch, local, bar))
                if on_batch is not None:
                    on_batch(local + len(batch))
        finally:
            # Whatever happened, save the batches already rendered (in order) before the file is closed.
            errors = []
            while pending:
                try:
                    pending.popleft().result()
                except Exception as exc:  # collect; the first is re-raised below
                    errors.append(exc)
            if errors and sys.exc_info()[0] is None:
                raise errors[0]


def _write_batch(file: h5py.File, datasets: list, batch: RenderedBatch | StoredBatch, local: int, bar: tqdm) -> None:
    """Store one batch at file rows ``local ..`` (a :class:`StoredBatch`'s chunks as they are, already filtered),
    flush, then mark it complete and flush again."""
    stop = local + len(batch)
    params, spectrograms, audio = datasets
    params[local:stop] = batch.params
    if isinstance(batch, StoredBatch):
        batch.write(spectrograms, audio, local)
    else:
        spectrograms[local:stop] = batch.spectrograms
        if audio is not None:
            audio[local:stop] = batch.audio
    file.flush()
    file.attrs["complete_rows"] = np.int64(stop)
    file.flush()
    bar.update(len(batch))


def _open_partial(partial: Path, attrs: FileAttrs, expected: Callable[[int, int], np.ndarray], overwrite: bool,
                  warn: Callable[[str], None]) -> tuple[h5py.File, int]:
    """Open ``partial`` to resume it, or create it. Returns the open file and its complete rows. ``expected(start,
    count)``: the parameters global rows ``start ..`` must hold (:func:`row_params`)."""
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {partial.parent}: {exc.strerror or exc}") from None
    if partial.exists() and not overwrite:
        resumed = _try_resume(partial, attrs, expected, warn)
        if resumed is not None:
            return resumed
    return _create(partial, attrs), 0


def _try_resume(partial: Path, attrs: FileAttrs, expected: Callable[[int, int], np.ndarray],
                warn: Callable[[str], None]) -> tuple[h5py.File, int] | None:
    try:
        file = h5_file(partial, "r+")
    except OSError as exc:
        reason = short_reason(exc)
        if "lock" in reason.lower():
            raise InputError(f"{partial} is open in another process (another run writing it?)") from None
        warn(f"cannot resume from {partial} ({reason}); starting over")
        return None
    try:
        found = FileAttrs.read(file, partial)
    except InputError as exc:
        file.close()
        warn(f"cannot resume from {partial} ({exc}); starting over")
        return None
    differences = _resume_differences(attrs, found)
    if differences:
        file.close()
        raise InputError(f"{partial} holds an interrupted run with other settings ({'; '.join(differences)}); "
                         "rerun with the same arguments to resume it, or pass --overwrite to start over")
    done = found.complete_rows
    problem = _resume_problem(file, done, expected, found)
    if problem:
        file.close()
        warn(f"cannot resume from {partial} ({problem}); starting over")
        return None
    return file, done


def _resume_differences(ours: FileAttrs, found: FileAttrs) -> list[str]:
    differences = []
    for name in ("format_version", "synth_version", "seed", "sampler", "prior", "total_rows", "row_start", "row_stop",
                 "compression", "audio_dtype", "render_device", "render_path", "spectrogram_config", "param_spec"):
        a, b = getattr(found, name), getattr(ours, name)
        if a != b:
            shown = f"{name} differs" if name in ("spectrogram_config", "param_spec") else f"{name} {a} vs {b}"
            differences.append(shown)
    return differences


def _resume_problem(file: h5py.File, done: int, expected: Callable[[int, int], np.ndarray],
                    attrs: FileAttrs) -> str | None:
    """Why the partial file's first ``done`` rows cannot be trusted, or None (a cheap check, not ``verify``)."""
    if not 0 <= done <= attrs.num_rows:
        return f"complete_rows {done} is outside 0..{attrs.num_rows}"
    if done == 0:
        return None
    start = max(0, done - RESUME_CHECK_ROWS)
    try:
        stored = file[PARAMS][start:done]
        file[SPECTROGRAMS][done - 1]
        if attrs.has_audio:
            file[AUDIO][done - 1]
    except (OSError, KeyError) as exc:
        return f"its last complete rows cannot be read: {short_reason(exc)}"
    if not np.array_equal(stored, expected(attrs.row_start + start, done - start)):
        return "its last complete rows do not hold the expected parameters"
    return None


def _create(partial: Path, attrs: FileAttrs) -> h5py.File:
    bins, frames, num_samples = spectrogram_shape(attrs)
    n = attrs.num_rows
    try:
        file = h5_file(partial, "w")
    except OSError as exc:
        raise InputError(f"cannot write {partial}: {short_reason(exc)}") from None
    try:
        file.create_dataset(PARAMS, shape=(n, NUM_PARAMS), dtype=np.float32,
                            chunks=(min(n, PARAMS_CHUNK_ROWS), NUM_PARAMS), fletcher32=True)
        file.create_dataset(SPECTROGRAMS, shape=(n, bins, frames), dtype=np.uint8, chunks=(1, bins, frames),
                            **row_chunks(attrs.compression))
        if attrs.has_audio:
            file.create_dataset(AUDIO, shape=(n, num_samples), dtype=np.dtype(attrs.audio_dtype),
                                chunks=(1, num_samples), **row_chunks(attrs.compression))
        attrs.write(file)
        file.attrs["generator"] = f"dataset_gen (torch {torch.__version__}, h5py {h5py.version.version}, " \
                                  f"HDF5 {h5py.version.hdf5_version})"
        file.flush()
    except BaseException:
        file.close()
        raise
    return file
