"""The HDF5 file layout: dataset names, root attributes, shard ranges, and opening files safely.

A dataset file holds

==================  ==========================================  ===========================================
path                dtype, shape                                note
==================  ==========================================  ===========================================
``/params``         float32 ``[N, 100]``                        normalised parameters, uncompressed
``/spectrograms``   uint8 ``[N, bins, frames]``                 ``round(v * 255)``; one chunk per example
``/audio``          float16 or float32 ``[N, num_samples]``     only with ``--audio``
==================  ==========================================  ===========================================

and the root attributes of :class:`FileAttrs`. Row ``i`` of a file is global example ``row_start + i``.
Every dataset carries fletcher32 checksums, so a damaged chunk is a read error, never silently wrong data.
Everything that decides what a row contains (synth version, parameter spec, spectrogram config, seed,
sampler) is an attribute, so two files can be compared without reading their data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

import h5py
import numpy as np

from synth.errors import InputError
from synth.params import SYNTH_VERSION
from synth.spectrogram import SpectrogramConfig

#: Bumped when the layout below changes in a way old readers would misread.
FORMAT_VERSION = 1

PARAMS = "params"
SPECTROGRAMS = "spectrograms"
AUDIO = "audio"

#: h5py keyword arguments for each ``--compression`` value. gzip level 1: on spectrograms level 4 saves
#: under 2 % more space for about 40 % more CPU time (measured here; see benchmarks/results).
COMPRESSIONS: dict[str, dict] = {
    "lzf": {"compression": "lzf"},
    "gzip": {"compression": "gzip", "compression_opts": 1},
    "none": {},
}


def row_chunks(compression: str) -> dict:
    """h5py keyword arguments of the one-row-per-chunk datasets (``/spectrograms``, ``/audio``) besides their chunk
    shape: ``compression``'s filter (:data:`COMPRESSIONS`) and fletcher32 checksums."""
    return {"fletcher32": True, **COMPRESSIONS[compression]}


AUDIO_DTYPES = ("float16", "float32")
NO_AUDIO = "none"

#: Rows per chunk of ``/params`` (400 bytes a row; small enough to rewrite per batch).
PARAMS_CHUNK_ROWS = 256

#: Suffix of the temporary file a run writes to; it is renamed to the output name when complete.
PARTIAL_SUFFIX = ".partial"


def partial_path(out: Path) -> Path:
    """The temporary name a run writes ``out`` under until it is complete."""
    return Path(str(out) + PARTIAL_SUFFIX)


