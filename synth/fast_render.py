"""The fast render path: the voice compiled ahead of time (AOTInductor) into a per-machine cache.

``torch.compile`` makes the voice ~4x faster but costs ~35 s of tracing and compilation in every new
process. This module compiles the voice's signal path once per machine into a shared library (an
AOTInductor ``.pt2`` package, ~1-2 minutes on 2 cores) and loads it in about a second in any later process.
Two libraries, built on demand: ``voice`` (parameters -> audio) and ``gradient`` (two models: ``forward``,
parameters -> audio and the residuals its backward pass needs, and ``backward``, residuals and a gradient of
the audio -> the gradient of the parameters; split by AOTAutograd's min-cut partitioner,
:func:`synth.aot_compile.gradient_pair`; 3-6 more minutes to build). With both, the fast path is
differentiable (:class:`_Differentiable`): gradient refinement uses it. A forward and backward pass of 16 rows
take about half of eager autograd's time (``benchmarks/gradient_speed.py``) and half of what the library
before it took (a vector-Jacobian product of the joint graph, which ran the forward pass again).

A cache entry is keyed by everything that changes what its library computes or whether it runs here: the
library, ``SYNTH_VERSION``, the code it is traced from (:data:`TRACED_MODULES`, without comments and docstrings:
:func:`source_digest`, so an edited voice is rebuilt even where ``SYNTH_VERSION`` was not raised), the torch
version, the spectrogram config (sample rate, length), the chunk size,
the CPU (architecture, the SIMD level ATen picked, the CPU's feature flags) and the threads its kernels run on
(:func:`synth.aot_compile.build_threads`, fixed at build time whatever ``torch.set_num_threads`` says later). A
directory is named by the key's digest and holds ``meta.json`` (the full key, compared as a whole before use)
and ``compiled.pt2``; an entry whose key differs from this process's is *stale*: it is never loaded, and
:func:`build` replaces it.

Rendering on this path runs rows in fixed chunks of ``CHUNK_ROWS`` (the last one padded with copies of its
first row), like the eager path, so a row's audio does not depend on the batch it came in: bit-identical
across batch sizes and splits on this path; within float tolerance of the eager path, not bit for bit (a
dataset records which path made it). Its gradients agree with the eager path's to ~1 % (float rounding
through the backward pass), and across batch splits bit for bit on most CPUs (to 2.3e-7 of a row's largest on an
AMD EPYC with AVX-512, whose compiled backward rounds some chunk positions differently).

The cache folder is ``$SYNTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/inverse-synth``, else
``~/.cache/inverse-synth``. ``python -m synth fast-render {status,build,clear}`` manages it.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from synth.aot_compile import build_threads, compile_package, kernel_threads
from synth.params import SYNTH_VERSION
from synth.spectrogram import DEFAULT_CONFIG

FORMAT = "inverse-synth fast render 1"
PACKAGE = "compiled.pt2"
META = "meta.json"
KINDS = ("voice", "gradient")
RETIRED_KINDS = ("vjp",)  # libraries of earlier versions: never loaded, removed by clear()
#: Render paths: ``eager`` (PyTorch ops, differentiable), ``fast`` (this module; built on first use),
#: ``auto`` (``fast`` when already built for this machine, else ``eager``; never builds).
RENDER_PATHS = ("eager", "fast", "auto")


#: The modules a library is traced from: every ``synth`` module that importing :mod:`synth.voice` and
#: :mod:`synth.aot_compile` loads (``tests/synth/test_fast_render.py`` keeps the list complete).
TRACED_MODULES = ("synth.aot_compile", "synth.control", "synth.effects", "synth.errors", "synth.filters",
                  "synth.invariant_math", "synth.oscillators", "synth.params", "synth.spectrogram", "synth.tables",
                  "synth.voice")


def source_digest(sources: list[str]) -> str:
    """Digest of Python sources as code: their syntax trees without docstrings (comments are not in them), so
    editing a comment or a docstring keeps a cache entry and editing code makes it stale."""
    digest = hashlib.sha256()
    for source in sources:
        tree = ast.parse(source)
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                    and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        digest.update(ast.dump(tree).encode())
    return digest.hexdigest()[:16]


SOURCE_MEMO = "source-digests.json"  # in the cache folder: {digest of the sources' text: source_digest}
MEMO_ENTRIES = 16


@lru_cache(maxsize=1)
def _traced_source() -> str:
    """:func:`source_digest` of :data:`TRACED_MODULES` as this process would import them (read, not imported); a
    module installed without its ``.py`` source counts by its file's bytes.

    Parsing the modules takes ~0.1 s, which every command that renders would pay at start-up for a value that
    changes only with the files, so the result is kept in :data:`SOURCE_MEMO`, keyed by a plain digest of the text
    (a few milliseconds); a missing, unreadable or malformed memo is computed again."""
    sources = []
    for name in TRACED_MODULES:
        origin = Path(importlib.util.find_spec(name).origin)
        if origin.suffix == ".py":
            sources.append(origin.read_text(encoding="utf-8"))
        else:
            sources.append(f"_ = {hashlib.sha256(origin.read_bytes()).hexdigest()!r}")
    text = hashlib.sha256("\0".join(sources).encode()).hexdigest()
    memo_path = cache_root() / SOURCE_MEMO
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if not isinstance(memo, dict):
        memo = {}
    known = memo.get(text)
    if isinstance(known, str) and len(known) == 16 and all(c in "0123456789abcdef" for c in known):
        return known
    digest = source_digest(sources)
    memo = {key: value for key, value in list(memo.items())[-(MEMO_ENTRIES - 1):]} | {text: digest}
    try:  # written under a temporary name and moved into place: a reader never sees half a file
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=memo_path.parent, suffix=".tmp", delete=False) as f:
            f.write(json.dumps(memo, indent=1) + "\n")
        os.replace(f.name, memo_path)
    except OSError:  # a read-only cache folder: computed again next time
        pass
    return digest


def cache_root() -> Path:
    """The folder that holds fast-render entries (see the module docstring)."""
    if os.environ.get("SYNTH_CACHE_DIR"):
        return Path(os.environ["SYNTH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "inverse-synth"


@lru_cache(maxsize=1)
def _cpu_flags() -> str:
    """Digest of the CPU's feature flags (``/proc/cpuinfo``), or of the processor name elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1] for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = platform.processor()
    return hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:16]


