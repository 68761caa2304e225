"""``verify``: a good file passes; altered, incomplete, truncated or corrupted files are caught."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from dataset_gen.verify import DEFAULT_SAMPLE, FULL_CHECK_ROWS, choose_rows, verify
from synth.errors import InputError


def test_a_complete_file_verifies(ds, reference):
    report = verify(reference)
    assert report.ok, report.problems
    assert (report.rows, report.params_checked, report.rows_rerendered, report.device) == (ds.N, ds.N, ds.N, "cpu")


def test_a_merged_file_verifies_on_a_sample(ds, shards, tmp_path):
    from dataset_gen.merge import merge

    merged = merge(shards, shards[0].parent / "merged_for_verify.h5").path
    report = verify(merged, sample=3, sample_seed=1)
    assert report.ok, report.problems
    assert (report.params_checked, report.rows_rerendered) == (ds.N, 3)


def test_an_altered_spectrogram_row_is_caught(ds, reference, tmp_path):
    altered = ds.copy(reference, tmp_path / "altered.h5")
    with h5py.File(altered, "r+") as f:
        row = f["spectrograms"][5]
        row[100, 200] = 255 - row[100, 200]
        f["spectrograms"][5] = row
    report = verify(altered, rows=[4, 5, 6])
    assert not report.ok and report.rows_rerendered == 3
    assert report.problems == ["row 5: stored spectrogram differs from a re-render in 1 bins "
                               f"(largest difference {abs(255 - 2 * int(row[100, 200]))} levels)"]


def test_altered_params_and_audio_are_caught(ds, reference, tmp_path):
    altered = ds.copy(reference, tmp_path / "altered.h5")
    with h5py.File(altered, "r+") as f:
        f["params"][2, 10] = 0.5
        f["params"][6, 0] = 0.25
        f["audio"][7, 1000] = 0.5
    report = verify(altered, sample=2, sample_seed=0)
    assert report.problems[0] == "/params differs from the prior in 2 row(s): 2, 6"
    report = verify(altered, rows=[7])
    assert "row 7: stored audio differs from a re-render" in report.problems


def test_incomplete_file_is_reported(ds, reference, tmp_path):
    partial = ds.copy(reference, tmp_path / "x.h5.partial")
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = 0
        f.attrs["complete_rows"] = 4
    report = verify(partial, sample=0)
    assert report.problems == ["incomplete: 4 of 8 rows written (complete flag 0)"]
    assert report.params_checked == 4


def test_corrupted_bytes_on_disk_are_caught(ds, reference, tmp_path):
    corrupted = ds.copy(reference, tmp_path / "corrupted.h5")
    with h5py.File(corrupted, "r") as f:
        offset = f["spectrograms"].id.get_chunk_info(3).byte_offset
    with open(corrupted, "r+b") as raw:
        raw.seek(offset + 100)
        raw.write(b"\x00\x01\x02\x03\x04\x05\x06\x07")
    report = verify(corrupted, rows=[2, 3])
    assert len(report.problems) == 1 and report.problems[0].startswith("row 3: cannot be read")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_unreadable_files_are_an_input_error(reference, tmp_path, damage):
    path = tmp_path / "damaged.h5"
    data = Path(reference).read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x89HDF junk" * 100, "empty": b""}[damage])
    with pytest.raises(InputError, match="damaged.h5: not a readable HDF5 file"):
        verify(path)


def test_a_foreign_hdf5_file_is_an_input_error(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(InputError, match="not a dataset_gen file"):
        verify(path)


def test_sample_choice():
    assert np.array_equal(choose_rows(10, None, False, 0), np.arange(10))
    big = FULL_CHECK_ROWS + 1
    rows = choose_rows(big, None, False, 0)
    assert len(rows) == DEFAULT_SAMPLE and np.all(np.diff(rows) > 0) and rows[-1] < big
    assert np.array_equal(rows, choose_rows(big, None, False, 0))
    assert not np.array_equal(rows, choose_rows(big, None, False, 1))
    assert len(choose_rows(big, 5, False, 0)) == 5 and len(choose_rows(big, None, True, 0)) == big
    with pytest.raises(InputError, match="--sample must be non-negative"):
        choose_rows(10, -1, False, 0)


def test_a_file_from_before_prior_versions_reads_as_prior_1_and_verifies(ds, tmp_path):
    """Files written before priors had versions hold no 'prior' attribute: they are prior 1, verify on it,
    and keep the fingerprint they had (checkpoints recorded it)."""
    from dataset_gen.layout import FileAttrs

    old = ds.make(tmp_path / "old.h5", n=2, prior="1")
    newer = ds.make(tmp_path / "new.h5", n=2, prior="2")
    with h5py.File(old, "r+") as f:
        del f.attrs["prior"]
    with h5py.File(old, "r") as f, h5py.File(newer, "r") as g:
        old_attrs, new_attrs = FileAttrs.read(f, old), FileAttrs.read(g, newer)
        assert not np.array_equal(f["params"][()], g["params"][()])
    assert old_attrs.prior == "1" and "prior" not in old_attrs.identity()
    assert old_attrs.fingerprint() != new_attrs.fingerprint()
    assert verify(old).ok and verify(newer).ok


def test_each_render_path_verifies_on_its_own_path(ds, reference, tmp_path):
    eager = ds.make(tmp_path / "eager.h5", n=4, render="eager")
    with h5py.File(eager, "r") as f, h5py.File(reference, "r") as g:
        assert (f.attrs["render_path"], g.attrs["render_path"]) == ("eager", "fast")
        # Same rows, other path: within float rounding, so not always the same bytes.
        assert np.array_equal(f["params"][()], g["params"][:4])
        assert np.abs(f["spectrograms"][()].astype(int) - g["spectrograms"][:4].astype(int)).max() <= 40
    report = verify(eager)
    assert report.ok and report.notes == [] and report.rows_rerendered == 4, report.problems
    # Re-rendered on the other path on request: said in a note (a pixel may then be off by a few levels).
    crossed = verify(reference, rows=[0], render="eager", tolerance=255)
    assert crossed.ok and any("fast path, re-rendering on the eager path" in n for n in crossed.notes)
    # A file made before render paths were recorded is an eager file.
    legacy = ds.copy(eager, tmp_path / "legacy.h5")
    with h5py.File(legacy, "r+") as f:
        del f.attrs["render_path"]
    assert verify(legacy).ok


def test_resuming_on_another_render_path_is_refused(ds, tmp_path):
    from dataset_gen.generate import GenerateOptions, generate

    out = tmp_path / "resume.h5"

    def stop(rows: int) -> None:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        generate(GenerateOptions(num_rows=4, out=out, render="eager", batch_size=2), progress=False, on_batch=stop)
    with pytest.raises(InputError, match="render_path eager vs fast"):
        ds.make(out, n=4)
