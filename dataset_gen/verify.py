"""Check a dataset file against a fresh render: structure, attributes, completeness and row contents.

Every row's parameters are compared with the prior (cheap); spectrograms (and audio) are re-rendered and
compared byte for byte for every row of a small file (up to :data:`FULL_CHECK_ROWS` rows) and for a random
sample of :data:`DEFAULT_SAMPLE` rows otherwise (``sample=`` / ``--sample K`` and ``all_rows`` /
``--all`` change that). Re-rendering uses the device and the synth render path (``eager`` or ``fast``) the
file records when they are available; a file re-rendered on another device or path can differ by float
rounding, which ``tolerance`` (8-bit levels) allows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm import tqdm

from dataset_gen.layout import (
    AUDIO,
    FORMAT_VERSION,
    PARAMS,
    SPECTROGRAMS,
    FileAttrs,
    canonical_json,
    check_structure,
    missing_virtual_sources,
    open_h5,
    short_reason,
    spectrogram_shape,
)
from dataset_gen.rendering import ExampleRenderer, resolve_device
from synth.errors import InputError, note
from synth.params import SYNTH_VERSION, spec_json
from synth.prior import PRIOR_VERSIONS, SAMPLERS
from synth.spectrogram import SpectrogramConfig

#: Files with at most this many rows are re-rendered completely by default.
FULL_CHECK_ROWS = 256
#: Rows re-rendered by default in larger files.
DEFAULT_SAMPLE = 256
#: Rows whose parameters are compared with the prior at once.
PARAMS_BLOCK = 4096
#: Mismatching rows described one by one before the rest are only counted.
MAX_ROW_MESSAGES = 10


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`: ``ok`` when ``problems`` is empty."""

    path: Path
    rows: int = 0
    params_checked: int = 0
    rows_rerendered: int = 0
    device: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = (f"{self.path}: {self.rows} rows; parameters of {self.params_checked} rows checked against the "
                f"prior; {self.rows_rerendered} rows re-rendered on {self.device or '-'} and compared")
        body = [f"  note: {n}" for n in self.notes] + [f"  FAIL: {p}" for p in self.problems]
        return [head, *body, "OK" if self.ok else f"FAILED ({len(self.problems)} problem(s))"]

    def to_json(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "rows": self.rows, "params_checked": self.params_checked,
                "rows_rerendered": self.rows_rerendered, "device": self.device, "problems": self.problems,
                "notes": self.notes}


def choose_rows(num_rows: int, sample: int | None, all_rows: bool, seed: int) -> np.ndarray:
    """Sorted file rows to re-render (see the module docstring for the defaults)."""
    if sample is not None and sample < 0:
        raise InputError(f"--sample must be non-negative, got {sample}")
    if all_rows or (sample is None and num_rows <= FULL_CHECK_ROWS):
        return np.arange(num_rows)
    count = min(num_rows, DEFAULT_SAMPLE if sample is None else sample)
    return np.sort(np.random.default_rng(seed).choice(num_rows, size=count, replace=False))


def verify(path: Path | str, *, sample: int | None = None, all_rows: bool = False, sample_seed: int = 0,
           rows: Sequence[int] | None = None, device: str | None = None, render: str | None = None, tolerance: int = 0,
           batch_size: int = 16, progress: bool = False) -> VerifyReport:
    """Verify ``path``; ``rows`` (file rows) re-renders exactly those instead of a sample.

    Raises :class:`InputError` only when ``path`` is not a readable dataset file at all.
    """
    path = Path(path)
    if tolerance < 0:
        raise InputError(f"--tolerance must be non-negative, got {tolerance}")
    report = VerifyReport(path)
    with open_h5(path) as file:
        attrs = FileAttrs.read(file, path)
        report.rows = attrs.num_rows
        if not _check_header(file, attrs, path, report):
            return report
        rows_to_check = attrs.num_rows if attrs.complete else min(max(attrs.complete_rows, 0), attrs.num_rows)
        config = SpectrogramConfig.from_json(json.loads(attrs.spectrogram_config))
        device_name = _choose_device(attrs, device, report)
        renderer = ExampleRenderer(attrs.seed, attrs.sampler, config, device_name, prior=attrs.prior,
                                   audio_dtype=attrs.audio_dtype if attrs.has_audio else None,
                                   render_path=_choose_render_path(attrs, render, device_name),
                                   log=note)
        if renderer.render_path != attrs.render_path:
            report.notes.append(f"rows were rendered on the {attrs.render_path} path, re-rendering on the "
                                f"{renderer.render_path} path: float rounding may differ (--tolerance 1 allows one "
                                "8-bit level)")
        report.device = renderer.device.type
        _check_params(file, attrs, renderer, rows_to_check, report)
        if rows is None:
            chosen = choose_rows(rows_to_check, sample, all_rows, sample_seed)
        else:
            chosen = np.unique(np.asarray(rows, dtype=np.int64))
            if len(chosen) and not 0 <= chosen[0] <= chosen[-1] < rows_to_check:
                raise InputError(f"rows to verify must be in 0..{rows_to_check - 1}")
        _check_rendered(file, attrs, renderer, chosen, tolerance, batch_size, progress, report)
    return report


