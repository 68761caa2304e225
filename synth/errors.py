"""The one exception type for bad user input (files, patches, command-line values)."""

from __future__ import annotations


class InputError(ValueError):
    """A user-supplied input is not what was expected.

    The message is ONE line that names the input, says what was expected and what was found, e.g.
    ``spec.png: expected a 512x512 grayscale PNG (8- or 16-bit), got a 640x480 RGB image``. Command-line
    tools print it as ``error: <message>`` and exit with status 2, without a traceback.
    """
