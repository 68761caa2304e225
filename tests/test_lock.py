"""The lock files agree with pyproject.toml: every declared dependency is pinned to a version its range
admits, every pin carries hashes, torch and torchaudio are the tested pair, and the bench lock extends the
test lock without changing a shared version."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKS = {"test": ("test",), "bench": ("test", "bench")}
LOCK_FILES = {"test": "requirements.lock", "bench": "requirements-bench.lock"}


def read_lock(name: str) -> dict[str, tuple[str, int]]:
    """The lock file for extras set ``name`` -> {canonical name: (version, number of hashes)}."""
    text = (ROOT / LOCK_FILES[name]).read_text()
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            pins[canonicalize_name(match[1])] = (match[2], block.count("--hash=sha256:"))
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    texts = PYPROJECT["dependencies"] + [r for extra in extras for r in PYPROJECT["optional-dependencies"][extra]]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_declared_dependency_is_pinned_within_its_range(lock):
    pins = read_lock(lock)
    for requirement in declared(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{LOCK_FILES[lock]} lacks {requirement}: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"{LOCK_FILES[lock]} pins {name}=={version}, outside pyproject's {requirement}: run `make lock`"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_is_exact_and_hashed(lock):
    pins = read_lock(lock)
    assert len(pins) > 40  # the transitive closure, not just the direct dependencies
    assert all(hashes >= 1 for _, hashes in pins.values()), [n for n, (_, h) in pins.items() if not h]


def test_torch_and_torchaudio_are_the_tested_pair():
    pins = read_lock("test")
    assert pins["torch"][0] == pins["torchaudio"][0] == "2.11.0"
    torch_spec = [r for r in declared(()) if r.name == "torch"][0].specifier
    assert str(torch_spec) == "==2.11.0"  # an exact pin: a wildcard picked a torchaudio that does not load


def test_bench_lock_extends_the_test_lock():
    test, bench = read_lock("test"), read_lock("bench")
    assert set(test) <= set(bench)
    assert {n: v for n, (v, _) in test.items()} == {n: bench[n][0] for n in test}


def test_make_installs_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK := requirements.lock" in makefile
    assert "--no-deps" in makefile  # the project itself adds nothing the lock did not pin
