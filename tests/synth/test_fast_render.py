"""The fast (ahead-of-time compiled) render: batch and thread invariance, agreement with the eager path (audio
and gradients), the cache (a stale entry is rebuilt, never loaded; edited synth code makes it stale) and
``python -m synth fast-render``.

The real build lands in this machine's cache (``~/.cache/inverse-synth``) like any user's, so it costs 4-8
minutes (the voice 1-2, its gradient 3-6) once per machine and torch version, and nothing afterwards; the cache
tests use a temporary cache folder and a stand-in compiler, since what they test is the cache's bookkeeping.
"""

import json
import os
import re
import subprocess
import sys
import zipfile
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from synth import fast_render, render
from synth.aot_compile import build_threads
from synth.cli import main
from synth.perceptual import features, mss_distance
from synth.prior import draw

#: The fast path's agreement with the eager path, measured on 64 + 64 prior patches (priors 1 and 2): largest
#: multi-scale log-mel distance 0.0066 (a typical best match is ~0.3), largest audio difference 0.013. The
#: bound leaves room for other CPUs' kernels. Gradients: relative difference 0.4 % on a random cotangent.
MSS_TOLERANCE = 0.02
AUDIO_TOLERANCE = 0.05
GRADIENT_TOLERANCE = 0.05
GRADIENT_SPLIT_TOLERANCE = 1e-5  # per row, relative to its largest gradient: the same gradient across batch splits


@pytest.fixture(scope="module")
def fast() -> fast_render.FastVoice:
    return fast_render.FastVoice.load(build_if_needed=True, gradients=True)


@pytest.fixture(scope="module")
def patches() -> torch.Tensor:
    return torch.cat([draw(21, 0, 12, prior="1"), draw(22, 0, 12, prior="2")])


def test_same_bits_across_batch_splits_and_thread_counts(fast, patches):
    whole = fast(patches)
    assert whole.shape == (24, 65408) and whole.dtype == torch.float32
    assert torch.isfinite(whole).all() and whole.abs().max() <= 1.0
    assert torch.equal(torch.cat([fast(patches[i:i + 1]) for i in range(24)]), whole)
    assert torch.equal(torch.cat([fast(patches[:7]), fast(patches[7:])]), whole)
    before = torch.get_num_threads()
    torch.set_num_threads(1 if before > 1 else 2)
    try:
        assert torch.equal(fast(patches), whole)
    finally:
        torch.set_num_threads(before)


def test_close_to_the_eager_path(fast, patches):
    with torch.no_grad():
        eager = render(patches)
        quick = render(patches, path="fast")
    assert torch.equal(quick, fast(patches))
    assert not torch.equal(quick, eager)  # another path: not bit-identical (that is why files record it)
    assert (quick - eager).abs().max() < AUDIO_TOLERANCE
    assert mss_distance(features(quick), features(eager)).max() < MSS_TOLERANCE


def test_gradients_agree_with_the_eager_path(fast, patches):
    cotangent = torch.randn(5, 65408, generator=torch.Generator().manual_seed(0))
    grads = []
    for path in ("eager", "auto"):  # auto: the fast path, voice and gradient libraries built
        wanted = patches[:5].clone().requires_grad_(True)
        audio = render(wanted, path=path)
        (audio * cotangent).sum().backward()
        grads.append(wanted.grad)
    assert torch.equal(audio.detach(), fast(patches[:5]))
    eager, quick = grads
    assert eager.abs().sum() > 0 and ((quick - eager).norm() / eager.norm()) < GRADIENT_TOLERANCE


def test_gradients_are_the_same_across_batch_splits(fast, patches):
    cotangent = torch.randn(20, 65408, generator=torch.Generator().manual_seed(1))

    def gradient(rows: slice) -> torch.Tensor:
        wanted = patches[rows].clone().requires_grad_(True)
        (fast(wanted) * cotangent[rows]).sum().backward()
        return wanted.grad

    split, whole = torch.cat([gradient(slice(0, 7)), gradient(slice(7, 20))]), gradient(slice(0, 20))
    # Bit for bit on the machines of earlier sessions; on an AMD EPYC with AVX-512 (bf16) the compiled backward rounds
    # a row differently at some positions in its chunk (the forward stays bit for bit): 2.3e-7 of the row's largest.
    assert ((split - whole).abs().amax(dim=1) / whole.abs().amax(dim=1)).max() <= GRADIENT_SPLIT_TOLERANCE


def _fake_compiler(calls: list):
    def compiler(path: Path, kind: str) -> None:
        calls.append(path)
        path.write_bytes(b"not a real package")
    return compiler


