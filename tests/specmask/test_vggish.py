"""VGGish perceptual network: torchvggish's state-dict layout, VGGish's log-mel front end, the safetensors
loader's refusals (no download, no unpickling) and gradients to the input audio."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from specmask.vggish import (
    MIN_SAMPLES,
    LogMelExamples,
    VGGish,
    load_vggish,
    save_vggish,
)
from synth.errors import InputError

# torchvggish's VGG state dict (torchvggish/vggish.py: make_layers + embeddings), which the official
# vggish-10086976.pth loads into strictly.
TORCHVGGISH_SHAPES = {
    "features.0.weight": (64, 1, 3, 3), "features.0.bias": (64,),
    "features.3.weight": (128, 64, 3, 3), "features.3.bias": (128,),
    "features.6.weight": (256, 128, 3, 3), "features.6.bias": (256,),
    "features.8.weight": (256, 256, 3, 3), "features.8.bias": (256,),
    "features.11.weight": (512, 256, 3, 3), "features.11.bias": (512,),
    "features.13.weight": (512, 512, 3, 3), "features.13.bias": (512,),
    "embeddings.0.weight": (4096, 12288), "embeddings.0.bias": (4096,),
    "embeddings.2.weight": (4096, 4096), "embeddings.2.bias": (4096,),
    "embeddings.4.weight": (128, 4096), "embeddings.4.bias": (128,),
}


@pytest.fixture(scope="module")
def model() -> VGGish:
    torch.manual_seed(0)
    return VGGish().eval()


@pytest.fixture(scope="module")
def weights(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


@pytest.fixture(scope="module")
def loaded(model, tmp_path_factory) -> VGGish:
    return load_vggish(save_vggish(model, tmp_path_factory.mktemp("weights") / "vggish.safetensors"))


def _audio(batch: int, seconds: float, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(batch, int(seconds * 16000), generator=generator)


def _reference_log_mel(signal: np.ndarray) -> np.ndarray:
    """VGGish's mel_features.log_mel_spectrogram (16 kHz, 25 ms / 10 ms, 64 bands 125-7500 Hz) in numpy."""
    num_frames = 1 + (len(signal) - 400) // 160
    frames = np.stack([signal[i * 160:i * 160 + 400] for i in range(num_frames)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi / 400 * np.arange(400))
    spectrogram = np.abs(np.fft.rfft(frames * window, 512))
    to_mel = lambda hz: 1127.0 * np.log(1.0 + hz / 700.0)
    bins_mel = to_mel(np.linspace(0.0, 8000.0, 257))
    edges = np.linspace(to_mel(125.0), to_mel(7500.0), 66)
    matrix = np.empty((257, 64))
    for i in range(64):
        lower, center, upper = edges[i:i + 3]
        matrix[:, i] = np.maximum(0.0, np.minimum((bins_mel - lower) / (center - lower),
                                                  (upper - bins_mel) / (upper - center)))
    matrix[0, :] = 0.0
    return np.log(spectrogram @ matrix + 0.01)


def test_state_dict_is_torchvggish(model):
    assert {name: tuple(t.shape) for name, t in model.state_dict().items()} == TORCHVGGISH_SHAPES
    assert list(model.state_dict()) == list(TORCHVGGISH_SHAPES)  # same order too: no front-end buffers


def test_front_end_matches_vggish_mel_features():
    audio = _audio(1, 1.3, seed=3)
    ours = LogMelExamples().log_mel(audio)[0].double().numpy()
    reference = _reference_log_mel(audio[0].double().numpy())
    assert ours.shape == reference.shape == (1 + (len(audio[0]) - 400) // 160, 64)
    assert np.abs(ours - reference).max() < 1e-4


def test_examples_are_non_overlapping_96_frame_patches():
    front_end = LogMelExamples()
    audio = _audio(2, 2.0)
    examples = front_end(audio)
    log_mel = front_end.log_mel(audio)
    assert examples.shape == (4, 1, 96, 64)
    assert torch.equal(examples[1, 0], log_mel[0, 96:192]) and torch.equal(examples[2, 0], log_mel[1, :96])
    short = front_end(audio[:, :8000])  # 0.5 s: zero-padded to one example
    assert short.shape == (2, 1, 96, 64)
    assert torch.equal(short, front_end(torch.nn.functional.pad(audio[:, :8000], (0, MIN_SAMPLES - 8000))))
    assert [LogMelExamples.num_examples(n) for n in (1, MIN_SAMPLES, 2 * MIN_SAMPLES - 400, 65408)] == [1, 1, 1, 4]


def test_shapes_and_torchvggish_flatten_order(model):
    audio = _audio(2, 2.0)
    with torch.no_grad():
        embeddings = model(audio)
        maps = model.feature_maps(audio)
        x = last = model.features(model.log_mel(audio))  # torchvggish's VGG.forward, verbatim
        x = torch.transpose(x, 1, 3)
        x = torch.transpose(x, 1, 2)
        x = x.contiguous().view(x.size(0), -1)
        reference = model.embeddings(x)
    assert embeddings.shape == (2, 2, 128)
    assert torch.equal(embeddings.reshape(4, 128), reference)
    assert [tuple(m.shape) for m in maps] == [(4, 64, 48, 32), (4, 128, 24, 16), (4, 256, 12, 8), (4, 512, 6, 4)]
    assert torch.equal(maps[-1], last)


def test_save_load_round_trip_is_bit_identical_and_frozen(model, loaded):
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    audio = _audio(2, 1.5)
    with torch.no_grad():
        assert torch.equal(loaded(audio), model(audio))
        assert all(torch.equal(a, b) for a, b in zip(loaded.feature_maps(audio), model.feature_maps(audio)))


def test_gradient_reaches_the_input_audio(loaded):
    clean, noisy = _audio(1, 1.0, seed=4), _audio(1, 1.0, seed=5).requires_grad_()
    with torch.no_grad():
        target = loaded.feature_maps(clean)
    loss = sum((a - b).abs().mean() for a, b in zip(loaded.feature_maps(noisy), target))
    loss.backward()
    assert noisy.grad is not None and torch.isfinite(noisy.grad).all() and noisy.grad.abs().sum() > 0
    assert all(p.grad is None for p in loaded.parameters())


def test_postprocessor_keys_of_a_whole_hub_model_are_ignored(weights, tmp_path):
    path = tmp_path / "hub.safetensors"
    save_file({**weights, "pproc.pca_matrix": torch.eye(128), "pproc.pca_means": torch.zeros(128, 1)}, str(path))
    assert torch.equal(load_vggish(path).embeddings[4].bias, weights["embeddings.4.bias"])


def test_refuses_a_pickled_pth_without_unpickling(weights, tmp_path, monkeypatch):
    path = tmp_path / "vggish-10086976.pth"
    torch.save({"features.0.weight": weights["features.0.weight"]}, path)
    monkeypatch.setattr("pickle.Unpickler", None)  # any attempt to unpickle would fail differently
    monkeypatch.setattr(torch, "load", None)
    with pytest.raises(InputError, match=r"pickled PyTorch file.*expected a safetensors file; convert the official"):
        load_vggish(path)


@pytest.mark.parametrize("content", [b"", b"not weights at all", b"\xff" * 64])
def test_refuses_other_non_safetensors_files(content, tmp_path):
    path = tmp_path / "vggish.safetensors"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a safetensors file"):
        load_vggish(path)


def test_refuses_missing_and_unexpected_tensors(weights, tmp_path):
    path = tmp_path / "partial.safetensors"
    save_file({k: v for k, v in weights.items() if k != "embeddings.0.weight"}, str(path))
    with pytest.raises(InputError, match=r"1 of 18 tensors missing: embeddings\.0\.weight$"):
        load_vggish(path)
    save_file({**weights, "classifier.weight": torch.zeros(527, 128)}, str(path))
    with pytest.raises(InputError, match=r"unexpected tensors: classifier\.weight$"):
        load_vggish(path)


def test_refuses_a_wrong_shape(weights, tmp_path):
    path = tmp_path / "wrong.safetensors"
    save_file({**weights, "features.13.weight": torch.zeros(512, 512, 1, 1)}, str(path))
    with pytest.raises(InputError, match=r"features\.13\.weight has shape \(512, 512, 1, 1\), VGGish expects "
                                         r"\(512, 512, 3, 3\)"):
        load_vggish(path)


def test_refuses_a_missing_path(tmp_path):
    with pytest.raises(InputError, match="vggish.safetensors: VGGish weights not found"):
        load_vggish(tmp_path / "vggish.safetensors")
