"""The fast render path: the voice compiled ahead of time (AOTInductor) into a per-machine cache.

``torch.compile`` makes the voice ~4x faster but costs ~35 s of tracing and compilation in every new
process. This module compiles the voice's signal path once per machine into a shared library (an
AOTInductor ``.pt2`` package, ~1-2 minutes on 2 cores) and loads it in about a second in any later process.

The cache entry is keyed by everything that changes what the library computes or whether it runs here:
``SYNTH_VERSION``, the torch version, the spectrogram config (sample rate, length), the chunk size and the
CPU (architecture, the SIMD level ATen picked, the CPU's feature flags). A directory is named by the key's
digest and holds ``meta.json`` (the full key, checked field by field on load) and ``voice.pt2``; an entry
whose key differs from this process's is *stale*: it is never loaded, and :func:`ensure` rebuilds it.

Rendering on this path runs rows in fixed chunks of ``CHUNK_ROWS`` (the last one padded with copies of its
first row), like the eager path, so a row's audio does not depend on the batch it came in: bit-identical
across batch sizes and splits on this path; within float tolerance of the eager path, not bit for bit (a
dataset records which path made it). No gradients: refinement by gradient stays on the eager path.

The cache folder is ``$SYNTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/inverse-synth``, else
``~/.cache/inverse-synth``. ``python -m synth fast-render {status,build,clear}`` manages it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from synth.params import NUM_PARAMS, SYNTH_VERSION
from synth.spectrogram import DEFAULT_CONFIG

FORMAT = "inverse-synth fast render 1"
PACKAGE = "voice.pt2"
META = "meta.json"
#: Render paths: ``eager`` (PyTorch ops, differentiable), ``fast`` (this module; built on first use),
#: ``auto`` (``fast`` when already built for this machine, else ``eager``; never builds).
RENDER_PATHS = ("eager", "fast", "auto")


def cache_root() -> Path:
    """The folder that holds fast-render entries (see the module docstring)."""
    if os.environ.get("SYNTH_CACHE_DIR"):
        return Path(os.environ["SYNTH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "inverse-synth"


def _cpu_flags() -> str:
    """Digest of the CPU's feature flags (``/proc/cpuinfo``), or of the processor name elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1] for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = platform.processor()
    return hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:16]


