"""The one exception type for bad user input (files, patches, command-line values), the rules numeric options
and config fields follow, and how commands report bad input."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass


class InputError(ValueError):
    """A user-supplied input is not what was expected.

    The message is ONE line that names the input, says what was expected and what was found, e.g.
    ``spec.png: expected a 512x512 grayscale PNG (8- or 16-bit), got a 640x480 RGB image``. Command-line
    tools print it as ``error: <message>`` and exit with status 2, without a traceback.
    """


def one_line(text: object) -> str:
    """``text`` (a message or an exception) with every run of whitespace, newlines included, as one space."""
    return " ".join(str(text).split())


def note(message: object) -> None:
    """Tell the user something on stderr, as one ``note: ...`` line (flushed: it may precede minutes of work)."""
    print(f"note: {one_line(message)}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class NumberRule:
    """What one numeric option or config field must be, declared once and used twice: called with the text
    of a command-line option it is an ``argparse`` type (a usage error that says what was expected), and
    :meth:`check` validates a value from a config file or a constructor (an :class:`InputError`).

    Integers must be ``int`` (not ``bool``); other numbers ``int`` or ``float`` and finite."""

    expected: str  # the phrase after "expected", e.g. "a positive integer"
    integer: bool = False
    minimum: float = -math.inf
    maximum: float = math.inf
    above_minimum: bool = False  # the minimum itself is excluded
    below_maximum: bool = False  # the maximum itself is excluded

    def accepts(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            return False
        if not self.integer:
            try:
                value = float(value)  # an int too large for a float is not a finite number
            except OverflowError:
                return False
            if not math.isfinite(value):
                return False
        above = value > self.minimum if self.above_minimum else value >= self.minimum
        below = value < self.maximum if self.below_maximum else value <= self.maximum
        return above and below

    def check(self, value: object, name: str) -> None:
        """An :class:`InputError` ``<name>: expected <...>, got <value>`` unless ``value`` is acceptable."""
        if not self.accepts(value):
            raise InputError(f"{name}: expected {self.expected}, got {value!r}")

    def __call__(self, text: str) -> int | float:
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text!r}") from None
        if not self.accepts(value):
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text}")
        return value


# argparse types (and config rules): `p.add_argument("--lr", type=positive_float)`, `positive_float.check(v, "lr")`.
any_integer = NumberRule("an integer", integer=True)
positive_int = NumberRule("a positive integer", integer=True, minimum=1)
non_negative_int = NumberRule("a non-negative integer", integer=True, minimum=0)
finite_float = NumberRule("a finite number")
positive_float = NumberRule("a positive finite number", minimum=0.0, above_minimum=True)
non_negative_float = NumberRule("a non-negative finite number", minimum=0.0)
probability = NumberRule("a probability in [0, 1]", minimum=0.0, maximum=1.0)


def json_kind(value: object) -> str:
    """How JSON would name ``value``'s type, for messages: "an object", "a list", "a string", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    for kind, name in ((dict, "an object"), ((list, tuple), "a list"), (str, "a string"), ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


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
