"""Start-up self-check: tell a broken installation from bad input before any command runs.

Every command-line entry point (``python -m synth``, ``python -m dataset_gen``, ``inverse``, ``specmask``)
calls :func:`run_checked`, which imports the native extensions the project needs (torch, torchaudio,
soundfile, h5py) and checks that torch and torchaudio are a matching pair *before* it imports the command.
A failure prints ONE line that names the package, the cause and the fix, and exits with
:data:`BROKEN_INSTALL_STATUS` (3), distinct from bad input (2) and interruption (130). Without this, a
torchaudio extension that does not load (``undefined symbol``, an ``OSError``) would surface from deep
inside a command as if the user's file were wrong.

This module imports nothing heavy at import time (``synth/__init__`` is lazy for that reason).
"""

from __future__ import annotations

import gc
import importlib
import sys

BROKEN_INSTALL_STATUS = 3
FIX = ("rebuild the environment from the lock file: `make clean-venv && make test` (or `make demo`) in the "
       "project folder, which installs the tested versions listed in requirements.lock")
# Imported in this order: a failure of torch explains any failure of torchaudio after it.
NATIVE_MODULES = ("torch", "torchaudio", "torchaudio.functional", "numpy", "soundfile", "h5py")


class BrokenInstall(RuntimeError):
    """The Python environment cannot load a package the project needs (not a problem with the input)."""


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def _base_version(version: str) -> str:
    return version.split("+", 1)[0]


def check_install(modules: tuple[str, ...] = NATIVE_MODULES) -> None:
    """Import ``modules`` and check the torch/torchaudio pair; raise :class:`BrokenInstall` with one line."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # ImportError, OSError (a shared library), RuntimeError (ABI mismatch)
            raise BrokenInstall(f"cannot load {name} ({_first_line(error)})") from None
    torch, torchaudio = sys.modules.get("torch"), sys.modules.get("torchaudio")
    if torch is not None and torchaudio is not None:
        have, want = _base_version(torchaudio.__version__), _base_version(torch.__version__)
        if have != want:
            raise BrokenInstall(f"torchaudio {torchaudio.__version__} does not match torch {torch.__version__} "
                                f"(each torchaudio release loads only with the torch release of the same version)")


def run_checked(cli_module: str) -> int:
    """Check the installation, then import ``cli_module`` (e.g. ``"inverse.cli"``) and run its ``main()``;
    returns the exit status. An import failure of the command module is reported as a broken install too.
    The glibc allocator is tuned first (:mod:`synth.allocator`: renders ~10-25 % faster).

    The imports run with the cyclic garbage collector paused, and what they made is then frozen
    (:func:`gc.freeze`): the ~250,000 objects torch and the other packages make at import are never garbage, yet
    every full collection during the command and the collections of the interpreter's shutdown walked them all.
    Measured on a 2-core AMD EPYC (``python benchmarks/cli_gc.py``, medians of 5 fresh processes): ``import
    torch`` alone 2.01 s wall, 1.44 s so; ``specmask enhance`` on the shipped example 2.55 -> 1.88 s."""
    from synth.allocator import tune_allocator

    tune_allocator()
    gc.disable()
    try:
        check_install()
        main = importlib.import_module(cli_module).main
    except (BrokenInstall, ImportError, OSError) as error:
        reason = str(error) if isinstance(error, BrokenInstall) else f"cannot import the command ({_first_line(error)})"
        print(f"error: broken installation: {reason}. This is not a problem with your input; {FIX}",
              file=sys.stderr)
        return BROKEN_INSTALL_STATUS
    finally:
        gc.freeze()
        gc.enable()
    return main()
