"""VGGish (Hershey et al. 2017, "CNN architectures for large-scale audio classification"): the AudioSet audio
embedding network, here an optional frozen perceptual-loss network for the mask model.

The layers and parameter names are those of torchvggish's ``VGG`` (github.com/harritaylor/torchvggish,
``torchvggish/vggish.py``), so its converted official weights load unchanged: 18 tensors,
``features.{0,3,6,8,11,13}.{weight,bias}`` (3x3 convolutions) and ``embeddings.{0,2,4}.{weight,bias}``
(fully connected). The log-mel front end is VGGish's own (``mel_features.py``), written in torch so that it
is differentiable: a perceptual loss needs d loss / d audio.

Weights are never downloaded and never unpickled here. Convert the official torchvggish file
(``vggish-10086976.pth`` from the torchvggish v0.1 release) ONCE, in your own trusted environment::

    import torch
    from safetensors.torch import save_file

    state = torch.load("vggish-10086976.pth", map_location="cpu", weights_only=True)
    save_file({name: tensor.contiguous() for name, tensor in state.items() if not name.startswith("pproc.")},
              "vggish.safetensors")

then ``load_vggish("vggish.safetensors")``. The PCA whitening and 8-bit quantisation of the released AudioSet
embeddings (torchvggish's ``Postprocessor``, ``vggish_pca_params-970ea276.pth``, keys ``pproc.*``) are not
used: the perceptual loss compares feature maps and raw embeddings.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from synth.errors import InputError

SAMPLE_RATE = 16000  # Hz; VGGish's only input rate
WINDOW_SAMPLES = 400  # 25 ms periodic Hann window
HOP_SAMPLES = 160  # 10 ms
FFT_SIZE = 512  # next power of two above the window; 257 bins
NUM_MEL_BANDS = 64
MEL_LOW_HZ, MEL_HIGH_HZ = 125.0, 7500.0
LOG_OFFSET = 0.01  # log(mel + 0.01): VGGish's floor against log(0)
EXAMPLE_FRAMES = 96  # 0.96 s of 10 ms frames per example, examples do not overlap
EMBEDDING_SIZE = 128
MIN_SAMPLES = WINDOW_SAMPLES + (EXAMPLE_FRAMES - 1) * HOP_SAMPLES  # 15600 (0.975 s): one full example

# (name, shape) of every tensor in torchvggish's state dict, in its order.
EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {
    "features.0.weight": (64, 1, 3, 3), "features.0.bias": (64,),
    "features.3.weight": (128, 64, 3, 3), "features.3.bias": (128,),
    "features.6.weight": (256, 128, 3, 3), "features.6.bias": (256,),
    "features.8.weight": (256, 256, 3, 3), "features.8.bias": (256,),
    "features.11.weight": (512, 256, 3, 3), "features.11.bias": (512,),
    "features.13.weight": (512, 512, 3, 3), "features.13.bias": (512,),
    "embeddings.0.weight": (4096, 512 * 4 * 6), "embeddings.0.bias": (4096,),
    "embeddings.2.weight": (4096, 4096), "embeddings.2.bias": (4096,),
    "embeddings.4.weight": (EMBEDDING_SIZE, 4096), "embeddings.4.bias": (EMBEDDING_SIZE,),
}
# torchvggish's PCA postprocessor; present when a whole hub model's state dict was converted. Not used.
_IGNORED_KEYS = frozenset({"pproc.pca_matrix", "pproc.pca_means"})
_CONVERT_HINT = "convert the official VGGish weights with the documented snippet (see specmask/vggish.py)"


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale: ``1127 ln(1 + f / 700)``."""
    return 1127.0 * torch.log1p(hz / 700.0)


