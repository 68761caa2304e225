"""The files are plain HDF5: h5ls/h5dump (Debian hdf5-tools) and bare h5py read them without project code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

needs_hdf5_tools = pytest.mark.skipif(shutil.which("h5dump") is None, reason="hdf5-tools is not installed")


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@needs_hdf5_tools
def test_h5ls_and_h5dump_read_structure_attributes_and_data(ds, shards, reference):
    listing = _run("h5ls", "-r", str(reference))
    assert "/params                  Dataset {8, 100}" in listing
    assert "/spectrograms            Dataset {8, 512, 512}" in listing
    attributes = _run("h5dump", "-A", str(reference))
    assert 'ATTRIBUTE "synth_version"' in attributes and 'ATTRIBUTE "complete_rows"' in attributes
    dump = _run("h5dump", "-d", "/params", "-s", "2,0", "-c", "1,3", "-m", "%.9g", str(reference))
    values = re.findall(r"\(2,\d\): ([0-9.e+-]+)", dump.split("DATA {")[1])
    assert np.array_equal(np.array(values, dtype=np.float32), ds.content(reference)["params"][2, :3])
    # gzip (unlike lzf, an h5py filter) is built into every HDF5 tool: spectrogram rows read too.
    row = _run("h5dump", "-d", "/spectrograms", "-s", "1,0,0", "-c", "1,1,512", "-w", "0", str(shards[0]))
    values = row.split("(1,0,0): ")[1].split("\n")[0]
    assert [int(v) for v in values.split(",")] == ds.content(shards[0])["spectrograms"][1, 0].tolist()


def test_plain_h5py_reads_everything_without_project_code(ds, reference):
    script = (
        "import sys, h5py, json; f = h5py.File(sys.argv[1], 'r');"
        "print(json.dumps([f['spectrograms'].shape, int(f['spectrograms'][ds.N - 1].sum()), int(f.attrs['seed']),"
        " int(f.attrs['complete']), sorted(f), 'dataset_gen' in sys.modules or 'synth' in sys.modules]))"
    ).replace("ds.N - 1", str(ds.N - 1))
    out = subprocess.run([sys.executable, "-c", script, str(reference)], check=True, capture_output=True,
                         text=True, cwd="/").stdout
    stored = ds.content(reference)["spectrograms"]
    assert out.strip() == (f'[[{ds.N}, 512, 512], {int(stored[ds.N - 1].sum())}, {ds.SEED}, 1, '
                           '["audio", "params", "spectrograms"], false]')
    assert np.any(stored > 0)
