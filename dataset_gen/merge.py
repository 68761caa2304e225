"""Combine shards (``--shard i/N`` runs) into one dataset: an HDF5 file of virtual datasets over them.

The merged file copies no data: ``/params``, ``/spectrograms`` (and ``/audio``) map row ranges onto the
shard files, which must stay where they are (they are referenced relative to the merged file, so the
directory holding all of them can be moved as a whole). Shards are refused unless they come from the same
dataset definition (format, synth version, parameter spec, spectrogram config, seed, sampler, total rows,
audio) and together cover every row exactly once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import h5py

from dataset_gen.layout import (
    AUDIO,
    PARAMS,
    SPECTROGRAMS,
    FileAttrs,
    fsync_path,
    h5_file,
    identity_differences,
    open_complete,
    partial_path,
    short_reason,
)
from synth.errors import InputError


@dataclass(frozen=True)
class MergeSummary:
    path: Path
    rows: int
    shards: int

    def lines(self) -> list[str]:
        return [f"wrote {self.path}: {self.rows} rows from {self.shards} shard(s) (virtual datasets; keep the "
                "shard files next to it)"]


def merge(shards: Sequence[Path | str], out: Path | str, *, overwrite: bool = False) -> MergeSummary:
    """Write ``out``, a dataset made of virtual datasets over ``shards``. Raises :class:`InputError`."""
    out = Path(out)
    shards = [Path(s) for s in shards]
    if not shards:
        raise InputError("merge needs at least one shard file")
    if out.exists() and not overwrite:
        raise InputError(f"{out} already exists; pass --overwrite to replace it")
    for shard in shards:
        if shard.exists() and out.exists() and os.path.samefile(shard, out):
            raise InputError(f"{out} is one of the shards; choose another output name")
    found = _read_shards(shards)
    first_path, first = found[0]
    for path, attrs in found[1:]:
        differences = identity_differences(attrs, first)
        if differences:
            raise InputError(f"cannot merge {path} with {first_path}: {'; '.join(differences)}")
    found.sort(key=lambda item: (item[1].row_start, item[1].row_stop))
    _check_coverage(found, first.total_rows)
    _write_virtual(found, out)
    return MergeSummary(out, first.total_rows, len(found))


def _read_shards(shards: list[Path]) -> list[tuple[Path, FileAttrs]]:
    found = []
    for path in shards:
        file, attrs = open_complete(path, check_synth_version=False)
        file.close()
        found.append((path, attrs))
    return found


def _check_coverage(found: list[tuple[Path, FileAttrs]], total_rows: int) -> None:
    """Refuse shards that overlap or leave rows out (``found`` is sorted by first row)."""
    expected = 0
    previous: tuple[Path, FileAttrs] | None = None
    for path, attrs in found:
        if attrs.row_start > expected:
            raise InputError(f"cannot merge: rows {expected}..{attrs.row_start - 1} are in no shard "
                             f"(a shard is missing before {path})")
        if attrs.row_start < expected:
            assert previous is not None
            raise InputError(f"cannot merge: {previous[0]} (rows {previous[1].row_start}..{previous[1].row_stop - 1})"
                             f" and {path} (rows {attrs.row_start}..{attrs.row_stop - 1}) overlap")
        expected = attrs.row_stop
        previous = (path, attrs)
    if expected < total_rows:
        raise InputError(f"cannot merge: rows {expected}..{total_rows - 1} of {total_rows} are in no shard "
                         "(a shard is missing at the end)")


def _common(values: list[str]) -> str:
    return values[0] if len(set(values)) == 1 else "mixed"


def _write_virtual(found: list[tuple[Path, FileAttrs]], out: Path) -> None:
    first = found[0][1]
    total = first.total_rows
    base = out.resolve().parent
    names = [PARAMS, SPECTROGRAMS] + ([AUDIO] if first.has_audio else [])
    with h5_file(found[0][0], "r") as f:
        shapes = {name: f[name].shape[1:] for name in names}
        dtypes = {name: f[name].dtype for name in names}
    layouts = {name: h5py.VirtualLayout(shape=(total, *shapes[name]), dtype=dtypes[name]) for name in names}
    sources = []
    for path, attrs in found:
        # Relative to the merged file, so a directory holding the merged file and its shards can move.
        source_name = os.path.relpath(path.resolve(), base)
        for name in names:
            source = h5py.VirtualSource(source_name, name, shape=(attrs.num_rows, *shapes[name]),
                                        dtype=dtypes[name])
            layouts[name][attrs.row_start:attrs.row_stop] = source
        sources.append({"file": source_name, "row_start": attrs.row_start, "row_stop": attrs.row_stop})
    merged = replace(first, row_start=0, row_stop=total, complete_rows=total, complete=1,
                     compression=_common([a.compression for _, a in found]),
                     render_device=_common([a.render_device for _, a in found]),
                     render_path=_common([a.render_path for _, a in found]))
    temporary = partial_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with h5_file(temporary, "w") as f:
            for name in names:
                f.create_virtual_dataset(name, layouts[name], fillvalue=0)
            merged.write(f)
            f.attrs["merged_from"] = json.dumps(sources)
        fsync_path(temporary)
        os.replace(temporary, out)
        fsync_path(out.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write {out}: {exc.strerror or short_reason(exc)}") from None