def vggish_mel_matrix() -> torch.Tensor:
    """VGGish's mel filterbank ``Tensor[257, 64]`` (spectrogram bin x band), as ``mel_features.py`` builds it:
    triangles linear in mel (not Hz) between 66 mel-spaced edges from 125 to 7500 Hz, DC bin weight 0."""
    bins_mel = _hz_to_mel(torch.linspace(0.0, SAMPLE_RATE / 2, FFT_SIZE // 2 + 1, dtype=torch.float64))
    edges = torch.linspace(float(_hz_to_mel(torch.tensor(MEL_LOW_HZ, dtype=torch.float64))),
                           float(_hz_to_mel(torch.tensor(MEL_HIGH_HZ, dtype=torch.float64))),
                           NUM_MEL_BANDS + 2, dtype=torch.float64)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights[0] = 0.0
    return weights.float()


class LogMelExamples(nn.Module):
    """Audio -> VGGish input examples: log(|STFT| mel + 0.01) cut into non-overlapping 96-frame patches.

    Frames are not centred (frame t covers samples ``[160 t, 160 t + 400)``) and an incomplete example at the
    end is dropped, both as in VGGish; audio shorter than ``MIN_SAMPLES`` (0.975 s) is zero-padded to one
    example. Window and filterbank are non-persistent buffers, so they follow ``.to()`` and stay out of the
    state dict.
    """

    window: torch.Tensor
    mel_matrix: torch.Tensor

    def __init__(self):
        super().__init__()
        self.register_buffer("window", torch.hann_window(WINDOW_SAMPLES, periodic=True), persistent=False)
        self.register_buffer("mel_matrix", vggish_mel_matrix(), persistent=False)

    @staticmethod
    def num_examples(num_samples: int) -> int:
        """How many examples ``num_samples`` of audio give (at least 1)."""
        num_frames = 1 + (max(num_samples, MIN_SAMPLES) - WINDOW_SAMPLES) // HOP_SAMPLES
        return num_frames // EXAMPLE_FRAMES

    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """``Tensor[B, N]`` audio at 16 kHz (N >= 400) -> ``Tensor[B, T, 64]`` natural-log mel magnitudes,
        ``T = 1 + (N - 400) // 160`` frames of 10 ms."""
        frames = audio.to(self.window.dtype).unfold(-1, WINDOW_SAMPLES, HOP_SAMPLES) * self.window
        magnitude = torch.fft.rfft(frames, n=FFT_SIZE).abs()  # zero-padded at the end, as np.fft.rfft
        return torch.log(magnitude @ self.mel_matrix + LOG_OFFSET)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``Tensor[B, N]`` mono audio at 16 kHz -> ``Tensor[B * K, 1, 96, 64]`` examples (frames x bands),
        ``K = num_examples(N)``; rows ``b * K .. b * K + K - 1`` are row b's examples in time order."""
        if audio.dim() != 2:
            raise ValueError(f"expected audio Tensor[B, N] at {SAMPLE_RATE} Hz, got shape {tuple(audio.shape)}")
        if audio.shape[-1] < MIN_SAMPLES:
            audio = F.pad(audio, (0, MIN_SAMPLES - audio.shape[-1]))
        log_mel = self.log_mel(audio)
        count = log_mel.shape[1] // EXAMPLE_FRAMES
        return log_mel[:, :count * EXAMPLE_FRAMES].reshape(-1, 1, EXAMPLE_FRAMES, NUM_MEL_BANDS)


def _conv_stack() -> nn.Sequential:
    """torchvggish's ``make_layers``: indices 0, 3, 6, 8, 11, 13 are the convolutions, 2, 5, 10, 15 the pools."""
    layers: list[nn.Module] = []
    in_channels = 1
    for width in (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool"):
        if width == "pool":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, int(width), kernel_size=3, padding=1), nn.ReLU()]
            in_channels = int(width)
    return nn.Sequential(*layers)


class VGGish(nn.Module):
    """VGGish on raw audio: ``Tensor[B, N]`` at 16 kHz -> embeddings ``Tensor[B, K, 128]`` or the feature maps.

    ``features`` and ``embeddings`` are torchvggish's submodules (its state-dict keys); the front end
    (``log_mel``) has no parameters. A new instance is randomly initialised and trainable; :func:`load_vggish`
    returns a frozen one (no parameter gradients, eval mode) through which gradients still reach the audio.
    """

    def __init__(self):
        super().__init__()
        self.log_mel = LogMelExamples()
        self.features = _conv_stack()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096), nn.ReLU(),
            nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, EMBEDDING_SIZE), nn.ReLU(),
        )

    def feature_maps(self, audio: torch.Tensor) -> list[torch.Tensor]:
        """The four feature maps after each max-pooling stage, for a perceptual loss.

        (Named ``feature_maps`` because ``features`` is torchvggish's convolution stack.)

        Args:
            audio: ``Tensor[B, N]`` mono audio at 16 kHz, nominally in [-1, 1].

        Returns:
            ``[Tensor[B*K, 64, 48, 32], Tensor[B*K, 128, 24, 16], Tensor[B*K, 256, 12, 8],
            Tensor[B*K, 512, 6, 4]]`` (example, channel, time, mel band), post-ReLU, ``K`` examples of
            0.96 s per row as in :class:`LogMelExamples`.
        """
        x = self.log_mel(audio)
        maps = []
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.MaxPool2d):
                maps.append(x)
        return maps

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``Tensor[B, N]`` mono audio at 16 kHz -> ``Tensor[B, K, 128]`` (post-ReLU, no PCA) embeddings, one
        per 0.96 s example, ``K = LogMelExamples.num_examples(N)``."""
        batch = audio.shape[0]
        x = self.features(self.log_mel(audio))
        # torchvggish (and the TF original) flatten channels-last: (time, band, channel) order.
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return self.embeddings(x).reshape(batch, -1, EMBEDDING_SIZE)


def save_vggish(model: VGGish, path: str | Path) -> Path:
    """Write the model's 18 weight tensors to ``path`` (safetensors, atomically); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "vggish"})
    tmp.replace(path)
    return path