def canonical_json(value) -> str:
    """JSON with sorted keys and no spaces, so equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: a contiguous range of the dataset's rows (``--shard index/count``)."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise InputError(f"shard {text!r} is not of the form i/N (e.g. 0/4)")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise InputError(f"shard {text!r}: the shard count must be at least 1")
        if index >= count:
            raise InputError(f"shard {text!r}: the shard index must be in 0..{count - 1}")
        return cls(index, count)

    def rows(self, num_rows: int) -> tuple[int, int]:
        """Global ``(row_start, row_stop)`` of this shard of a ``num_rows`` dataset."""
        if self.count > num_rows:
            raise InputError(f"cannot split {num_rows} rows into {self.count} shards (each needs at least one row)")
        return self.index * num_rows // self.count, (self.index + 1) * num_rows // self.count

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class FileAttrs:
    """The root attributes of a dataset file (all of them; stored as HDF5 attributes of ``/``)."""

    format_version: int
    synth_version: str
    param_spec: str  # canonical JSON of synth.params.spec_json()
    spectrogram_config: str  # canonical JSON of SpectrogramConfig.to_json()
    seed: int
    sampler: str  # one of synth.prior.SAMPLERS
    total_rows: int  # rows of the whole dataset, all shards together
    row_start: int  # global index of this file's first row
    row_stop: int  # global index one past this file's last row
    complete_rows: int  # rows 0 .. complete_rows - 1 of this file are written and flushed
    complete: int  # 1 once every row is written; a reader refuses anything else
    compression: str  # a key of COMPRESSIONS ("mixed" for a merged file whose shards differ)
    audio_dtype: str  # "none", "float16" or "float32"
    render_device: str  # device type the rows were rendered on ("cpu", "cuda"; "mixed" if merged from both)
    prior: str = "1"  # synth.prior version the rows were drawn from (files written before it existed: "1")
    # synth.render path the rows took: "eager" or "fast" (synth.fast_render; within float rounding of eager);
    # "mixed" for a merged file whose shards differ; files written before it existed: "eager"
    render_path: str = "eager"

    @property
    def num_rows(self) -> int:
        return self.row_stop - self.row_start

    @property
    def has_audio(self) -> bool:
        return self.audio_dtype != NO_AUDIO

    @classmethod
    def read(cls, file: h5py.File, path: Path | str) -> FileAttrs:
        """Read and type-check the root attributes; a file without them is not a dataset file."""
        values = {}
        for field in fields(cls):
            if field.name not in file.attrs and field.default is not MISSING:
                continue  # an attribute added later: older files hold its default
            if field.name not in file.attrs:
                raise InputError(f"{path}: not a dataset_gen file (no {field.name!r} attribute)")
            value = file.attrs[field.name]
            if isinstance(value, bytes):
                value = value.decode()
            try:
                values[field.name] = str(value) if field.type == "str" else int(value)
            except (TypeError, ValueError):
                raise InputError(f"{path}: attribute {field.name!r} is {value!r}, expected an integer") from None
        if values["audio_dtype"] not in (NO_AUDIO, *AUDIO_DTYPES):
            raise InputError(f"{path}: attribute 'audio_dtype' is {values['audio_dtype']!r}, expected one of "
                             f"{', '.join((NO_AUDIO, *AUDIO_DTYPES))}")
        for name in ("param_spec", "spectrogram_config"):
            try:
                json.loads(values[name])
            except ValueError:
                raise InputError(f"{path}: attribute {name!r} is not valid JSON") from None
        return cls(**values)

    def write(self, file: h5py.File) -> None:
        for name, value in asdict(self).items():
            file.attrs[name] = np.int64(value) if isinstance(value, int) else value

    def identity(self) -> dict:
        """What decides a row's content: two files agreeing here hold the same rows for the same indices."""
        return {
            "format_version": self.format_version,
            "synth_version": self.synth_version,
            "param_spec": json.loads(self.param_spec),
            "spectrogram_config": json.loads(self.spectrogram_config),
            "seed": self.seed,
            "sampler": self.sampler,
            # prior 1 adds no key, so files written before priors had versions keep their fingerprints
            **({"prior": self.prior} if self.prior != "1" else {}),
            "total_rows": self.total_rows,
            "audio_dtype": self.audio_dtype,
        }


    def fingerprint(self) -> str:
        """Short hash of everything that decides the file's rows (identity and row range), for checkpoints
        to record which data they were trained on. Equal for a merged file and a single run of the same rows."""
        text = canonical_json({**self.identity(), "row_start": self.row_start, "row_stop": self.row_stop})
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe_difference(name: str, ours, theirs) -> str:
    """A short phrase for one differing identity field (JSON fields are not printed in full)."""
    if isinstance(ours, (dict, list)):
        return f"{name} differs"
    return f"{name} {ours!r} vs {theirs!r}"


def identity_differences(a: FileAttrs, b: FileAttrs) -> list[str]:
    ia, ib = a.identity(), b.identity()
    return [describe_difference(k, ia[k], ib[k]) for k in ia if ia[k] != ib[k]]


def h5_file(path: Path | str, mode: str = "r") -> h5py.File:
    """``h5py.File``, retried without HDF5's file locking where the file system cannot lock (some NFS and
    Lustre mounts: "Function not implemented"), as setting ``HDF5_USE_FILE_LOCKING=FALSE`` would."""
    try:
        return h5py.File(path, mode)
    except OSError as exc:
        if "errno = 38" not in str(exc) and "not implemented" not in str(exc).lower():
            raise
        return h5py.File(path, mode, locking=False)


def open_h5(path: Path | str, mode: str = "r") -> h5py.File:
    """Open an HDF5 file, turning missing, unreadable, truncated or corrupt files into one-line errors."""
    path = Path(path)
    if mode == "r" and not path.exists():
        raise InputError(f"{path}: no such file")
    if mode == "r" and path.is_dir():
        raise InputError(f"{path}: is a directory, expected an HDF5 dataset file")
    try:
        return h5_file(path, mode)
    except OSError as exc:
        if mode == "r" and "lock" in str(exc).lower():
            # Being written by a run right now (a .partial file): its attributes are still worth reading.
            try:
                return h5py.File(path, mode, locking=False)
            except OSError:
                pass
        raise InputError(f"{path}: not a readable HDF5 file ({short_reason(exc)})") from None