def cache_key(kind: str = "voice", threads: int | None = None) -> dict[str, str | int]:
    """Everything the compiled library ``kind`` (one of :data:`KINDS`) depends on, as JSON-ready values; ``threads``:
    its kernels' thread count (default :func:`~synth.aot_compile.build_threads`, what this process builds and
    loads)."""
    from synth.voice import CHUNK_ROWS

    if kind not in KINDS:
        raise ValueError(f"unknown fast-render library {kind!r}; expected one of {', '.join(KINDS)}")
    return {"format": FORMAT, "kind": kind, "synth_version": SYNTH_VERSION, "source": _traced_source(),
            "torch": torch.__version__, "machine": platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_flags": _cpu_flags(), "threads": threads or build_threads(), "chunk_rows": CHUNK_ROWS,
            "sample_rate": DEFAULT_CONFIG.sample_rate, "num_samples": DEFAULT_CONFIG.num_samples}


def entry_dir(kind: str = "voice", threads: int | None = None) -> Path:
    """This process's cache entry for library ``kind`` (``threads``: as :func:`cache_key`):
    ``<cache root>/<kind>-<digest of the key>``."""
    digest = hashlib.sha256(json.dumps(cache_key(kind, threads), sort_keys=True).encode()).hexdigest()[:20]
    return cache_root() / f"{kind}-{digest}"


def state(kind: str = "voice", threads: int | None = None) -> str:
    """``"ready"`` (built for this machine, torch and synth), ``"stale"`` (an entry whose recorded key is not
    this process's: never loaded) or ``"missing"``; ``threads`` as :func:`cache_key`."""
    entry = entry_dir(kind, threads)
    meta = _read_meta(entry)
    if meta is None:
        return "missing" if not entry.exists() else "stale"
    return "ready" if meta.get("key") == cache_key(kind, threads) and (entry / PACKAGE).is_file() else "stale"


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


BUILD_MINUTES = {"voice": "1-2", "gradient": "3-6"}  # on 2 CPU cores