def cache_key() -> dict[str, str | int]:
    """Everything the compiled library depends on, as JSON-ready values."""
    from synth.voice import CHUNK_ROWS

    return {"format": FORMAT, "synth_version": SYNTH_VERSION, "torch": torch.__version__,
            "machine": platform.machine(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_flags": _cpu_flags(), "chunk_rows": CHUNK_ROWS, "sample_rate": DEFAULT_CONFIG.sample_rate,
            "num_samples": DEFAULT_CONFIG.num_samples}


def entry_dir(key: dict | None = None) -> Path:
    """The cache entry for ``key`` (default: this process's): ``<cache root>/voice-<digest>``."""
    key = cache_key() if key is None else key
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return cache_root() / f"voice-{digest}"


def state() -> str:
    """``"ready"`` (built for this machine, torch and synth), ``"stale"`` (an entry whose recorded key is not
    this process's: never loaded) or ``"missing"``."""
    entry = entry_dir()
    meta = _read_meta(entry)
    if meta is None:
        return "missing" if not entry.exists() else "stale"
    return "ready" if meta.get("key") == cache_key() and (entry / PACKAGE).is_file() else "stale"


def _read_meta(entry: Path) -> dict | None:
    try:
        meta = json.loads((entry / META).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


@contextmanager
def _locked(root: Path):
    """One build at a time per cache folder (other processes wait)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def compile_package(path: Path) -> None:
    """Export the voice's signal path for ``(CHUNK_ROWS, 100)`` float32 input and AOT-compile it to ``path``."""
    from synth.voice import CHUNK_ROWS, Voice

    class _Signal(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.voice = Voice()

        def forward(self, params: torch.Tensor) -> torch.Tensor:
            return self.voice.synthesize(params)

    example = torch.full((CHUNK_ROWS, NUM_PARAMS), 0.5)
    with torch.no_grad(), _quiet():
        exported = torch.export.export(_Signal().eval(), (example,))
        torch._inductor.aoti_compile_and_package(exported, package_path=str(path))


def build(force: bool = False, log: Callable[[str], None] | None = None,
          compiler: Callable[[Path], None] | None = None) -> Path:
    """Build this process's cache entry unless it is ready (or ``force``): returns the entry folder.

    ``log`` gets a line before and after the build (which takes 1-2 minutes on 2 CPU cores). A stale
    entry at the same place is replaced. The package is written under a temporary name and moved into
    place, and ``meta.json`` is written last, so an interrupted build leaves nothing that looks ready.
    """
    entry = entry_dir()
    with _locked(cache_root()):
        if not force and state() == "ready":
            return entry
        if log:
            log(f"building the fast render for this machine into {entry} (once per machine and torch "
                "version; 1-2 minutes on 2 cores)...")
        start = time.perf_counter()
        shutil.rmtree(entry, ignore_errors=True)
        entry.mkdir(parents=True)
        with tempfile.TemporaryDirectory(dir=entry) as scratch:
            package = Path(scratch) / PACKAGE
            (compiler or compile_package)(package)
            os.replace(package, entry / PACKAGE)
        seconds = time.perf_counter() - start
        meta = {"key": cache_key(), "build_seconds": round(seconds, 1),
                "built": time.strftime("%Y-%m-%d %H:%M:%S %z"), "python": sys.version.split()[0]}
        (entry / META).write_text(json.dumps(meta, indent=2) + "\n")
        _load.cache_clear()
        if log:
            log(f"fast render built in {seconds:.0f} s")
        return entry


def clear() -> int:
    """Remove every fast-render entry in the cache folder (any key); returns how many were removed."""
    root = cache_root()
    entries = sorted(root.glob("voice-*")) if root.is_dir() else []
    with _locked(root):
        for entry in entries:
            shutil.rmtree(entry, ignore_errors=True)
    _load.cache_clear()
    return len(entries)


@lru_cache(maxsize=2)
def _load(entry: Path):
    """The compiled voice of a ready entry (callable ``Tensor[CHUNK_ROWS, 100] -> Tensor[CHUNK_ROWS, N]``).

    Loaded with the package loader directly: ``torch._inductor.aoti_load_package`` first re-derives the
    CPU's SIMD level by compiling and running ten test programs (~25 s on 2 cores), which the cache key
    has already pinned.
    """
    package = str(entry / PACKAGE)
    loader_type = getattr(getattr(torch._C, "_aoti", None), "AOTIModelPackageLoader", None)
    if loader_type is None:  # another torch layout: the public (slower) loader
        return torch._inductor.aoti_load_package(package)
    from torch.export.pt2_archive._package import AOTICompiledModel

    return AOTICompiledModel(loader_type(package, "model", False, 1, -1))


@dataclass(frozen=True)
class FastVoice:
    """A loaded fast render: ``FastVoice.load()(params: Tensor[B, 100]) -> Tensor[B, N]`` float32 audio.

    ``params`` as for :func:`synth.render` (validated there); runs on the CPU, without gradients.
    """

    entry: Path

    @classmethod
    def load(cls, build_if_needed: bool = False, log: Callable[[str], None] | None = None) -> FastVoice:
        """This machine's fast render; builds it first when ``build_if_needed`` (else a stale or missing
        entry raises ``FileNotFoundError``)."""
        if state() != "ready":
            if not build_if_needed:
                raise FileNotFoundError(f"the fast render is not built for this machine ({state()}); "
                                        "build it with `python -m synth fast-render build`")
            build(log=log)
        return cls(entry_dir())

    @torch.no_grad()
    def __call__(self, params: torch.Tensor) -> torch.Tensor:
        from synth.voice import CHUNK_ROWS

        compiled = _load(self.entry)
        params = params.detach().to(device="cpu", dtype=torch.float32)
        outputs = []
        for chunk in params.split(CHUNK_ROWS):
            rows = chunk.shape[0]
            if rows < CHUNK_ROWS:
                chunk = torch.cat([chunk, chunk[:1].expand(CHUNK_ROWS - rows, -1)])
            outputs.append(compiled(chunk.contiguous())[:rows])
        return torch.cat(outputs)


def resolve(path: str, log: Callable[[str], None] | None = None) -> str:
    """The render path a request means here: ``auto`` -> ``fast`` when built for this machine, else
    ``eager``; ``fast`` builds first when needed (and falls back to ``eager``, saying so through ``log``,
    where this machine cannot build it, e.g. without a C++ compiler). Raises ``ValueError`` for an
    unknown path."""
    if path not in RENDER_PATHS:
        raise ValueError(f"unknown render path {path!r}; expected one of {', '.join(RENDER_PATHS)}")
    if path == "auto":
        return "fast" if state() == "ready" else "eager"
    if path == "fast" and state() != "ready":
        try:
            build(log=log)
        except Exception as error:  # noqa: BLE001 - any build failure means: render eagerly, and say why
            if log:
                first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                log(f"the fast render could not be built here ({first[:200]}); rendering on the eager path")
            return "eager"
    return path