def _names(names: set[str]) -> str:
    """A few names, sorted, for a one-line message."""
    shown = sorted(names)
    return ", ".join(shown[:3]) + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else "")


def _refuse_non_safetensors(path: Path) -> None:
    """Check the safetensors framing (8-byte little-endian header length, then a JSON object) and name the
    likely mistake, a pickled ``.pth``, from the first bytes, without unpickling anything."""
    with path.open("rb") as file:
        head = file.read(9)
    header_length = int.from_bytes(head[:8], "little")
    if len(head) == 9 and head[8:9] == b"{" and header_length <= path.stat().st_size - 8:
        return
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch.save's zip or legacy pickle format
        raise InputError(f"{path}: this is a pickled PyTorch file (.pth), expected a safetensors file; "
                         f"{_CONVERT_HINT}")
    raise InputError(f"{path}: not a safetensors file, expected a safetensors file; {_CONVERT_HINT}")


def load_vggish(path: str | Path, device: str | torch.device = "cpu") -> VGGish:
    """Load VGGish weights from a user-supplied ``.safetensors`` file into a frozen model (``requires_grad``
    off, eval mode) on ``device``. Never downloads, never unpickles.

    Raises:
        InputError: one line, for a missing file, a file that is not safetensors (e.g. a pickled ``.pth``),
            missing or unexpected tensors, or a tensor of the wrong shape or a non-float dtype.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: VGGish weights not found (expected a .safetensors file; {_CONVERT_HINT})")
    _refuse_non_safetensors(path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise InputError(f"{path}: not a readable safetensors file ({first}); {_CONVERT_HINT}") from None
    state = {name: tensor for name, tensor in state.items() if name not in _IGNORED_KEYS}
    missing, unexpected = set(EXPECTED_SHAPES) - set(state), set(state) - set(EXPECTED_SHAPES)
    if missing:
        raise InputError(f"{path}: not VGGish weights, {len(missing)} of {len(EXPECTED_SHAPES)} tensors missing: "
                         f"{_names(missing)}")
    if unexpected:
        raise InputError(f"{path}: not VGGish weights, {len(unexpected)} unexpected tensors: {_names(unexpected)}")
    for name, shape in EXPECTED_SHAPES.items():
        if tuple(state[name].shape) != shape:
            raise InputError(f"{path}: {name} has shape {tuple(state[name].shape)}, VGGish expects {shape}")
        if not state[name].is_floating_point():
            raise InputError(f"{path}: {name} has dtype {state[name].dtype}, expected floating point")
    model = VGGish()
    model.load_state_dict({name: tensor.float() for name, tensor in state.items()}, strict=True)
    return model.requires_grad_(False).eval().to(device)