def build(kind: str = "voice", force: bool = False, log: Callable[[str], None] | None = None,
          compiler: Callable[[Path, str], None] | None = None) -> Path:
    """Build this process's cache entry for library ``kind`` unless it is ready (or ``force``): returns the
    entry folder.

    ``log`` gets a line before and after the build (see :data:`BUILD_MINUTES`). A stale entry at the same
    place is replaced. The package is written under a temporary name and moved into place, and
    ``meta.json`` is written last, so an interrupted build leaves nothing that looks ready.
    ``compiler(path, kind)`` writes the package (default :func:`compile_package`).
    """
    entry = entry_dir(kind)
    with _locked(cache_root()):
        if not force and state(kind) == "ready":
            return entry
        if log:
            log(f"building the fast render ({kind}) for this machine into {entry} (once per machine and torch "
                f"version, and again when the synth's code changes; {BUILD_MINUTES[kind]} minutes on 2 cores)...")
        start = time.perf_counter()
        shutil.rmtree(entry, ignore_errors=True)
        entry.mkdir(parents=True)
        with tempfile.TemporaryDirectory(dir=entry) as scratch:
            package = Path(scratch) / PACKAGE
            try:
                with kernel_threads():  # never the thread count of whatever command triggered the build
                    (compiler or compile_package)(package, kind)
            except Exception as error:  # one line that says what failed; the cause stays chained
                first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
                raise RuntimeError(f"could not build the fast render ({kind}) here: {first} (a C++ compiler, "
                                   "g++ or clang, is needed; `--render eager` works without one)") from error
            os.replace(package, entry / PACKAGE)
        seconds = time.perf_counter() - start
        meta = {"key": cache_key(kind), "build_seconds": round(seconds, 1),
                "built": time.strftime("%Y-%m-%d %H:%M:%S %z"), "python": sys.version.split()[0]}
        (entry / META).write_text(json.dumps(meta, indent=2) + "\n")
        _load.cache_clear()
        if log:
            log(f"fast render ({kind}) built in {seconds:.0f} s")
        return entry


def build_one_cpu(force: bool = False, log: Callable[[str], None] | None = None) -> Path:
    """:func:`build` the voice for one thread, the library ``python -m dataset_gen``'s workers load (each is pinned
    to one CPU): this thread, and so the compiler it starts, is pinned to one CPU for the build (~45 s)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        return build("voice", force=force, log=log)
    finally:
        os.sched_setaffinity(0, before)


def _all_entries() -> list[Path]:
    root = cache_root()
    return sorted(e for kind in KINDS + RETIRED_KINDS for e in root.glob(f"{kind}-*")) if root.is_dir() else []


def other_entries() -> list[Path]:
    """The entries in the cache folder that this installation would never load: built for another key (an earlier
    torch, synth code or thread count; or another installation sharing the folder) or by an earlier version. The
    voice built for one thread is used here: ``python -m dataset_gen``'s workers, each pinned to one CPU, load it."""
    current = {entry_dir(kind) for kind in KINDS} | {entry_dir("voice", threads=1)}
    return [entry for entry in _all_entries() if entry not in current]


def entries_mib(entries: list[Path]) -> float:
    """Disk space of cache entries in MiB."""
    return sum(f.stat().st_size for entry in entries for f in entry.rglob("*") if f.is_file()) / 2**20


def clear(others_only: bool = False) -> int:
    """Remove every fast-render entry in the cache folder (any key), or with ``others_only`` only
    :func:`other_entries`; returns how many were removed."""
    root = cache_root()
    entries = other_entries() if others_only else _all_entries()
    with _locked(root):
        for entry in entries:
            shutil.rmtree(entry, ignore_errors=True)
    _load.cache_clear()
    return len(entries)


@lru_cache(maxsize=4)
def _load(entry: Path, model: str = "model") -> Callable[..., list[torch.Tensor]]:
    """Model ``model`` of a ready entry's package: ``f(*tensors) -> [Tensor, ...]`` on ``CHUNK_ROWS``-row tensors.

    Called through the package loader directly (~20 ms): ``torch._inductor.aoti_load_package`` first
    re-derives the CPU's SIMD level by compiling and running ten test programs (~25 s on 2 cores), which
    the cache key has already pinned, and its wrapper class imports ``torch.export`` (~2 s).
    """
    package = str(entry / PACKAGE)
    loader_type = getattr(getattr(torch._C, "_aoti", None), "AOTIModelPackageLoader", None)
    if loader_type is None:  # another torch layout: the public (slower) loader
        compiled = torch._inductor.aoti_load_package(package, model_name=model)
        return lambda *tensors: list(compiled(*tensors))
    loader = loader_type(package, model, False, 1, -1)
    return lambda *tensors: loader.boxed_run(list(tensors))


