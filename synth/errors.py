"""The one exception type for bad user input (files, patches, command-line values), and how commands report it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


class InputError(ValueError):
    """A user-supplied input is not what was expected.

    The message is ONE line that names the input, says what was expected and what was found, e.g.
    ``spec.png: expected a 512x512 grayscale PNG (8- or 16-bit), got a 640x480 RGB image``. Command-line
    tools print it as ``error: <message>`` and exit with status 2, without a traceback.
    """


def one_line(text: object) -> str:
    """``text`` (a message or an exception) with every run of whitespace, newlines included, as one space."""
    return " ".join(str(text).split())


def positive_int(text: str) -> int:
    """An ``argparse`` type: a positive integer, or a usage error that says so."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def run_command(command: Callable[[], int]) -> int:
    """Run one command-line command and return its exit status: an :class:`InputError` or ``OSError``
    becomes ``error: <one line>`` on stderr and status 2, Ctrl-C ``interrupted`` and status 130."""
    try:
        return command()
    except InputError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f"{error.filename}: " if getattr(error, "filename", None) else ""
        print(f"error: {where}{one_line(error.strerror or error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