def _check_header(file: h5py.File, attrs: FileAttrs, path: Path, report: VerifyReport) -> bool:
    """Attribute, completeness and structure checks. Returns whether rows can be re-rendered."""
    if attrs.format_version != FORMAT_VERSION:
        report.problems.append(f"format version {attrs.format_version}, this code reads {FORMAT_VERSION}")
        return False
    if not attrs.complete or attrs.complete_rows != attrs.num_rows:
        report.problems.append(f"incomplete: {attrs.complete_rows} of {attrs.num_rows} rows written "
                               f"(complete flag {attrs.complete})")
    if not 0 <= attrs.row_start < attrs.row_stop <= attrs.total_rows:
        report.problems.append(f"row range {attrs.row_start}..{attrs.row_stop} does not fit {attrs.total_rows} rows")
        return False
    try:
        check_structure(file, attrs, path, *spectrogram_shape(attrs))
    except (InputError, ValueError) as exc:
        report.problems.append(str(exc))
        return False
    missing = missing_virtual_sources(file, path)
    if missing:
        report.problems.append(f"merged file whose shards are missing: {', '.join(missing)}")
        return False
    if attrs.sampler not in SAMPLERS:
        report.problems.append(f"unknown sampler {attrs.sampler!r}: its rows cannot be re-rendered here")
    if attrs.prior not in PRIOR_VERSIONS:
        report.problems.append(f"unknown prior version {attrs.prior!r}: its rows cannot be re-rendered here")
        return False
    if attrs.synth_version != SYNTH_VERSION:
        report.problems.append(f"made with synth version {attrs.synth_version}, this is {SYNTH_VERSION}: "
                               "its rows cannot be re-rendered here")
        return False
    if attrs.param_spec != canonical_json(spec_json()):
        report.problems.append("its parameter spec differs from this synth's (same version string, other spec)")
        return False
    return True


def _choose_render_path(attrs: FileAttrs, render: str | None, device: str) -> str:
    """The requested path, else the recorded one where this device can take it, else eager."""
    if render is not None:
        return render
    return "fast" if attrs.render_path == "fast" and resolve_device(device).type == "cpu" else "eager"


def _choose_device(attrs: FileAttrs, device: str | None, report: VerifyReport) -> str:
    if device is None:
        device = attrs.render_device if attrs.render_device in ("cpu", "cuda") else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            device = "cpu"
    if resolve_device(device).type != attrs.render_device:
        report.notes.append(f"rows were rendered on {attrs.render_device}, re-rendering on {device}: float "
                            "rounding may differ (--tolerance 1 allows one 8-bit level)")
    return device


def _check_params(file: h5py.File, attrs: FileAttrs, renderer: ExampleRenderer, num_rows: int,
                  report: VerifyReport) -> None:
    bad: list[int] = []
    for start in range(0, num_rows, PARAMS_BLOCK):
        stop = min(num_rows, start + PARAMS_BLOCK)
        try:
            stored = file[PARAMS][start:stop]
        except OSError as exc:
            report.problems.append(f"/params rows {start}..{stop - 1} cannot be read ({short_reason(exc)})")
            continue
        expected = renderer.params(attrs.row_start + start, stop - start)
        differs = np.flatnonzero(~np.all(stored == expected, axis=1))
        bad.extend(int(start + i) for i in differs)
        report.params_checked += stop - start
    if bad:
        shown = ", ".join(map(str, bad[:MAX_ROW_MESSAGES])) + (" ..." if len(bad) > MAX_ROW_MESSAGES else "")
        report.problems.append(f"/params differs from the prior in {len(bad)} row(s): {shown}")


def _check_rendered(file: h5py.File, attrs: FileAttrs, renderer: ExampleRenderer, rows: np.ndarray,
                    tolerance: int, batch_size: int, progress: bool, report: VerifyReport) -> None:
    row_problems: list[str] = []
    with tqdm(total=len(rows), unit="ex", desc="verify", disable=not progress, leave=False) as bar:
        for i in range(0, len(rows), batch_size):
            # Re-render runs of consecutive rows together (any grouping gives the same bytes).
            for run in _consecutive_runs(rows[i:i + batch_size]):
                batch = renderer.render(attrs.row_start + int(run[0]), len(run))
                for j, row in enumerate(run):
                    problem = _compare_row(file, int(row), batch.spectrograms[j],
                                           None if batch.audio is None else batch.audio[j], tolerance)
                    if problem:
                        row_problems.append(problem)
                report.rows_rerendered += len(run)
                bar.update(len(run))
    report.problems.extend(row_problems[:MAX_ROW_MESSAGES])
    if len(row_problems) > MAX_ROW_MESSAGES:
        report.problems.append(f"... and {len(row_problems) - MAX_ROW_MESSAGES} more rows differ")


def _consecutive_runs(rows: np.ndarray) -> list[np.ndarray]:
    if len(rows) == 0:
        return []
    return np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1)


def _compare_row(file: h5py.File, row: int, spectrogram: np.ndarray, audio: np.ndarray | None,
                 tolerance: int) -> str | None:
    try:
        stored = file[SPECTROGRAMS][row]
        stored_audio = file[AUDIO][row] if audio is not None else None
    except OSError as exc:
        return f"row {row}: cannot be read ({short_reason(exc)})"
    difference = np.abs(stored.astype(np.int16) - spectrogram.astype(np.int16))
    if difference.max() > tolerance:
        count = int((difference > tolerance).sum())
        return (f"row {row}: stored spectrogram differs from a re-render in {count} bins "
                f"(largest difference {int(difference.max())} levels)")
    if audio is not None and not np.array_equal(stored_audio, audio):
        if tolerance == 0 or not np.allclose(stored_audio.astype(np.float32), audio.astype(np.float32),
                                             atol=1e-3, rtol=0):
            return f"row {row}: stored audio differs from a re-render"
    return None
