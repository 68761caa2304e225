"""What the fast render (:mod:`synth.fast_render`) compiles: the voice, and its gradient, as exportable modules,
and :func:`compile_package`, which AOT-compiles a library (AOTInductor) into a ``.pt2`` package.

All take fixed ``CHUNK_ROWS``-row inputs (static shapes: one compilation serves every batch, in chunks).
The gradient is two models: a forward pass that also returns the backward pass's residuals, and that
backward pass, traced by AOTAutograd and split by its min-cut partitioner (:func:`gradient_pair`); tracing
needs every op's backward to be traceable, which is why :mod:`synth.invariant_math` writes the FFTs' backward
passes out.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

from synth.params import NUM_PARAMS
from synth.spectrogram import DEFAULT_CONFIG


def build_threads() -> int:
    """The threads a compiled library's kernels run on: the CPUs this process may use (``os.sched_getaffinity``).

    Inductor writes a fixed count into every parallel kernel (``#pragma omp parallel num_threads(N)``), torch's
    thread setting at build time unless told otherwise, and the kernels keep it whatever the setting later (the
    FFTs between them follow ``torch.set_num_threads``). A build left to torch's setting inherits whatever the
    command that triggered it had set: a gradient library built during a run with one thread was serial for
    good (a forward and backward pass of 16 rows 0.99 s instead of 0.66 s on 2 cores), so builds always take this count,
    and it is part of the cache key."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def kernel_threads():
    """Inductor's kernel thread count set to :func:`build_threads` for a build."""
    import torch._inductor.config as inductor_config

    with inductor_config.patch({"cpp.threads": build_threads()}):
        yield


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


class _Trainable(torch.nn.Module):
    """``forward() -> Tensor[CHUNK_ROWS, N]``: the voice of its own parameter, for tracing the gradient."""

    def __init__(self) -> None:
        from synth.voice import CHUNK_ROWS, Voice

        super().__init__()
        self.voice = Voice()
        self.params = torch.nn.Parameter(torch.full((CHUNK_ROWS, NUM_PARAMS), 0.5))

    def forward(self) -> torch.Tensor:
        return self.voice.synthesize(self.params)


class _Forward(torch.nn.Module):
    """``forward(params) -> (audio, *residuals)``: the voice, also returning what its backward pass needs."""

    def __init__(self, graph: torch.fx.GraphModule, buffers: list[torch.Tensor]) -> None:
        super().__init__()
        self.traced = graph
        self.buffer_names = [f"b{i}" for i in range(len(buffers))]
        for name, buffer in zip(self.buffer_names, buffers):
            self.register_buffer(name, buffer)

    def forward(self, params: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.traced(params, *(getattr(self, name) for name in self.buffer_names)))


class _Backward(torch.nn.Module):
    """``forward(*residuals, cotangent) -> Tensor[CHUNK_ROWS, 100]``: the parameters' gradient."""

    def __init__(self, graph: torch.fx.GraphModule) -> None:
        super().__init__()
        self.traced = graph

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.traced(*inputs)[0]


def gradient_pair() -> tuple[_Forward, _Backward]:
    """The voice's forward and backward passes as two modules (:class:`_Forward`, :class:`_Backward`).

    AOTAutograd traces the joint forward + backward graph and splits it with the min-cut partitioner, as
    ``torch.compile`` does for training: the forward saves what is costly to recompute, and the backward
    recomputes cheap elementwise values instead of reading them back. One forward and one backward then
    cost about half of what a forward plus a vector-Jacobian product of the whole joint graph (which ran the
    forward again) did: 0.67 s against 1.38 s per 16 rows on 2 cores, measured interleaved when it replaced
    it, with the same gradients to float rounding (relative difference 1e-8).
    """
    from functorch.compile import aot_module, min_cut_rematerialization_partition

    graphs = {}

    def keep(name: str):
        def compiler(graph: torch.fx.GraphModule, example_inputs) -> torch.fx.GraphModule:
            graphs[name] = graph
            return graph
        return compiler

    trainable = _Trainable()
    traced = aot_module(trainable, fw_compiler=keep("forward"), bw_compiler=keep("backward"),
                        partition_fn=min_cut_rematerialization_partition)
    with torch.enable_grad():  # also when called under torch.no_grad()
        audio = traced()
        audio.backward(torch.zeros_like(audio))  # traces (and "compiles") the backward graph
    return _Forward(graphs["forward"], [b for _, b in trainable.named_buffers()]), _Backward(graphs["backward"])


def compile_package(path: Path, kind: str = "voice") -> None:
    """AOT-compile library ``kind`` for ``CHUNK_ROWS`` rows of float32 input into the package ``path``: ``voice``
    (one model, ``model``) or ``gradient`` (two models, ``forward`` and ``backward``: :func:`gradient_pair`)."""
    from torch._inductor.package import package_aoti

    from synth.voice import CHUNK_ROWS

    params = torch.full((CHUNK_ROWS, NUM_PARAMS), 0.5)
    with _quiet(), torch.no_grad():
        if kind == "voice":
            torch._inductor.aoti_compile_and_package(torch.export.export(_Signal().eval(), (params,)),
                                                     package_path=str(path))
            return
        forward, backward = gradient_pair()
        residuals = forward(params)[1:]
        cotangent = torch.zeros(CHUNK_ROWS, DEFAULT_CONFIG.num_samples)
        files = {}
        for name, module, inputs in (("forward", forward, (params,)), ("backward", backward, (*residuals, cotangent))):
            exported = torch.export.export(module, inputs)
            files[name] = torch._inductor.aot_compile(exported.module(check_guards=False), inputs,
                                                      options={"aot_inductor.package": True})
        package_aoti(str(path), files)
