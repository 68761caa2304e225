"""torch's intra-op thread count for one call, restored after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from synth.errors import InputError


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(count)`` (``None``: leave it as it is), then restore the count
    it found. For ``--threads`` options: a command run in-process (the tests, a notebook) leaves the process as it
    found it; one in-process run with ``--threads 1`` once left the rest of a test session serial, including
    the fast render's gradient library that a later test built. Raises :class:`InputError` for a count below 1."""
    if count is None:
        yield
        return
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"--threads must be at least 1, got {count}")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
