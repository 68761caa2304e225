"""Export one stored spectrogram as a PNG: ``export-png FILE --index I -o spec.png``.

The PNG holds exactly the stored bytes (flipped so high frequencies are on top), so reading it back with
``synth.image_io.read_png`` gives the dataset row, and ``inverse predict spec.png`` sees what training saw.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dataset_gen.layout import PARAMS, SPECTROGRAMS, open_complete, short_reason
from synth.errors import InputError
from synth.image_io import write_png
from synth.params import physical_dict


def export_png(path: Path | str, index: int, out: Path | str) -> dict[str, float]:
    """Write row ``index`` of ``path`` to ``out``; returns that row's parameters in physical units."""
    file, attrs = open_complete(path, check_synth_version=False)
    with file:
        if not 0 <= index < attrs.num_rows:
            raise InputError(f"--index {index} is outside 0..{attrs.num_rows - 1} of {path}")
        try:
            u8 = file[SPECTROGRAMS][index]
            params = file[PARAMS][index]
        except OSError as exc:
            raise InputError(f"{path}: row {index} cannot be read ({short_reason(exc)})") from None
    try:
        write_png(out, u8)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    return physical_dict(torch.from_numpy(params))