def test_a_stale_entry_is_rebuilt_never_loaded(tmp_path, monkeypatch, patches):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))
    calls = []
    assert fast_render.state() == "missing"
    entry = fast_render.build(compiler=_fake_compiler(calls))
    assert len(calls) == 1 and fast_render.state() == "ready" and entry.parent == tmp_path
    fast_render.build(compiler=_fake_compiler(calls))
    assert len(calls) == 1  # ready: not rebuilt
    assert fast_render.resolve("auto") == "fast" and fast_render.resolve("auto", gradients=True) == "eager"

    # The entry now records another torch (as after an upgrade): stale, so never loaded, never used by auto.
    meta = json.loads((entry / fast_render.META).read_text())
    meta["key"]["torch"] = "0.0.1"
    (entry / fast_render.META).write_text(json.dumps(meta))
    assert fast_render.state() == "stale" and fast_render.resolve("auto") == "eager"
    with pytest.raises(FileNotFoundError, match="fast-render build"):
        fast_render.FastVoice.load()
    with torch.no_grad():
        assert torch.equal(render(patches[:2], path="auto"), render(patches[:2]))
    fast_render.build(compiler=_fake_compiler(calls))
    assert len(calls) == 2 and fast_render.state() == "ready"
    assert json.loads((entry / fast_render.META).read_text())["key"] == fast_render.cache_key()

    # Another synth version is another key: another entry, built beside the old one; so is edited synth code.
    monkeypatch.setattr(fast_render, "SYNTH_VERSION", "9.9.9")
    assert fast_render.state() == "missing" and fast_render.entry_dir() != entry
    assert fast_render.resolve("auto") == "eager"
    fast_render.build(compiler=_fake_compiler(calls))
    assert len(calls) == 3 and fast_render.state() == "ready"
    monkeypatch.setattr(fast_render, "_traced_source", lambda: "edited voice")
    assert fast_render.state() == "missing" and fast_render.resolve("auto") == "eager"
    fast_render.build(compiler=_fake_compiler(calls))
    assert len(calls) == 4 and fast_render.state() == "ready"
    # the two earlier builds are never loaded here: `clear --others` removes them and keeps this one
    others = fast_render.other_entries()
    assert len(others) == 2 and entry in others and fast_render.entry_dir() not in others
    assert fast_render.entries_mib(others) > 0
    assert main(["fast-render", "clear", "--others", "--json"]) == 0
    assert fast_render.state() == "ready" and fast_render.other_entries() == []
    assert fast_render.clear() == 1 and fast_render.state() == "missing"


def test_the_one_cpu_voice_of_dataset_workers_is_built_pinned_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))
    import torch._inductor.config as inductor_config

    threads, cpus = [], os.sched_getaffinity(0)

    def compiler(path: Path, kind: str) -> None:
        threads.append((inductor_config.cpp.threads, len(os.sched_getaffinity(0))))
        path.write_bytes(b"not a real package")

    monkeypatch.setattr(fast_render, "compile_package", compiler)
    one_cpu = fast_render.build_one_cpu()
    assert threads == [(1, 1)] and os.sched_getaffinity(0) == cpus  # built on one CPU, then unpinned
    assert one_cpu == fast_render.entry_dir("voice", threads=1) and fast_render.state("voice", threads=1) == "ready"
    assert json.loads((one_cpu / fast_render.META).read_text())["key"]["threads"] == 1
    assert (one_cpu == fast_render.entry_dir()) == (build_threads() == 1)
    assert fast_render.other_entries() == []  # `fast-render clear --others` keeps it


def test_the_key_follows_the_traced_code_not_its_comments_or_docstrings():
    code = 'def f(x):\n    """Doubles."""\n    return 2 * x  # twice\n'
    assert fast_render.source_digest([code]) == fast_render.source_digest(["def f(x):\n    return 2 * x\n"])
    assert fast_render.source_digest([code]) != fast_render.source_digest(["def f(x):\n    return 3 * x\n"])
    assert fast_render.source_digest([code]) != fast_render.source_digest(['def f(x):\n    return "2 * x"\n'])
    assert fast_render.cache_key()["source"] == fast_render.source_digest(
        [Path(find_spec(name).origin).read_text() for name in fast_render.TRACED_MODULES])


