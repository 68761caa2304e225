"""The retrieval index (inverse/retrieval.py): built from a real HDF5 dataset, it returns a row's own patch for
that row's spectrogram, survives a save/load round trip, refuses foreign files, and joins predict's pool."""

import json

import pytest
import torch

from dataset_gen.generate import GenerateOptions, generate
from dataset_gen.reader import SpectrogramDataset
from inverse.cli import main
from inverse.model import InverseModel
from inverse.predict import Predictor
from inverse.refine import RefineConfig
from inverse.retrieval import QUANT, IndexConfig, RetrievalIndex, build_index
from inverse.sampling import SamplingConfig, sample
from inverse.target import Target
from synth import render
from synth.errors import InputError

ROWS = 12


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("retrieval") / "train.h5"
    generate(GenerateOptions(num_rows=ROWS, out=path, seed=21, batch_size=6), progress=False)
    return path


@pytest.fixture(scope="module")
def index(data):
    return build_index(data, IndexConfig(components=8), progress=False)


def test_a_rows_own_spectrogram_finds_that_row_first(data, index):
    rows = SpectrogramDataset(data, audio=False)
    assert len(index) == ROWS and index.keys.shape == (ROWS, 8) and index.basis.shape == (8, 4096)
    for i in (0, 5, 11):
        spec, params = rows[i]
        found = index.query(spec[0], 3)
        assert found.shape == (3, 100)
        assert torch.equal(found[0], params), f"row {i} did not find itself first"
    assert index.query(rows[0][0][0], 100).shape == (ROWS, 100)  # never more than the index holds
    assert index.info["data"]["seed"] == 21 and index.info["data"]["rows"] == ROWS


def test_save_and_load_round_trip_within_the_quantisation(tmp_path, data, index):
    index.save(tmp_path / "index")
    loaded = RetrievalIndex.load(tmp_path / "index")
    assert (loaded.params - index.params).abs().max() <= 0.5 / QUANT + 1e-7
    assert torch.allclose(loaded.keys, index.keys) and torch.equal(loaded.basis, index.basis)
    spec = SpectrogramDataset(data, audio=False)[4][0][0]
    assert (loaded.query(spec, 1) - index.query(spec, 1)).abs().max() <= 0.5 / QUANT + 1e-7


def test_foreign_or_broken_files_are_refused_with_one_line(tmp_path, index):
    index.save(tmp_path / "index")
    meta = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "old.json").write_text(json.dumps({**meta, "synth_version": "0.9"}))
    (tmp_path / "old.safetensors").write_bytes((tmp_path / "index.safetensors").read_bytes())
    with pytest.raises(InputError, match="synth version 0.9"):
        RetrievalIndex.load(tmp_path / "old")
    (tmp_path / "bad.json").write_text(json.dumps(meta))
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="not a retrieval index"):
        RetrievalIndex.load(tmp_path / "bad")
    with pytest.raises(InputError, match="expected a retrieval index"):
        RetrievalIndex.load(tmp_path / "missing")
    with pytest.raises(InputError, match="shape"):
        index.query(torch.zeros(256, 512), 2)


def test_retrieved_rows_join_the_pool_and_can_win(tiny, data, index):
    torch.manual_seed(0)
    model = InverseModel(tiny).eval()
    params = SpectrogramDataset(data, audio=False)[3][1]
    target = Target.from_audio(render(params[None])[0])  # the row's own sound
    config = SamplingConfig(pool=4, retrieved=6, samples=3, expand=0, transpose=0, plain=0, refit=0, spread=0,
                            seed=0)  # as chosen
    found = sample(model, target, config, index=index)
    assert found.params.shape == (3, 100)
    # the untrained model's decodes are far from the target; the row itself (distance 0) is in the pool and wins
    assert int(found.pool_index[0]) >= config.pool
    assert torch.allclose(found.params[0], params) and float(found.match[0]) < 1e-3
    alone = sample(model, target, config)  # no index: the model's pool only
    assert int(alone.pool_index.max()) < config.pool


def test_index_command_and_predict_with_it(tmp_path, tiny, data, capsys):
    assert main(["index", "--data", str(data), "--out", str(tmp_path / "idx"), "--components", "4", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == ROWS and summary["components"] == 4 and (tmp_path / "idx.safetensors").is_file()
    predictor = Predictor(InverseModel(tiny).eval(), index=RetrievalIndex.load(tmp_path / "idx"))
    params = SpectrogramDataset(data, audio=False)[7][1]
    prediction = predictor.predict(Target.from_audio(render(params[None])[0]), samples=2, pool=2, retrieved=4, expand=0,
                                   spread=0, refine=RefineConfig(steps=2, retune=0))
    # the row itself wins (stored as uint16: within the quantisation, which alone moves the match by ~0.02-0.05;
    # no symmetric expansion or spread, whose forms of the row sound the same)
    assert (prediction.candidates.params[0] - params).abs().max() <= 0.5 / QUANT + 1e-7
    assert main(["index", "--data", str(tmp_path / "nope.h5"), "--out", str(tmp_path / "x")]) != 0
    assert main(["index", "--data", str(data), "--out", str(tmp_path / "y"), "--components", "50"]) == 2
    assert "needs at least as many rows" in capsys.readouterr().err
