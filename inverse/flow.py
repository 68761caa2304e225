"""A conditional flow-matching sampler over the synth's parameters (rectified flow, as Hayes et al. 2025).

Many parameter sets give one sound, so "which parameters made this?" has a multi-modal answer; a regressor
averages the modes into a sound nobody asked for. A flow instead learns to transport Gaussian noise to the
*distribution* of parameters given the target's encoder latent, and every noise draw lands on one mode.

Representation (:func:`encode_params` / :func:`decode_params`): the 86 continuous parameters as
``2x - 1`` and each discrete parameter as a one-hot block (``+1`` / ``-1``), 201 dimensions, read back by
argmax (discrete) and clamping (continuous). The three interchangeable oscillator slots are put in a
canonical order before training (:func:`canonical_slots`: loudest first), which removes most of the
permutation ambiguity ("responsibility problem") from what the flow must learn; the sampler's symmetry
expansion gives the other orders back.

Network (:class:`FlowNet`): an MLP of residual blocks on ``[x_t, time embedding, condition]``; the condition
is the backbone's pooled latent (``Tensor[B, latent_dim]``) through a linear layer, replaced by a learned
"no condition" vector for ``cfg_dropout`` of training rows, so sampling can use classifier-free guidance.
The network predicts the clean parameters ``x1`` (not the velocity): the velocity of the straight path is
then ``(x1_hat - x_t) / (1 - t)``. A velocity network would have to carry the 201-dimensional noise through
its hidden layer (``v = x1 - x0``); in a test an MLP of width 128 learned nothing of a two-mode problem that
the ``x1`` form learns in a few hundred steps. Guidance acts on the prediction, ``x1_uncond + guidance
(x1_cond - x1_uncond)``. Sampling integrates the ODE with ``steps`` Euler steps from seeded noise: same
seed, same candidates.

Checkpoints: ``NAME.safetensors`` + ``NAME.json`` (:func:`save_flow` / :func:`load_flow`; never pickled), with
the config, SYNTH_VERSION, the prior version and fingerprint of the training data, and the SHA-256 of the
backbone checkpoint whose latents it was trained on (loading it with another backbone is refused).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from inverse.checkpoint import module_tensors, paths, write_pair
from synth.errors import InputError
from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES, NUM_PARAMS, PARAM_INDEX, PARAM_SPECS, SYNTH_VERSION
from synth.symmetry import SLOTS

FORMAT = "inverse-synth-flow"
FORMAT_VERSION = 1
DISCRETE_CHOICES = tuple(PARAM_SPECS[i].choices for i in DISCRETE_INDICES)
FLOW_DIM = len(CONTINUOUS_INDICES) + sum(DISCRETE_CHOICES)  # 86 + 115 = 201


@dataclass(frozen=True)
class FlowConfig:
    latent_dim: int = 256  # the backbone's pooled latent (the condition)
    hidden: int = 512  # width of the residual MLP
    blocks: int = 4  # residual blocks
    time_dim: int = 64  # sinusoidal features of the flow time t in [0, 1]
    cfg_dropout: float = 0.1  # share of training rows that see the "no condition" vector (for guidance)
    guidance: float = 2.0  # classifier-free guidance scale at sampling (Hayes et al. used 2.0)
    steps: int = 32  # Euler steps from noise (t = 0) to parameters (t = 1)

    @classmethod
    def from_json(cls, data: dict) -> FlowConfig:
        return cls(**data)


def canonical_slots(params: torch.Tensor) -> torch.Tensor:
    """``Tensor[B, 100]`` with the three oscillator slots reordered loudest first (ties: lower slot first)."""
    levels = params[:, [PARAM_INDEX[f"osc{i}_level"] for i in (1, 2, 3)]]
    order = torch.argsort(-levels, dim=1, stable=True)  # (B, 3): source slot for each canonical slot
    out = params.clone()
    for k in range(3):
        source = SLOTS.to(params.device)[order[:, k]]  # (B, 10) indices of the source slot's parameters
        out[:, SLOTS[k]] = params.gather(1, source)
    return out


def encode_params(params: torch.Tensor) -> torch.Tensor:
    """Normalised ``Tensor[B, 100]`` -> flow space ``Tensor[B, 201]`` in [-1, 1]."""
    parts = [2 * params[:, list(CONTINUOUS_INDICES)] - 1]
    for index, choices in zip(DISCRETE_INDICES, DISCRETE_CHOICES):
        k = torch.clamp((params[:, index] * choices).floor(), 0, choices - 1).long()
        parts.append(2 * torch.nn.functional.one_hot(k, choices).to(params.dtype) - 1)
    return torch.cat(parts, dim=1)


def decode_params(x: torch.Tensor) -> torch.Tensor:
    """Flow space ``Tensor[B, 201]`` -> normalised ``Tensor[B, 100]`` (argmax per discrete block; discrete
    values at the centre of their bin)."""
    out = torch.empty(x.shape[0], NUM_PARAMS, dtype=x.dtype)
    n = len(CONTINUOUS_INDICES)
    out[:, list(CONTINUOUS_INDICES)] = ((x[:, :n] + 1) / 2).clamp(0.0, 1.0)
    for index, block in zip(DISCRETE_INDICES, x[:, n:].split(DISCRETE_CHOICES, dim=1)):
        out[:, index] = (block.argmax(dim=1).to(x.dtype) + 0.5) / block.shape[1]
    return out


def _time_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of ``t`` ``Tensor[B]`` in [0, 1]: ``Tensor[B, dim]``."""
    frequencies = torch.exp(torch.linspace(0, math.log(1000.0), dim // 2, device=t.device))
    angles = t[:, None] * frequencies[None] * math.pi
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class _Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.net(h)


class FlowNet(nn.Module):
    """``forward(x_t: Tensor[B, 201], t: Tensor[B], latent: Tensor[B, L] | None) -> Tensor[B, 201]``, the
    predicted clean point ``x1`` of the path through ``x_t`` (``latent`` None, or rows where ``drop`` is True,
    use the learned "no condition" vector)."""

    def __init__(self, config: FlowConfig | None = None):
        super().__init__()
        self.config = config = config or FlowConfig()
        self.condition = nn.Linear(config.latent_dim, config.hidden)
        self.no_condition = nn.Parameter(torch.zeros(config.hidden))
        self.inp = nn.Linear(FLOW_DIM + config.time_dim, config.hidden)
        self.blocks = nn.Sequential(*[_Block(config.hidden) for _ in range(config.blocks)])
        self.out = nn.Sequential(nn.LayerNorm(config.hidden), nn.Linear(config.hidden, FLOW_DIM))

    def forward(self, x: torch.Tensor, t: torch.Tensor, latent: torch.Tensor | None,
                drop: torch.Tensor | None = None) -> torch.Tensor:
        if latent is None:
            cond = self.no_condition.expand(x.shape[0], -1)
        else:
            cond = self.condition(latent)
            if drop is not None:
                cond = torch.where(drop[:, None], self.no_condition.expand_as(cond), cond)
        h = self.inp(torch.cat([x, _time_features(t, self.config.time_dim)], dim=1)) + cond
        return self.out(self.blocks(h))

    @torch.no_grad()
    def sample(self, latent: torch.Tensor, count: int, seed: int = 0, guidance: float | None = None,
               steps: int | None = None) -> torch.Tensor:
        """``count`` parameter sets for one latent ``Tensor[L]``: normalised ``Tensor[count, 100]`` (canonical
        slot order). Deterministic per ``seed``."""
        guidance = self.config.guidance if guidance is None else guidance
        steps = steps or self.config.steps
        device = latent.device
        x = torch.randn(count, FLOW_DIM, generator=torch.Generator().manual_seed(seed)).to(device)
        cond = latent[None].expand(count, -1)
        for k in range(steps):
            t = k / steps
            times = torch.full((count,), t, device=device)
            clean = self(x, times, cond)
            if guidance != 1.0:
                unconditioned = self(x, times, None)
                clean = unconditioned + guidance * (clean - unconditioned)
            x = x + (clean - x) / (1.0 - t) / steps  # Euler step along v = (x1_hat - x_t) / (1 - t)
        return decode_params(x.cpu())


def flow_loss(net: FlowNet, target_x: torch.Tensor, latent: torch.Tensor, generator: torch.Generator,
              pair: bool = True) -> torch.Tensor:
    """Rectified-flow loss on a batch: noise ``x0`` paired with the targets ``x1`` (``Tensor[B, 201]``) by
    minibatch optimal transport (Hungarian matching on squared distance) when ``pair``, ``x_t = (1-t) x0 + t
    x1``, loss ``|net(x_t, t, latent) - x1|^2`` averaged (the network predicts ``x1``); ``cfg_dropout`` of rows
    unconditioned."""
    batch = target_x.shape[0]
    noise = torch.randn(batch, FLOW_DIM, generator=generator).to(target_x.device)
    if pair and batch > 1:
        from scipy.optimize import linear_sum_assignment

        cost = torch.cdist(noise.float().cpu(), target_x.float().cpu()).pow(2).numpy()
        rows, cols = linear_sum_assignment(cost)
        noise = noise[torch.as_tensor(rows)][torch.argsort(torch.as_tensor(cols))]
    t = torch.rand(batch, generator=generator).to(target_x.device)
    drop = (torch.rand(batch, generator=generator) < net.config.cfg_dropout).to(target_x.device)
    x_t = (1 - t[:, None]) * noise + t[:, None] * target_x
    return (net(x_t, t, latent, drop) - target_x).pow(2).mean()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def save_flow(net: FlowNet, path: str | Path, *, backbone_sha256: str, data: dict, metrics: dict,
              half: bool = False) -> Path:
    """Write ``path.safetensors`` + ``path.json`` atomically (:func:`inverse.checkpoint.write_pair`); ``half``
    stores the weights as float16 (:func:`inverse.checkpoint.module_tensors`)."""
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "flow_config": asdict(net.config),
            "synth_version": SYNTH_VERSION, "backbone_sha256": backbone_sha256, "data": data, "metrics": metrics}
    return write_pair(path, module_tensors(net, half), info)


def load_flow(path: str | Path, backbone_weights: str | Path | None = None) -> tuple[FlowNet, dict]:
    """Load a flow checkpoint (never unpickles); with ``backbone_weights`` (a ``.safetensors`` file), refuse a
    flow trained on another backbone's latents."""
    weights, meta = paths(path)
    if not weights.is_file() or not meta.is_file():
        raise InputError(f"{path}: expected a flow checkpoint ({weights.name} and {meta.name}), not found")
    try:
        info = json.loads(meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{meta}: not valid flow checkpoint JSON ({error.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{meta}: not a flow checkpoint of format {FORMAT} v{FORMAT_VERSION}")
    if info.get("synth_version") != SYNTH_VERSION:
        raise InputError(f"{meta}: trained for synth version {info.get('synth_version')}, this synth is "
                         f"{SYNTH_VERSION}; retrain it (`inverse train-flow`)")
    if backbone_weights is not None and info.get("backbone_sha256") != file_sha256(Path(backbone_weights)):
        raise InputError(f"{meta}: trained on the latents of another backbone than {backbone_weights}; "
                         "retrain it on this model (`inverse train-flow --model ...`)")
    try:
        net = FlowNet(FlowConfig.from_json(info["flow_config"]))
        net.load_state_dict(load_file(str(weights)), strict=True)
    except (SafetensorError, KeyError, TypeError, ValueError, RuntimeError) as error:
        raise InputError(f"{weights}: weights do not fit the flow config ({str(error).splitlines()[0]})") from None
    return net.eval(), info

