"""Checks of the paths a command reads and writes, made before any long work: each failure is one
:class:`~synth.errors.InputError` line that names the option and the path.

- :func:`check_input_file`: an existing file (a directory says so, instead of "no such file");
- :func:`check_output_file`: a file that can be written: its folder exists and is writable, and the path
  is not a directory;
- :func:`check_output_dir`: a directory that exists or can be created;
- :func:`check_outputs`: several output files at once, none of them an input or another output (compared
  as resolved paths, and as files where both exist, so links and hard links count as the same file);
- :func:`distinct_stems`: one name per input file for the outputs of a command given several (``a.wav`` and
  ``b/a.png``: ``a`` and ``a-2``).

Writability uses ``os.access``, which is always true for root: the checks that hold for every user are the
folder's existence and kind.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from synth.errors import InputError

PathLike = str | os.PathLike


def check_input_file(path: PathLike) -> None:
    """An existing file: a directory is an :class:`InputError`, a missing path a ``FileNotFoundError``."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise InputError(f"{name}: expected a file, got a directory")
    if not os.path.exists(name):
        raise FileNotFoundError(errno.ENOENT, "no such file", name)


def check_output_file(path: PathLike, option: str) -> None:
    """``path`` (given as ``option``) can be written as a file: not a directory, in a writable folder."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise InputError(f"{option} {name}: expected a file path, got a directory")
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(folder):
        found = "is a file" if os.path.exists(folder) else "does not exist"
        raise InputError(f"{option} {name}: expected a path in an existing folder, but {folder} {found}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {name}: expected a path in a writable folder, but {folder} is not writable")


def check_output_dir(path: PathLike, option: str) -> None:
    """``path`` (given as ``option``) is a directory, or can be created: its nearest existing ancestor is a
    writable directory."""
    name = os.fspath(path)
    target = Path(os.path.abspath(name))
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == target and not target.is_dir():
        raise InputError(f"{option} {name}: expected a directory, got a file")
    if not existing.is_dir():
        raise InputError(f"{option} {name}: expected a directory that can be created, but {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{option} {name}: expected a writable directory, but {existing} is not writable")


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | None] | None = None
                  ) -> None:
    """Every output file (``{option: path}``; ``None`` skipped) can be written (:func:`check_output_file`)
    and is none of the ``inputs`` (``{description: path}``, e.g. ``{"the input": "in.wav"}``) nor another
    output."""
    given = {option: path for option, path in outputs.items() if path is not None}
    for option, path in given.items():
        check_output_file(path, option)
    earlier: list[tuple[str, PathLike]] = [(what, path) for what, path in (inputs or {}).items()
                                             if path is not None]
    for option, path in given.items():
        for what, other in earlier:
            if same_file(path, other):
                raise InputError(f"{option} {os.fspath(path)} is the same file as {what} {os.fspath(other)}; "
                                 f"expected a different path")
        earlier.append((option, path))


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name the same file: the same file on disk where both exist, else the same resolved path."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def distinct_stems(paths: Sequence[PathLike]) -> list[str]:
    """Each path's file name without its suffix, made distinct in order: a name seen before gets ``-2``, ``-3``,
    ... (``["x/a.wav", "y/a.wav", "b.png"]`` -> ``["a", "a-2", "b"]``); an empty stem counts as ``input``."""
    names, taken = [], set()
    for path in paths:
        stem = Path(path).stem or "input"
        name, copy = stem, 1
        while name in taken:
            copy += 1
            name = f"{stem}-{copy}"
        taken.add(name)
        names.append(name)
    return names