def _chunks(x: torch.Tensor) -> list[tuple[torch.Tensor, int]]:
    """``Tensor[B, ...]`` in ``CHUNK_ROWS``-row chunks, each with its number of real rows (the last one padded
    with copies of its first row, so every chunk has the compiled shape)."""
    from synth.voice import CHUNK_ROWS

    chunks = []
    for chunk in x.split(CHUNK_ROWS):
        rows = chunk.shape[0]
        if rows < CHUNK_ROWS:
            chunk = torch.cat([chunk, chunk[:1].expand(CHUNK_ROWS - rows, *chunk.shape[1:])])
        chunks.append((chunk.contiguous(), rows))
    return chunks


class _Differentiable(torch.autograd.Function):
    """The fast voice with its compiled gradient: the ``gradient`` library's ``forward`` model renders and keeps
    its residuals (~9 MB per row, until the backward pass), its ``backward`` model turns them and the audio's
    gradient into the parameters' gradient. The audio is the ``voice`` library's, bit for bit, on this machine
    (``tests/synth/test_fast_render.py``)."""

    @staticmethod
    def forward(ctx, params: torch.Tensor, gradient: Path) -> torch.Tensor:
        model = _load(gradient, "forward")
        audio, ctx.residuals = [], []
        for chunk, rows in _chunks(params):
            outputs = model(chunk)
            audio.append(outputs[0][:rows])
            ctx.residuals.append(outputs[1:])
        ctx.gradient = gradient
        return torch.cat(audio)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        model = _load(ctx.gradient, "backward")
        chunks = _chunks(grad.to(torch.float32))
        result = torch.cat([model(*residuals, chunk)[0][:rows] for residuals, (chunk, rows)
                            in zip(ctx.residuals, chunks)])
        return result, None


@dataclass(frozen=True)
class FastVoice:
    """A loaded fast render: ``FastVoice.load()(params: Tensor[B, 100]) -> Tensor[B, N]`` float32 audio.

    ``params`` as for :func:`synth.render` (validated there); runs on the CPU. Differentiable when the
    ``gradient`` library is loaded too (``gradient`` is not None).
    """

    voice: Path
    gradient: Path | None = None

    @classmethod
    def load(cls, build_if_needed: bool = False, log: Callable[[str], None] | None = None,
             gradients: bool = False) -> FastVoice:
        """This machine's fast render, with the ``gradient`` library when it is ready or ``gradients`` asks for it.
        With ``build_if_needed`` what is missing is built first; otherwise a missing or stale library raises
        ``FileNotFoundError``."""
        for kind in KINDS if gradients else ("voice",):
            if state(kind) != "ready":
                if not build_if_needed:
                    raise FileNotFoundError(f"the fast render ({kind}) is not built for this machine "
                                            f"({state(kind)}); build it with `python -m synth fast-render build`")
                build(kind, log=log)
        return cls(entry_dir("voice"), entry_dir("gradient") if state("gradient") == "ready" else None)

    def __call__(self, params: torch.Tensor) -> torch.Tensor:
        params = params.to(device="cpu", dtype=torch.float32)
        if params.requires_grad and torch.is_grad_enabled():
            if self.gradient is None:
                raise RuntimeError("the fast render's gradient library is not built (`python -m synth fast-render "
                                   "build`); render on the eager path for gradients")
            return _Differentiable.apply(params, self.gradient)
        with torch.no_grad():
            model = _load(self.voice)
            return torch.cat([model(chunk)[0][:rows] for chunk, rows in _chunks(params)])


def resolve(path: str, log: Callable[[str], None] | None = None, gradients: bool = False) -> str:
    """The render path a request means here: ``auto`` -> ``fast`` when built for this machine (with
    ``gradients``: its ``gradient`` library too), else ``eager``; ``fast`` builds what is missing first (and falls
    back to ``eager``, saying so through ``log``, where this machine cannot build it, e.g. without a C++
    compiler). Raises ``ValueError`` for an unknown path."""
    if path not in RENDER_PATHS:
        raise ValueError(f"unknown render path {path!r}; expected one of {', '.join(RENDER_PATHS)}")
    kinds = KINDS if gradients else ("voice",)
    if path == "auto":
        return "fast" if all(state(kind) == "ready" for kind in kinds) else "eager"
    if path == "fast":
        try:
            for kind in kinds:
                build(kind, log=log)
        except Exception as error:  # noqa: BLE001 - any build failure means: render eagerly, and say why
            if log:
                log(f"{error}; rendering on the eager path")
            return "eager"
    return path
