"""What the fast render (:mod:`synth.fast_render`) compiles: the voice, and its vector-Jacobian product, as
exportable modules, and :func:`compile_package`, which AOT-compiles one of them (AOTInductor) into a ``.pt2``.

Both take fixed ``CHUNK_ROWS``-row inputs (static shapes: one compilation serves every batch, in chunks).
The gradient is exported as a joint forward + backward graph traced by ``aot_export_module``; that needs
every op's backward to be traceable, which is why :mod:`synth.invariant_math` writes the FFTs' backward
passes out.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

from synth.params import NUM_PARAMS
from synth.spectrogram import DEFAULT_CONFIG


@contextmanager
def _quiet():
    """Torch's warnings and log lines during a build (fallback kernels, compiler notes) are for torch's
    developers, not for users: errors still surface as exceptions."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


class _Signal(torch.nn.Module):
    """``forward(params: Tensor[CHUNK_ROWS, 100]) -> Tensor[CHUNK_ROWS, N]``: the voice's signal path."""

    def __init__(self) -> None:
        from synth.voice import Voice

        super().__init__()
        self.voice = Voice()

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self.voice.synthesize(params)


class _Product(torch.nn.Module):
    """``forward(cotangent) -> (sum(voice(self.params) * cotangent),)``: the scalar whose gradient with respect
    to ``self.params`` is the voice's vector-Jacobian product, for ``aot_export_module(trace_joint=True)``."""

    def __init__(self) -> None:
        from synth.voice import CHUNK_ROWS, Voice

        super().__init__()
        self.voice = Voice()
        self.params = torch.nn.Parameter(torch.full((CHUNK_ROWS, NUM_PARAMS), 0.5))

    def forward(self, cotangent: torch.Tensor) -> tuple[torch.Tensor]:
        return ((self.voice.synthesize(self.params) * cotangent).sum(),)


class _VectorJacobian(torch.nn.Module):
    """``forward(params, cotangent) -> Tensor[CHUNK_ROWS, 100]``: the joint graph of :class:`_Product`, with
    its parameter as an input and its buffers as buffers, returning the parameter's gradient."""

    def __init__(self) -> None:
        from torch._functorch.aot_autograd import aot_export_module

        super().__init__()
        product = _Product()
        example = torch.zeros(product.params.shape[0], DEFAULT_CONFIG.num_samples)
        self.joint, signature = aot_export_module(product, (example,), trace_joint=True, output_loss_index=0)
        buffers = dict(product.named_buffers())
        self.buffer_names = [f"b{i}" for i in range(len(signature.buffers))]
        for name, source in zip(self.buffer_names, signature.buffers):
            self.register_buffer(name, buffers[source])
        outputs = [node.name for node in self.joint.graph.find_nodes(op="output")[0].args[0]]
        self.gradient_index = outputs.index(next(iter(signature.backward_signature.gradients_to_parameters)))

    def forward(self, params: torch.Tensor, cotangent: torch.Tensor) -> torch.Tensor:
        buffers = [getattr(self, name) for name in self.buffer_names]
        return self.joint(params, *buffers, cotangent)[self.gradient_index]


def compile_package(path: Path, kind: str = "voice") -> None:
    """Export library ``kind`` (``voice`` or ``vjp``) for ``CHUNK_ROWS`` rows of float32 input and AOT-compile
    it to ``path``."""
    from synth.voice import CHUNK_ROWS

    params = torch.full((CHUNK_ROWS, NUM_PARAMS), 0.5)
    with _quiet():
        if kind == "voice":
            module, inputs = _Signal().eval(), (params,)
        else:
            module, inputs = _VectorJacobian(), (params, torch.zeros(CHUNK_ROWS, DEFAULT_CONFIG.num_samples))
        with torch.no_grad():
            exported = torch.export.export(module, inputs)
            torch._inductor.aoti_compile_and_package(exported, package_path=str(path))