def test_the_source_digest_is_remembered_by_a_digest_of_the_text(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))
    memo = tmp_path / fast_render.SOURCE_MEMO
    try:
        fast_render._traced_source.cache_clear()
        first = fast_render._traced_source()
        texts = json.loads(memo.read_text())
        assert list(texts.values()) == [first]
        memo.write_text(json.dumps({text: "0" * 16 for text in texts}))  # read back, not parsed again
        fast_render._traced_source.cache_clear()
        assert fast_render._traced_source() == "0" * 16
        for broken in ("not json", "[1, 2]", json.dumps({text: "../x" for text in texts})):  # parsed again
            memo.write_text(broken)
            fast_render._traced_source.cache_clear()
            assert fast_render._traced_source() == first
    finally:
        fast_render._traced_source.cache_clear()


def test_modules_installed_without_source_count_by_their_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))
    compiled = tmp_path / "voice.cpython-311.pyc"
    monkeypatch.setattr(fast_render.importlib.util, "find_spec", lambda name: SimpleNamespace(origin=str(compiled)))
    digests = []
    for content in (b"\x00one", b"\x00two", b"\x00one"):
        compiled.write_bytes(content)
        fast_render._traced_source.cache_clear()
        digests.append(fast_render._traced_source())
    fast_render._traced_source.cache_clear()
    assert digests[0] != digests[1] and digests[0] == digests[2]


def test_the_traced_modules_are_every_synth_module_the_voice_loads():
    loaded = subprocess.run([sys.executable, "-c", "import sys, synth.voice, synth.aot_compile; "
                             "print(' '.join(sorted(m for m in sys.modules if m.startswith('synth.'))))"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert tuple(loaded) == fast_render.TRACED_MODULES


def test_a_build_compiles_for_the_machines_threads_whatever_torch_is_set_to(tmp_path, monkeypatch):
    import torch._inductor.config as inductor_config

    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))
    seen = []

    def compiler(path: Path, kind: str) -> None:
        seen.append(inductor_config.cpp.threads)
        path.write_bytes(b"not a real package")

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as after `python -m dataset_gen --threads 1`, which builds the voice on first use
    try:
        fast_render.build(compiler=compiler)
    finally:
        torch.set_num_threads(before)
    assert seen == [build_threads()] and inductor_config.cpp.threads == -1  # only for the build
    assert fast_render.cache_key()["threads"] == build_threads()


def test_the_built_kernels_run_on_the_machines_threads(fast):
    """Every parallel loop of both real libraries on ``build_threads()`` threads (inductor writes the count into the
    kernels' source, which the package keeps): the gradient library built during a one-thread test run had none."""
    threads = build_threads()
    for entry in (fast.voice, fast.gradient):
        with zipfile.ZipFile(entry / fast_render.PACKAGE) as package:
            sources = [package.read(name).decode() for name in package.namelist() if name.endswith(".kernel.cpp")]
        counts = {int(n) for source in sources for n in re.findall(r"omp parallel num_threads\((\d+)\)", source)}
        assert sources and counts == ({threads} if threads > 1 else set()), (entry.name, counts)


def test_an_interrupted_build_leaves_nothing_that_looks_ready(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))

    def interrupted(path: Path, kind: str) -> None:
        path.write_bytes(b"half a package")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fast_render.build(compiler=interrupted)
    assert fast_render.state() == "stale"
    assert not (fast_render.entry_dir() / fast_render.PACKAGE).exists()


def test_fast_falls_back_to_eager_where_it_cannot_be_built(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path))

    def no_compiler(path: Path, kind: str) -> None:
        raise RuntimeError("g++: command not found\nmore detail")

    monkeypatch.setattr(fast_render, "compile_package", no_compiler)
    lines = []
    assert fast_render.resolve("fast", log=lines.append) == "eager"
    assert any("g++: command not found" in line and "eager" in line for line in lines)
    with pytest.raises(RuntimeError, match=r"could not build the fast render \(voice\) here: g\+\+: command not fo"
                                           r"und \(a C\+\+ compiler") as failed:
        fast_render.build()
    assert "more detail" not in str(failed.value) and fast_render.state() == "stale"
    with pytest.raises(ValueError, match="unknown render path"):
        fast_render.resolve("turbo")


def test_cli_status_json(fast, capsys):
    assert main(["fast-render", "status", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["voice"] == {"state": "ready", "entry": str(fast.voice)}
    assert summary["gradient"] == {"state": "ready", "entry": str(fast.gradient)}
    assert summary["synth_version"] == fast_render.SYNTH_VERSION and summary["torch"] == torch.__version__
    assert summary["other_builds"]["entries"] == len(fast_render.other_entries())
    assert main(["fast-render", "status"]) == 0
    assert f"voice: ready ({fast.voice})" in capsys.readouterr().out.splitlines()
    assert main(["fast-render", "status", "--others"]) == 2
    assert capsys.readouterr().err == "error: --others goes with clear (remove only the builds this installation " \
                                      "does not use)\n"