def short_reason(exc: BaseException) -> str:
    """The useful part of an h5py/HDF5 error message, on one line."""
    text = " ".join(str(exc).split())
    # h5py puts the HDF5 detail in parentheses after a generic prefix: keep the detail.
    match = re.search(r"\((.*)\)\s*$", text)
    return match.group(1) if match else text


def check_structure(file: h5py.File, attrs: FileAttrs, path: Path | str, bins: int, frames: int,
                    num_samples: int) -> None:
    """Raise :class:`InputError` unless the datasets have the names, shapes and dtypes of the layout."""
    n = attrs.num_rows
    expected = {PARAMS: ((n, 100), np.float32), SPECTROGRAMS: ((n, bins, frames), np.uint8)}
    if attrs.has_audio:
        expected[AUDIO] = ((n, num_samples), np.dtype(attrs.audio_dtype))
    for name, (shape, dtype) in expected.items():
        if name not in file:
            raise InputError(f"{path}: dataset /{name} is missing")
        dset = file[name]
        if not isinstance(dset, h5py.Dataset) or dset.shape != shape or dset.dtype != dtype:
            found = f"{dset.dtype} {dset.shape}" if isinstance(dset, h5py.Dataset) else "a group"
            raise InputError(f"/{name} in {path} is {found}, expected {np.dtype(dtype)} {shape}")
    if not attrs.has_audio and AUDIO in file:
        raise InputError(f"{path}: has /{AUDIO} but its audio_dtype attribute says none")


def missing_virtual_sources(file: h5py.File, path: Path | str) -> list[str]:
    """Source files of the virtual (merged) datasets in ``file`` that cannot be found.

    HDF5 reads a missing source as zeros, silently, so readers check this before trusting a merged file.
    Relative source names are looked up next to the merged file, as HDF5 does.
    """
    base = Path(path).resolve().parent
    missing = []
    for name in (PARAMS, SPECTROGRAMS, AUDIO):
        if name in file and file[name].is_virtual:
            for source in file[name].virtual_sources():
                source_path = Path(source.file_name)
                if not source_path.is_absolute():
                    source_path = base / source_path
                if not source_path.exists() and str(source_path) not in missing:
                    missing.append(str(source_path))
    return missing


def require_complete(attrs: FileAttrs, path: Path | str) -> None:
    """Refuse a file that is not a finished run (a reader must never take it for a complete one)."""
    if not attrs.complete or attrs.complete_rows != attrs.num_rows:
        hint = ""
        if str(path).endswith(PARTIAL_SUFFIX):
            hint = "; rerun the command that made it to resume"
        raise InputError(f"{path}: incomplete dataset ({attrs.complete_rows} of {attrs.num_rows} rows written){hint}")


def fsync_path(path: Path) -> None:
    """Flush a file (or directory entry) to stable storage, where the platform allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def spectrogram_shape(attrs: FileAttrs) -> tuple[int, int, int]:
    """``(bins, frames, num_samples)`` of the spectrogram config stored in ``attrs``."""
    try:
        config = SpectrogramConfig.from_json(json.loads(attrs.spectrogram_config))
    except (TypeError, ValueError) as exc:
        raise InputError(f"unusable spectrogram_config attribute ({exc})") from None
    return config.bins, config.frames, config.num_samples


def open_complete(path: Path | str, *, check_synth_version: bool = True) -> tuple[h5py.File, FileAttrs]:
    """Open a finished dataset (single run, shard or merged file) for reading, or raise :class:`InputError`.

    Refuses partial files, unknown format versions, wrong shapes, merged files with missing shards and
    (unless ``check_synth_version`` is false) files made by another synth version.
    """
    file = open_h5(path)
    try:
        attrs = FileAttrs.read(file, path)
        if attrs.format_version != FORMAT_VERSION:
            raise InputError(f"{path}: dataset format version {attrs.format_version}, this code reads "
                             f"version {FORMAT_VERSION}")
        require_complete(attrs, path)
        if check_synth_version and attrs.synth_version != SYNTH_VERSION:
            raise InputError(f"{path}: made with synth version {attrs.synth_version}, this is {SYNTH_VERSION}; "
                             "regenerate it")
        check_structure(file, attrs, path, *spectrogram_shape(attrs))
        missing = missing_virtual_sources(file, path)
        if missing:
            raise InputError(f"{path}: merged file whose shard {missing[0]} is missing"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    except BaseException:
        file.close()
        raise
    return file, attrs
