"""Describe a dataset file (complete, partial or merged) without reading its rows: ``info FILE``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py

from dataset_gen.layout import AUDIO, PARAMS, PARTIAL_SUFFIX, SPECTROGRAMS, FileAttrs, open_h5


def describe(path: Path | str) -> dict:
    """JSON-ready description: status, attributes, datasets (shape, dtype, chunks, filters, bytes) and sizes.

    Raises :class:`InputError` for a file that is not a readable dataset file.
    """
    path = Path(path)
    with open_h5(path) as file:
        attrs = FileAttrs.read(file, path)
        spec = json.loads(attrs.param_spec)
        attributes = {key: _plain(value) for key, value in file.attrs.items()}
        attributes["param_spec"] = {"parameters": len(spec), "sha256": hashlib.sha256(
            attrs.param_spec.encode()).hexdigest()[:16]}
        attributes["spectrogram_config"] = json.loads(attrs.spectrogram_config)
        if "merged_from" in attributes:
            attributes["merged_from"] = json.loads(attributes["merged_from"])
        datasets = {name: _describe_dataset(file[name]) for name in (PARAMS, SPECTROGRAMS, AUDIO) if name in file}
    complete = bool(attrs.complete) and attrs.complete_rows == attrs.num_rows
    if complete:
        status = "complete"
    elif str(path).endswith(PARTIAL_SUFFIX):
        status = "partial (being written, or an interrupted run: rerun the same command to resume it)"
    else:
        status = "incomplete"
    file_bytes = path.stat().st_size
    stored = sum(d["stored_bytes"] for d in datasets.values())
    shard_bytes = _shard_bytes(path, attributes.get("merged_from"))
    return {
        "path": str(path),
        "status": status,
        "rows": attrs.num_rows,
        "complete_rows": attrs.complete_rows,
        "row_range": [attrs.row_start, attrs.row_stop],
        "total_rows": attrs.total_rows,
        "fingerprint": attrs.fingerprint(),
        "file_bytes": file_bytes,
        "data_bytes": stored if shard_bytes is None else shard_bytes,
        "bytes_per_example": ((stored if shard_bytes is None else shard_bytes) / attrs.complete_rows
                              if attrs.complete_rows else None),
        "attributes": attributes,
        "datasets": datasets,
    }


def _plain(value):
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if hasattr(value, "item") else value


def _describe_dataset(dset: h5py.Dataset) -> dict:
    out = {
        "shape": list(dset.shape),
        "dtype": str(dset.dtype),
        "chunks": list(dset.chunks) if dset.chunks else None,
        "compression": dset.compression or "none",
        "virtual": dset.is_virtual,
        "stored_bytes": 0 if dset.is_virtual else int(dset.id.get_storage_size()),
    }
    if dset.is_virtual:
        out["sources"] = sorted({source.file_name for source in dset.virtual_sources()})
    return out


def _shard_bytes(path: Path, merged_from: list | None) -> int | None:
    """Bytes of the shard files behind a merged file (None for an ordinary file; missing shards count 0)."""
    if not merged_from:
        return None
    base = path.resolve().parent
    total = 0
    for source in merged_from:
        shard = Path(source["file"])
        shard = shard if shard.is_absolute() else base / shard
        total += shard.stat().st_size if shard.exists() else 0
    return total


def format_description(info: dict) -> list[str]:
    """Human-readable lines for :func:`describe`'s result."""
    a = info["attributes"]
    lines = [
        f"{info['path']}: {info['status']}",
        f"  rows {info['complete_rows']} of {info['rows']} complete (global rows {info['row_range'][0]}.."
        f"{info['row_range'][1] - 1} of {info['total_rows']})",
        f"  synth {a['synth_version']}, format {a['format_version']}, seed {a['seed']}, sampler {a['sampler']}, "
        f"prior {a.get('prior', '1')}, "
        f"rendered on {a['render_device']} ({a.get('render_path', 'eager')} path), compression {a['compression']}, "
        f"audio {a['audio_dtype']}",
        f"  parameters: {a['param_spec']['parameters']} (spec sha256 {a['param_spec']['sha256']}); data fingerprint "
        f"{info['fingerprint']}",
        "  spectrogram: " + ", ".join(f"{k}={v}" for k, v in a["spectrogram_config"].items()),
    ]
    for name, d in info["datasets"].items():
        stored = "virtual" if d["virtual"] else f"{d['stored_bytes']:,} bytes"
        chunks = str(tuple(d["chunks"])) if d["chunks"] else "-"
        lines.append(f"  /{name:<13} {d['dtype']:<8} {tuple(d['shape'])!s:<20} chunks {chunks:<16}"
                     f" {d['compression']:<5} {stored}")
    if "merged_from" in a:
        lines.append(f"  merged from {len(a['merged_from'])} shard(s): "
                     + ", ".join(s["file"] for s in a["merged_from"]))
    per_example = info["bytes_per_example"]
    lines.append(f"  file {info['file_bytes']:,} bytes; data {info['data_bytes']:,} bytes"
                 + (f", {per_example:,.0f} bytes per example" if per_example else ""))
    return lines
