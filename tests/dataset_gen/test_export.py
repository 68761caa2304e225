"""``export-png``: the PNG holds exactly the stored row."""

from __future__ import annotations

import numpy as np
import pytest

from dataset_gen.export import export_png
from synth.errors import InputError
from synth.image_io import read_png


def test_exported_png_is_byte_identical_to_the_stored_row(ds, reference, tmp_path):
    out = tmp_path / "row.png"
    physical = export_png(reference, 7, out)
    assert np.array_equal(read_png(out), ds.content(reference)["spectrograms"][7])
    assert len(physical) == 100 and "note_pitch" in physical


def test_index_out_of_range_and_unwritable_output(ds, reference, tmp_path):
    for index in (ds.N, -1):
        with pytest.raises(InputError, match=rf"--index {index} is outside 0..{ds.N - 1}"):
            export_png(reference, index, tmp_path / "x.png")
    with pytest.raises(InputError, match="cannot write"):
        export_png(reference, 0, tmp_path / "no_such_dir" / "x.png")
